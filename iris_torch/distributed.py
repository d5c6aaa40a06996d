"""Data-parallel training on torch.distributed: N processes train the model one process trains.

Every process (a rank, one of `world`) holds the same model and draws the same batches of the
training set, and holds some of its rows: it works on its own rows of each batch. The gradient of
the whole batch is not the plain mean of the ranks' gradients but their mean weighted by rows:

    grad = sum over ranks r of (m_r / m) * grad_r

where grad_r is the gradient over rank r's m_r rows of the batch (mean cross-entropy + penalty),
and m = sum of m_r the batch's rows. The weights m_r / m add up to 1, so the penalty's gradient
2 * l2 * W, which each rank's gradient includes, is counted exactly once. A plain mean over
ranks, what DistributedDataParallel computes, is the same only when every rank has as many rows.
The same holds with class weights s: each rank's cross-entropy is its sum of s_{y_i} CE_i
divided by its rows m_r (see backends/objective.py), so m_r times it, summed over the ranks and
divided by m, is the batch's. (Had each rank divided by its sum of weights instead, the ranks
would have to be weighted by those sums, not by their rows.)

Two ways, side by side, both usable with training.fit and any backend:

    DataParallel(model)     by hand: the backend's own gradients(), times m_r, summed over the
                            ranks with one all_reduce together with m_r, divided by m; the same
                            update on every rank
    DDPStep(model)          the nn_module backend's layer inside DistributedDataParallel, each
                            rank's loss scaled by world * m_r / m so that DDP's mean of the
                            ranks' gradients is that weighted sum

fit needs to know which rows of the training set a rank holds: its `shard` (training.Shard);
shard_of(m) gives each rank a contiguous share of m rows. Shapes: m rows, n features, k classes.
The process group must be initialised first (torch.distributed.init_process_group); every rank
must make the same calls in the same order, as training.fit does when each rank is given the
same seed and flags.
"""

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .backends.base import SoftmaxRegression
from .backends.nn_module import NNModuleBackend
from .training import Shard


def share(rows: int, world: int, rank: int) -> slice:
    """Rank's contiguous share of `rows` rows: rows // world each, the first rows % world ranks
    one more. With fewer rows than ranks, some shares are empty."""
    size, extra = divmod(rows, world)
    start = rank * size + min(rank, extra)
    return slice(start, start + size + (rank < extra))


def summed(tensor: torch.Tensor, group: dist.ProcessGroup | None = None) -> torch.Tensor:
    """The tensor summed over the ranks (a copy; the tensor itself is left alone)."""
    total = tensor.clone()
    dist.all_reduce(total, group=group)
    return total


def shard_of(rows: int, group: dist.ProcessGroup | None = None) -> Shard:
    """This rank's contiguous share (see share) of a training set of `rows` rows, for fit."""
    mine = share(rows, dist.get_world_size(group), dist.get_rank(group))
    return Shard(torch.arange(mine.start, mine.stop), rows, lambda t: summed(t, group))


class DataParallel:
    """A backend whose loss, gradients and step are those of the whole batch, each rank giving
    its own rows of it (see the module's docstring). Anything else (logits, get_params,
    predict, ...) is the wrapped backend's, on this rank alone."""

    def __init__(self, model: SoftmaxRegression, group: dist.ProcessGroup | None = None) -> None:
        self.model = model
        self.group = group
        self.world = dist.get_world_size(group)
        self.rank = dist.get_rank(group)

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def combined(self, tensors: list[torch.Tensor], rows: int) -> tuple[list[torch.Tensor], int]:
        """Each tensor, computed over this rank's `rows` rows, as its mean over every rank's rows
        (weighted by rows), and the number of those rows m: one all_reduce, in float64."""
        flat = torch.cat([t.double().reshape(-1) * rows for t in tensors])
        count = torch.tensor([rows], dtype=torch.float64, device=flat.device)
        total = summed(torch.cat([flat, count]), self.group)
        m = int(total[-1].item())
        parts = (total[:-1] / m).to(tensors[0].dtype).split([t.numel() for t in tensors])
        return [part.view_as(t) for t, part in zip(tensors, parts, strict=True)], m

    def local_loss(self, X_mine: torch.Tensor, y_mine: torch.Tensor) -> torch.Tensor:
        """This rank's loss (0-dim); zero for no rows, which then add nothing but must still
        take part in the all_reduce."""
        if len(y_mine) == 0:
            return torch.zeros((), dtype=self.model.dtype, device=self.model.device)
        return self.model.loss(X_mine, y_mine).detach()

    def local_gradients(self, X_mine: torch.Tensor, y_mine: torch.Tensor) -> list[torch.Tensor]:
        """This rank's gradients [weight (n, k), bias (k,)]; zeros for no rows."""
        if len(y_mine) == 0:
            return [torch.zeros_like(p) for p in self.model.get_params().values()]
        return list(self.model.gradients(X_mine, y_mine).values())

    def loss(self, X_mine: torch.Tensor, y_mine: torch.Tensor) -> torch.Tensor:
        """The whole batch's loss, from every rank's rows of it."""
        (loss,), _ = self.combined([self.local_loss(X_mine, y_mine)], len(y_mine))
        return loss

    def gradients(self, X_mine: torch.Tensor, y_mine: torch.Tensor) -> dict[str, torch.Tensor]:
        """The whole batch's gradients {"weight": (n, k), "bias": (k,)}, from every rank's rows."""
        (dW, db), _ = self.combined(self.local_gradients(X_mine, y_mine), len(y_mine))
        return {"weight": dW, "bias": db}

    def step(self, X_mine: torch.Tensor, y_mine: torch.Tensor) -> torch.Tensor:
        """One step of gradient descent on the whole batch, the same on every rank; returns the
        loss before it. Loss and gradients travel in one all_reduce."""
        local = [self.local_loss(X_mine, y_mine), *self.local_gradients(X_mine, y_mine)]
        (loss, dW, db), _ = self.combined(local, len(y_mine))
        params = self.model.get_params()
        lr = self.model.lr
        self.model.set_params(
            {"weight": params["weight"] - lr * dW, "bias": params["bias"] - lr * db}
        )
        return loss


class DDPStep(DataParallel):
    """The nn_module backend trained through DistributedDataParallel, made exact for shares of
    any size: DDP averages the ranks' gradients, so each rank's cross-entropy (the backend's
    cross_entropy: divided by m_r, with class weights too) is scaled by world * m_r / m before
    backward(). SGD's weight_decay then adds the penalty's gradient once, the same on every
    rank. Loss and gradients (for fit's checks) are DataParallel's."""

    def __init__(self, model: NNModuleBackend, group: dist.ProcessGroup | None = None) -> None:
        super().__init__(model, group)
        self.ddp = DistributedDataParallel(model.linear, process_group=group)

    def step(self, X_mine: torch.Tensor, y_mine: torch.Tensor) -> torch.Tensor:
        (loss,), m = self.combined([self.local_loss(X_mine, y_mine)], len(y_mine))
        self.model.optimizer.zero_grad()
        logits = self.ddp(X_mine)
        if len(y_mine) > 0:
            scaled = self.model.cross_entropy(logits, y_mine) * (self.world * len(y_mine) / m)
        else:  # no rows: a zero loss, so that this rank still joins DDP's all_reduce
            scaled = logits.sum() * 0.0
        scaled.backward()  # DDP replaces each .grad by the mean over the ranks
        self.model.optimizer.step()
        return loss
