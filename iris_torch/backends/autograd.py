"""Softmax regression with autograd: PyTorch records the forward pass and differentiates it.

Shapes: m rows, n features, k classes. X (m, n), W (n, k), b (k,), logits Z = XW + b (m, k),
y = labels (m,).

Diff this file against manual.py: the forward pass and the objective are the same lines; the
hand-derived gradient is gone, replaced by loss.backward().
"""

import torch

from .base import SoftmaxRegression
from .objective import cross_entropy, l2_penalty


class AutogradBackend(SoftmaxRegression):
    name = "autograd"

    # -- parameters: leaf tensors with requires_grad, so autograd records what is done with them ---

    def __init__(self, n_features: int, n_classes: int, **hyperparameters) -> None:
        super().__init__(n_features, n_classes, **hyperparameters)
        initial = self.initial_params()
        # W (n, k), stored column by column (see column_major): autograd lays out a gradient
        # like its tensor, and for this layout it computes dW in the fast order, (dZ^T X)^T.
        self.weight = initial["weight"].requires_grad_()
        self.bias = initial["bias"].requires_grad_()  # b (k,)

    def get_params(self) -> dict[str, torch.Tensor]:
        return {
            "weight": self.weight.detach().clone(memory_format=torch.contiguous_format),
            "bias": self.bias.detach().clone(),
        }

    @torch.no_grad()  # an in-place change of a leaf that requires grad must not be recorded
    def set_params(self, params: dict[str, torch.Tensor]) -> None:
        params = self._checked(params)
        self.weight.copy_(params["weight"])
        self.bias.copy_(params["bias"])

    # -- forward ----------------------------------------------------------------------------------

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, k): Z = XW + b, the bias broadcast over the rows.

        Computed as its transpose, Z^T = W^T X^T + b (k, m), and returned as a transposed view:
        the same numbers, but each class's m logits lie side by side in memory, so the max and
        sum over the k classes of every row run down long rows, which torch vectorises, instead
        of along short ones of k. addmm adds b in the same pass as the product.
        """
        return torch.addmm(self.bias.unsqueeze(1), self.weight.T, X.T).T

    # -- objective --------------------------------------------------------------------------------

    def loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: mean cross-entropy over the m rows + l2 * sum(W ** 2)."""
        return cross_entropy(self.logits(X), y) + l2_penalty(self.weight, self.l2)

    # -- gradients --------------------------------------------------------------------------------

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/dW (n, k) and dL/db (k,), by autograd.

        torch.autograd.grad returns the gradients instead of adding them into .grad, so asking
        for them leaves the model exactly as it was.
        """
        weight_grad, bias_grad = torch.autograd.grad(self.loss(X, y), (self.weight, self.bias))
        return {"weight": weight_grad.contiguous(), "bias": bias_grad}

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
