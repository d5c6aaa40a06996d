"""Softmax regression with gradients derived by hand: no autograd anywhere in this file.

Shapes: m rows, n features, k classes. X (m, n), W (n, k), b (k,), logits Z = XW + b (m, k),
A = softmax(Z) (m, k), Y = one-hot labels (m, k).

Diff this file against autograd.py and nn_module.py: the sections are the same, and the diff
shows what each level of PyTorch takes off your hands.
"""

import torch

from .backend import SoftmaxRegression
from .data import one_hot
from .objective import cross_entropy, l2_penalty, softmax


class ManualBackend(SoftmaxRegression):
    name = "manual"

    # -- parameters: plain tensors; nothing records operations on them -------------------------

    def __init__(self, n_features: int, n_classes: int, **hyperparameters) -> None:
        super().__init__(n_features, n_classes, **hyperparameters)
        initial = self.initial_params()
        self.weight = initial["weight"]  # W (n, k)
        self.bias = initial["bias"]  # b (k,)

    def get_params(self) -> dict[str, torch.Tensor]:
        return {"weight": self.weight.clone(), "bias": self.bias.clone()}

    def set_params(self, params: dict[str, torch.Tensor]) -> None:
        params = self._checked(params)
        self.weight.copy_(params["weight"])
        self.bias.copy_(params["bias"])

    # -- forward ----------------------------------------------------------------------------------

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, k): Z = XW + b, the bias broadcast over the rows."""
        return torch.mm(X, self.weight) + self.bias

    # -- objective --------------------------------------------------------------------------------

    def loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: mean cross-entropy over the m rows + l2 * sum(W ** 2)."""
        Y = one_hot(y, self.n_classes, dtype=X.dtype)
        return cross_entropy(self.logits(X), Y) + l2_penalty(self.weight, self.l2)

    # -- gradients --------------------------------------------------------------------------------

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/dW (n, k) and dL/db (k,), derived by hand.

        The cross-entropy of one row is log(sum_j exp z_j) - z_y; its derivative by z_j is
        softmax(z)_j - [j == y]. Averaging over m rows: dL/dZ = (A - Y) / m. Since Z = XW + b,
        the chain rule gives dW = X^T (dL/dZ) and db = the column sums of dL/dZ; the penalty
        l2 * sum(W ** 2) adds 2 * l2 * W to dW and nothing to db.
        """
        m = X.shape[0]
        Y = one_hot(y, self.n_classes, dtype=X.dtype)
        dZ = (softmax(self.logits(X)) - Y) / m  # (m, k)
        return {
            "weight": torch.mm(X.T, dZ) + 2 * self.l2 * self.weight,  # (n, m) @ (m, k) -> (n, k)
            "bias": dZ.sum(dim=0),  # (k,): the mean of A - Y over rows
        }

    # -- update -----------------------------------------------------------------------------------

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on (X, y); returns the loss before the update."""
        loss = self.loss(X, y)
        gradients = self.gradients(X, y)
        self.weight -= self.lr * gradients["weight"]
        self.bias -= self.lr * gradients["bias"]
        return loss
