"""The training loop every backend shares.

The loop owns the order of the data, the logging and the evaluation; a backend only computes
a gradient and applies an update (its step method). So two backends given the same data, seed
and initial parameters see exactly the same batches in the same order.
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from .backends.base import SoftmaxRegression
from .backends.objective import cross_entropy
from .errors import DivergenceError


@dataclass
class History:
    """Per-epoch records of a run of fit().

    loss: the training objective (cross-entropy + penalty), averaged over the epoch's batches
    as each was before its update. val_loss and val_accuracy: cross-entropy (no penalty) and
    accuracy on the validation rows after the epoch; empty when fit() was given none.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    cross_entropy: float  # mean over rows, in nats; no penalty
    accuracy: float  # fraction of rows whose most probable class is the label


@torch.no_grad()
def evaluate(model: SoftmaxRegression, X: torch.Tensor, y: torch.Tensor) -> Evaluation:
    """Cross-entropy and accuracy of the model on (X (m, n), y (m,))."""
    Z = model.logits(X)
    return Evaluation(
        cross_entropy=cross_entropy(Z, y).item(),
        accuracy=(Z.argmax(dim=1) == y).double().mean().item(),
    )


def batches(
    X: torch.Tensor, y: torch.Tensor, batch_size: int | None, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The (X, y) batches of one epoch.

    Full batch (batch_size None, or >= m): X and y themselves, not a copy. Otherwise a fresh
    permutation of the rows from `generator` each epoch, cut into batches of batch_size rows;
    the last batch holds what is left over.
    """
    m = X.shape[0]
    if batch_size is None or batch_size >= m:
        yield X, y
        return
    for rows in torch.randperm(m, generator=generator).split(batch_size):
        rows = rows.to(X.device)
        yield X[rows], y[rows]


def fit(
    model: SoftmaxRegression,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int | None = None,
    seed: int = 0,
    X_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    log_every: int = 0,
    log: Callable[[str], None] = print,
) -> History:
    """Train `model` on (X (m, n), y (m,)) for `epochs` passes over the rows.

    Full batch by default; with batch_size, minibatches in an order drawn from a generator
    seeded with `seed`, the same whatever the backend. With X_val and y_val, each epoch ends
    with an evaluation on them. Every `log_every` epochs (and at the last), one line goes to
    `log`, in the style of pytorch/examples. A loss that is not finite (inf or nan: the steps
    overshoot, typically from a learning rate too large for the scale of the features) stops
    training at once with DivergenceError.
    """
    generator = torch.Generator().manual_seed(seed)
    history = History()
    for epoch in range(1, epochs + 1):
        total = 0.0
        for X_batch, y_batch in batches(X, y, batch_size, generator):
            loss = model.step(X_batch, y_batch).item()
            if not math.isfinite(loss):
                raise DivergenceError(epoch, loss)
            total += loss * X_batch.shape[0]
        history.loss.append(total / X.shape[0])
        line = f"Train Epoch: {epoch}/{epochs}  Loss: {history.loss[-1]:.6f}"
        if X_val is not None and y_val is not None:
            result = evaluate(model, X_val, y_val)
            history.val_loss.append(result.cross_entropy)
            history.val_accuracy.append(result.accuracy)
            line += f"  Test loss: {result.cross_entropy:.6f}  Accuracy: {result.accuracy:.1%}"
        if log_every and (epoch % log_every == 0 or epoch == epochs):
            log(line)
    return history
