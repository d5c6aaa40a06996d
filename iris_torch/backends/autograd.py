"""Softmax regression with autograd: PyTorch records the forward pass and differentiates it.

Shapes: m rows, n features, k classes. X (m, n), W (n, k), b (k,), logits Z = XW + b (m, k),
y = labels (m,).

Diff manual.py and autograd.py: the sections are the same, and the diff shows what autograd takes
off your hands. The forward pass and the objective are the same lines; the hand-derived gradient
is replaced by loss.backward().
"""

import torch

from .base import SoftmaxRegression
from .objective import cross_entropy, l2_penalty


class AutogradBackend(SoftmaxRegression):
    name = "autograd"

    # -- parameters: leaf tensors with requires_grad, so autograd records what is done with them

    def __init__(self, n_features: int, n_classes: int, **hyperparameters) -> None:
        super().__init__(n_features, n_classes, **hyperparameters)
        initial = self.initial_params()
        self.weight = initial["weight"].requires_grad_()  # W (n, k)
        self.bias = initial["bias"].requires_grad_()  # b (k,)

    def get_params(self) -> dict[str, torch.Tensor]:
        return {"weight": self.weight.detach().clone(), "bias": self.bias.detach().clone()}

    @torch.no_grad()  # an in-place change of a leaf that requires grad must not be recorded
    def set_params(self, params: dict[str, torch.Tensor]) -> None:
        params = self._checked(params)
        self.weight.copy_(params["weight"])
        self.bias.copy_(params["bias"])

    # -- forward ----------------------------------------------------------------------------------

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, k): Z = XW + b, the bias broadcast over the rows."""
        return X @ self.weight + self.bias

    # -- objective --------------------------------------------------------------------------------

    def loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: mean cross-entropy over the m rows (row i's times s_{y_i} with class
        weights) + l2 * sum(W ** 2)."""
        Z = self.logits(X)
        return cross_entropy(Z, y, self.class_weight) + l2_penalty(self.weight, self.l2)

    # -- gradients --------------------------------------------------------------------------------

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/dW (n, k) and dL/db (k,), by autograd.

        torch.autograd.grad returns the gradients instead of adding them into .grad, so asking
        for them leaves the model exactly as it was.
        """
        dW, db = torch.autograd.grad(self.loss(X, y), (self.weight, self.bias))
        return {"weight": dW, "bias": db}

    # -- update -----------------------------------------------------------------------------------

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on (X, y); returns the loss before the update."""
        # backward() adds into .grad; without clearing it, every step would also apply the
        # gradients of all the steps before it.
        self.weight.grad = None
        self.bias.grad = None
        loss = self.loss(X, y)
        loss.backward()
        with torch.no_grad():  # the update itself is not part of the model to differentiate
            self.weight -= self.lr * self.weight.grad
            self.bias -= self.lr * self.bias.grad
        return loss.detach()
