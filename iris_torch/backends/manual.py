"""Softmax regression with gradients derived by hand: no autograd anywhere in this file.

Shapes: m rows, n features, k classes. X (m, n), W (n, k), b (k,), logits Z = XW + b (m, k),
A = softmax(Z) (m, k), y = labels (m,), Y = the same labels one-hot (m, k).

Diff this file against autograd.py and nn_module.py: the sections are the same, and the diff
shows what each level of PyTorch takes off your hands.
"""

import torch

from .base import SoftmaxRegression
from .objective import cross_entropy, l2_penalty


class ManualBackend(SoftmaxRegression):
    name = "manual"

    # -- parameters: plain tensors; nothing records operations on them -------------------------

    def __init__(self, n_features: int, n_classes: int, **hyperparameters) -> None:
        super().__init__(n_features, n_classes, **hyperparameters)
        initial = self.initial_params()
        self.weight = initial["weight"]  # W (n, k), stored column by column (see column_major)
        self.bias = initial["bias"]  # b (k,)

    def get_params(self) -> dict[str, torch.Tensor]:
        return {
            "weight": self.weight.clone(memory_format=torch.contiguous_format),
            "bias": self.bias.clone(),
        }

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
        """dL/dW (n, k) and dL/db (k,), derived by hand.

        The cross-entropy of one row is log(sum_j exp z_j) - z_y; its derivative by z_j is
        softmax(z)_j - [j == y]. Averaging over m rows: dL/dZ = (A - Y) / m. Since Z = XW + b,
        the chain rule gives dW = X^T (dL/dZ) and db = the column sums of dL/dZ; the penalty
        l2 * sum(W ** 2) adds 2 * l2 * W to dW and nothing to db.
        """
        gradients = self.loss_and_gradients(X, y)[1]
        return {key: gradient.contiguous() for key, gradient in gradients.items()}

    def loss_and_gradients(
        self, X: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss and its gradients from one forward pass, as a step needs them.

        The same formulas as loss() and gradients(), computed in one (m, k) buffer: the logits
        become shifted logits, then exponentials, then A, then A - Y, each in place. Nothing of
        size m x k is allocated but the logits, and the one-hot Y is never built.
        """
        m = X.shape[0]
        Z = self.logits(X)  # (m, k), a fresh buffer we may overwrite
        S = Z.sub_(Z.amax(dim=1, keepdim=True))  # shifted logits: exp cannot overflow
        label_logit = S.gather(1, y.unsqueeze(1))  # (m, 1): each row's shifted z_y
        E = S.exp_()
        total = E.sum(dim=1, keepdim=True)  # (m, 1), between 1 and k
        # log-sum-exp minus z_y: the log is taken of the sum, never of a probability
        cross_entropy = (total.log() - label_logit).mean()
        A_minus_Y = E.div_(total)  # A = softmax(Z) ...
        # ... minus 1 at each row's label: one_hot's scatter_ writes the 1s of Y, scatter_add_
        # subtracts them, without building Y
        minus_ones = torch.full((m, 1), -1.0, dtype=X.dtype, device=X.device)
        A_minus_Y.scatter_add_(1, y.unsqueeze(1), minus_ones)
        # dL/dZ = (A - Y) / m; the 1/m is applied to the small (n, k) and (k,) results instead
        # of the (m, k) matrix. (A - Y)^T X, transposed, is X^T (A - Y): BLAS computes this
        # order about twice as fast on a tall X, and it comes out in W's column-major layout.
        gradients = {
            "weight": torch.mm(A_minus_Y.T, X).T / m + 2 * self.l2 * self.weight,
            "bias": A_minus_Y.sum(dim=0) / m,  # (k,): the mean of A - Y over rows
        }
        return cross_entropy + l2_penalty(self.weight, self.l2), gradients

    # -- update -----------------------------------------------------------------------------------

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on (X, y); returns the loss before the update."""
        loss, gradients = self.loss_and_gradients(X, y)
        self.weight -= self.lr * gradients["weight"]
        self.bias -= self.lr * gradients["bias"]
        return loss
