"""Softmax regression the JAX way: parameters in a dict, a pure loss, torch.func.grad.

Shapes: m rows, n features, k classes. X (m, n), params = {"weight": W (n, k), "bias": b (k,)},
logits Z = XW + b (m, k), y = labels (m,).

Diff this file against autograd.py: no tensor requires grad and nothing is mutated. The loss is
a function of (params, X, y) and nothing else, torch.func.grad turns it into a function that
returns the gradients (as jax.grad does), and each step builds a new params dict.
"""

import torch
from torch.func import grad, grad_and_value

from .base import SoftmaxRegression
from .objective import cross_entropy, l2_penalty


def logits_fn(params: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    """(m, n) -> (m, k): Z = XW + b, the bias broadcast over the rows."""
    return X @ params["weight"] + params["bias"]


def loss_fn(
    params: dict[str, torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    l2: float,
    class_weight: torch.Tensor | None = None,
):
    """0-dim: mean cross-entropy (row i's times class_weight[y_i], if given) + l2 * sum(W ** 2);
    a pure function of its arguments."""
    return cross_entropy(logits_fn(params, X), y, class_weight) + l2_penalty(params["weight"], l2)


# Functions of (params, X, y, l2, class_weight), like loss_fn, differentiating by its first one:
# gradient_fn returns {"weight": dL/dW, "bias": dL/db}; gradient_and_loss_fn returns
# (that dict, the loss), as jax.value_and_grad does in the other order.
gradient_fn = grad(loss_fn)
gradient_and_loss_fn = grad_and_value(loss_fn)


class FunctionalBackend(SoftmaxRegression):
    name = "functional"

    # -- parameters: a plain dict of tensors, replaced by every step, never changed in place ------

    def __init__(self, n_features: int, n_classes: int, **hyperparameters) -> None:
        super().__init__(n_features, n_classes, **hyperparameters)
        self.params = self.initial_params()  # {"weight": W (n, k), "bias": b (k,)}

    def get_params(self) -> dict[str, torch.Tensor]:
        return {key: value.clone() for key, value in self.params.items()}

    def set_params(self, params: dict[str, torch.Tensor]) -> None:
        params = self._checked(params)
        self.params = {
            key: params[key].to(dtype=self.dtype, device=self.device, copy=True)
            for key in ("weight", "bias")
        }

    # -- forward ----------------------------------------------------------------------------------

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, k): Z = XW + b, the bias broadcast over the rows."""
        return logits_fn(self.params, X)

    # -- objective --------------------------------------------------------------------------------

    def loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: mean cross-entropy over the m rows (row i's times s_{y_i} with class
        weights) + l2 * sum(W ** 2)."""
        return loss_fn(self.params, X, y, self.l2, self.class_weight)

    # -- gradients --------------------------------------------------------------------------------

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/dW (n, k) and dL/db (k,), by torch.func.grad of the pure loss."""
        return gradient_fn(self.params, X, y, self.l2, self.class_weight)

    # -- update -----------------------------------------------------------------------------------

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on (X, y); returns the loss before the update."""
        gradients, loss = gradient_and_loss_fn(self.params, X, y, self.l2, self.class_weight)
        self.params = {key: self.params[key] - self.lr * gradients[key] for key in self.params}
        return loss
