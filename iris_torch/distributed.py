"""Data-parallel training on torch.distributed: N processes train the model one process trains.

Every process (a rank, one of `world`) holds the same model and the same batch order, and works
on its share of each batch's rows. The gradient of the whole batch is not the plain mean of the
ranks' gradients but their mean weighted by rows:

    grad = sum over ranks r of (m_r / m) * grad_r

where grad_r is the gradient over rank r's m_r rows (mean cross-entropy + penalty), and m the
batch's rows. The weights m_r / m add up to 1, so the penalty's gradient 2 * l2 * W, which each
rank's gradient includes, is counted exactly once. A plain mean over ranks, what
DistributedDataParallel computes, is the same only when every rank has the same number of rows.

Two ways, side by side, both usable with training.fit and any backend:

    DataParallel(model)     by hand: the backend's own gradients(), weighted by rows, summed
                            over ranks with all_reduce, and the same update applied on every rank
    DDPStep(model)          the nn_module backend's layer inside DistributedDataParallel, each
                            rank's loss scaled by world * m_r / m so that DDP's mean of the
                            ranks' gradients is that weighted sum

Shapes: m rows, n features, k classes. The process group must be initialised first
(torch.distributed.init_process_group); every rank must make the same calls in the same order,
as training.fit does when each rank is given the same data, seed and flags.
"""

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .backends.base import SoftmaxRegression
from .backends.nn_module import NNModuleBackend


def share(rows: int, world: int, rank: int) -> slice:
    """Rank's contiguous share of `rows` rows: rows // world each, the first rows % world ranks
    one more. With fewer rows than ranks, some shares are empty."""
    size, extra = divmod(rows, world)
    start = rank * size + min(rank, extra)
    return slice(start, start + size + (rank < extra))


class DataParallel:
    """A backend whose loss, gradients and step are those of the whole batch, computed from
    every rank's share of its rows (see the module's docstring). Anything else (logits,
    get_params, predict, ...) is the wrapped backend's, on this rank alone."""

    def __init__(self, model: SoftmaxRegression, group: dist.ProcessGroup | None = None) -> None:
        self.model = model
        self.group = group
        self.world = dist.get_world_size(group)
        self.rank = dist.get_rank(group)

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def mine(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        """This rank's rows of the batch (X (m, n), y (m,)), and their share m_r / m."""
        rows = share(y.shape[0], self.world, self.rank)
        return X[rows], y[rows], (rows.stop - rows.start) / y.shape[0]

    def summed(self, weight: float, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each tensor times weight, summed over the ranks: one all_reduce for all of them."""
        flat = torch.cat([t.reshape(-1) for t in tensors]) * weight
        dist.all_reduce(flat, group=self.group)
        parts = flat.split([t.numel() for t in tensors])
        return [part.view_as(t) for t, part in zip(tensors, parts, strict=True)]

    def local_loss(self, X_mine: torch.Tensor, y_mine: torch.Tensor) -> torch.Tensor:
        """This rank's loss (0-dim); zero for an empty share, which adds nothing but must still
        take part in the all_reduce."""
        if len(y_mine) == 0:
            return torch.zeros((), dtype=self.model.dtype, device=self.model.device)
        return self.model.loss(X_mine, y_mine).detach()

    def local_gradients(self, X_mine: torch.Tensor, y_mine: torch.Tensor) -> list[torch.Tensor]:
        """This rank's gradients [weight (n, k), bias (k,)]; zeros for an empty share."""
        if len(y_mine) == 0:
            return [torch.zeros_like(p) for p in self.model.get_params().values()]
        return list(self.model.gradients(X_mine, y_mine).values())

    def loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The whole batch's loss: each rank's, weighted by its share of the rows, summed."""
        X_mine, y_mine, weight = self.mine(X, y)
        return self.summed(weight, [self.local_loss(X_mine, y_mine)])[0]

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The whole batch's gradients {"weight": (n, k), "bias": (k,)}, summed as loss is."""
        X_mine, y_mine, weight = self.mine(X, y)
        dW, db = self.summed(weight, self.local_gradients(X_mine, y_mine))
        return {"weight": dW, "bias": db}

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on the whole batch, the same on every rank; returns the
        loss before it. Loss and gradients travel in one all_reduce."""
        X_mine, y_mine, weight = self.mine(X, y)
        local = [self.local_loss(X_mine, y_mine), *self.local_gradients(X_mine, y_mine)]
        loss, dW, db = self.summed(weight, local)
        params = self.model.get_params()
        lr = self.model.lr
        self.model.set_params(
            {"weight": params["weight"] - lr * dW, "bias": params["bias"] - lr * db}
        )
        return loss


class DDPStep(DataParallel):
    """The nn_module backend trained through DistributedDataParallel, made exact for shares of
    any size: DDP averages the ranks' gradients, so each rank's cross-entropy is scaled by
    world * m_r / m before backward(). SGD's weight_decay then adds the penalty's gradient once,
    the same on every rank. Loss and gradients (for fit's checks) are DataParallel's; the
    step computes only the loss besides DDP's backward."""

    def __init__(self, model: NNModuleBackend, group: dist.ProcessGroup | None = None) -> None:
        super().__init__(model, group)
        self.ddp = DistributedDataParallel(model.linear, process_group=group)

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = self.loss(X, y)
        X_mine, y_mine, weight = self.mine(X, y)
        self.model.optimizer.zero_grad()
        logits = self.ddp(X_mine)
        if weight > 0:
            scaled = self.model.criterion(logits, y_mine) * (self.world * weight)
        else:  # no rows: a zero loss, so that this rank still joins DDP's all_reduce
            scaled = logits.sum() * 0.0
        scaled.backward()  # DDP replaces each .grad by the mean over the ranks
        self.model.optimizer.step()
        return loss
