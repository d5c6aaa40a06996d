"""Softmax regression tuned for a million rows: manual.py's step, arranged for the memory system.

Shapes: m rows, n features, k classes. X (m, n), W (n, k), b (k,), y = labels (m,).

The textbook backends make each step a few passes over whole-data arrays: Z = XW + b (m, k),
then softmax, then A - Y, then X^T dZ. At 1,000,000 x 64 x 10 float32 each of those arrays is
40 MB and X is 256 MB, read twice: the step waits on memory, not on arithmetic. This backend
computes the same numbers (the tests hold it to the same oracle, to the same tolerances) with
these changes. Each was measured with python -m iris_torch.bench at that size on a 2-core AMD
EPYC, where two reads of X take 35 to 45 ms:

- Blocks of rows. The rows are taken BLOCK_BYTES of X at a time, and each block's logits,
  softmax and gradient are done while the block is still in cache, so X comes from memory once
  per step instead of twice. Blocks of 3 to 6 MB were fastest, alike to within the noise (in
  multiples of two reads of X: 1 MB 3.3x, 2 MB 2.9x, 4 MB 2.5x, 6 MB 2.4x, 8 MB 2.6x). On a
  GPU, whose memory is fast and cache small, one block is everything.
- Logits class by class, Z^T (k, B). The max and the sum over the k classes of each row then
  run along rows of B numbers, which torch vectorises; along rows of only k = 10 it does not.
  addmm adds the bias in the same pass as the product, and W is kept transposed, (k, n), as
  nn.Linear keeps it, so that both products read it in order.
- One buffer, in place: the block's logits become shifted logits, exponentials, A, then A - Y,
  and every block reuses the same buffer. With a fresh buffer for each block, glibc's default
  malloc unmapped and mapped it anew each time, and a step took 175 ms instead of 84.
- No one-hot Y: gather picks each row's label logit and scatter_add_ subtracts the 1s of Y
  (7.6 ms an epoch, against 11.3 ms for the indexing Z[y, rows]).
- Class weights, when given, scale each row's loss and its column of (A - Y)^T by s_{y_i} in
  the block's pass; without them the pass does no extra work.
"""

import torch

from .base import SoftmaxRegression
from .objective import l2_penalty

BLOCK_BYTES = 4 * 2**20  # rows of X per block: as many as fill 4 MB


def rows_per_block(X: torch.Tensor) -> int:
    """How many rows of X (m, n) make one block: BLOCK_BYTES of them, all m on a GPU."""
    m, n = X.shape
    return m if X.is_cuda else min(m, max(1, BLOCK_BYTES // (n * X.element_size())))


class FastBackend(SoftmaxRegression):
    name = "fast"

    # -- parameters: W kept transposed, (k, n), the layout both products read in order ---------

    def __init__(self, n_features: int, n_classes: int, **hyperparameters) -> None:
        super().__init__(n_features, n_classes, **hyperparameters)
        initial = self.initial_params()
        self.weight_t = initial["weight"].T.contiguous()  # W^T (k, n)
        self.bias = initial["bias"]  # b (k,)

    def get_params(self) -> dict[str, torch.Tensor]:
        return {
            "weight": self.weight_t.T.clone(memory_format=torch.contiguous_format),
            "bias": self.bias.clone(),
        }

    def set_params(self, params: dict[str, torch.Tensor]) -> None:
        params = self._checked(params)
        self.weight_t.copy_(params["weight"].T)
        self.bias.copy_(params["bias"])

    # -- forward ----------------------------------------------------------------------------------

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, k): Z = XW + b, the bias added by addmm in the product's pass."""
        return torch.addmm(self.bias, X, self.weight_t.T)

    # -- objective --------------------------------------------------------------------------------

    def loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """0-dim: mean cross-entropy over the m rows (row i's times s_{y_i} with class
        weights) + l2 * sum(W ** 2)."""
        cross_entropy, _, _ = self.blocked_pass(X, y, gradients=False)
        return cross_entropy + l2_penalty(self.weight_t, self.l2)

    # -- gradients --------------------------------------------------------------------------------

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/dW (n, k) and dL/db (k,): manual.py's formulas, computed block by block."""
        _, dW_t, db = self.blocked_pass(X, y, gradients=True)
        dW_t += 2 * self.l2 * self.weight_t
        return {"weight": dW_t.T.contiguous(), "bias": db}

    def blocked_pass(
        self, X: torch.Tensor, y: torch.Tensor, gradients: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One pass over the rows, a block at a time: the mean cross-entropy (0-dim), and, with
        gradients, the cross-entropy's dL/dW^T (k, n) and dL/db (k,) (zeros without). With
        class weights s, row i's cross-entropy and its column of (A - Y)^T are times s_{y_i}.
        """
        m, k, class_weight = X.shape[0], self.n_classes, self.class_weight
        rows = rows_per_block(X)
        losses = X.new_empty(m)  # each row's cross-entropy (times s_{y_i}, with class weights)
        dW_t, db = torch.zeros_like(self.weight_t), torch.zeros_like(self.bias)
        buffer = X.new_empty(k * rows)  # every block's Z^T in turn: no allocation per block
        minus_ones = X.new_full((1, rows), -1.0)  # the 1s of Y, to subtract
        for start, X_block, y_block in zip(
            range(0, m, rows), X.split(rows), y.split(rows), strict=True
        ):
            B = X_block.shape[0]
            labels = y_block.unsqueeze(0)  # (1, B)
            Z_t = torch.addmm(  # Z^T (k, B)
                self.bias.unsqueeze(1), self.weight_t, X_block.T, out=buffer[: k * B].view(k, B)
            )
            Z_t -= Z_t.amax(dim=0)  # shifted: exp cannot overflow
            label_logit = Z_t.gather(0, labels)  # (1, B): each row's shifted z_y
            Z_t.exp_()
            norm = Z_t.sum(dim=0, keepdim=True)  # (1, B), between 1 and k
            loss = losses[start : start + B].view(1, B)
            torch.sub(norm.log(), label_logit, out=loss)
            if class_weight is not None:
                row_weight = class_weight[labels]  # (1, B): s_{y_i} of each row
                loss *= row_weight
            if gradients:
                Z_t /= norm  # A^T
                Z_t.scatter_add_(0, labels, minus_ones[:, :B])  # (A - Y)^T
                if class_weight is not None:
                    Z_t *= row_weight  # column i times s_{y_i}
                dW_t.addmm_(Z_t, X_block)  # += (A - Y)^T X for this block's rows
                db += Z_t.sum(dim=1)
        return losses.mean(), dW_t / m, db / m

    # -- update -----------------------------------------------------------------------------------

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on (X, y); returns the loss before the update."""
        cross_entropy, dW_t, db = self.blocked_pass(X, y, gradients=True)
        loss = cross_entropy + l2_penalty(self.weight_t, self.l2)
        self.weight_t -= self.lr * (dW_t + 2 * self.l2 * self.weight_t)
        self.bias -= self.lr * db
        return loss
