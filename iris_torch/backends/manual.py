"""Softmax regression with gradients derived by hand: no autograd anywhere in this file.

Shapes: m rows, n features, k classes. X (m, n), W (n, k), b (k,), logits Z = XW + b (m, k),
y = labels (m,).

Diff manual.py and autograd.py: the sections are the same, and the diff shows what autograd takes
off your hands. The forward pass and the objective are the same lines; the hand-derived gradient
is replaced by loss.backward().
"""

import torch

from ..data.prepare import one_hot
from .base import SoftmaxRegression
from .objective import cross_entropy, l2_penalty, softmax


class ManualBackend(SoftmaxRegression):
    name = "manual"

    # -- parameters: plain tensors; nothing records operations on them ---------------------------

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
        """0-dim: mean cross-entropy over the m rows (row i's times s_{y_i} with class
        weights) + l2 * sum(W ** 2)."""
        Z = self.logits(X)
        return cross_entropy(Z, y, self.class_weight) + l2_penalty(self.weight, self.l2)

    # -- gradients --------------------------------------------------------------------------------

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/dW (n, k) and dL/db (k,), derived by hand.

        The cross-entropy of one row is log(sum_j exp z_j) - z_y; its derivative by z_j is
        softmax(z)_j - [j == y]. Averaging over the m rows, with A = softmax(Z) and Y the
        one-hot labels: dL/dZ = (A - Y) / m. Since Z = XW + b, the chain rule gives
        dW = X^T dZ and db = the column sums of dZ; the penalty l2 * sum(W ** 2) adds
        2 * l2 * W to dW and nothing to db. With class weights s (k,), row i's cross-entropy is
        multiplied by s_{y_i}, and so is its row of dZ: dZ = s_y[:, None] * (A - Y) / m.
        """
        A = softmax(self.logits(X))  # (m, k)
        Y = one_hot(y, self.n_classes, dtype=A.dtype)  # (m, k)
        dZ = (A - Y) / X.shape[0]  # (m, k)
        if self.class_weight is not None:
            dZ *= self.class_weight[y].unsqueeze(1)  # row i times s_{y_i}
        dW = torch.mm(X.T, dZ) + 2 * self.l2 * self.weight  # (n, k)
        db = dZ.sum(dim=0)  # (k,)
        return {"weight": dW, "bias": db}

    # -- update -----------------------------------------------------------------------------------

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on (X, y); returns the loss before the update."""
        loss = self.loss(X, y)
        gradients = self.gradients(X, y)
        self.weight -= self.lr * gradients["weight"]
        self.bias -= self.lr * gradients["bias"]
        return loss
