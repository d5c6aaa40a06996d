"""The training loop's stopping rules by what they mean, each against an answer found apart
from the loop: plain gradient descent in float64 torch with autograd gradients, written here.

Convergence: fit(tol=...) stops at the first check (every CHECK_EVERY epochs) where the full
gradient's norm is at most tol times its norm at the start: a relative tolerance, so that the
same data at another scale stop by the same criterion. Divergence: the first epoch whose loss
is above DIVERGED times the starting loss raises DivergenceError naming it; a loss that climbs
less and comes back does not. And a model file of another format version is refused by name.
"""

import math

import pytest
import torch
from torch.nn import functional as F

import iris_torch
from iris_torch import checkpoint, training
from iris_torch.errors import CheckpointError, DivergenceError

L2 = 0.01


def iris(scale: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Iris in float64 (all 150 rows): raw (cm), or standardised."""
    data = iris_torch.load_iris(dtype="float64")
    X, y = data.X.double(), data.y
    if scale == "standardised":
        X = (X - X.mean(0)) / X.std(0)
    return X, y


def objective(W, b, X, y, l2=L2):
    return F.cross_entropy(X @ W + b, y) + l2 * W.square().sum()


def gradient(W, b, X, y, l2=L2):
    """(loss, dW, db), by autograd, at W and b."""
    W, b = W.detach().requires_grad_(), b.detach().requires_grad_()
    loss = objective(W, b, X, y, l2)
    dW, db = torch.autograd.grad(loss, [W, b])
    return loss.item(), dW, db


def norm(dW, db) -> float:
    return math.sqrt(dW.square().sum().item() + db.square().sum().item())


def descent(params, X, y, lr, epochs, l2=L2):
    """Plain full-batch gradient descent: per epoch the loss before its step, and at each
    CHECK_EVERY-th epoch the gradient's norm after it (norms[epoch - 1], nan between checks)."""
    W, b = params["weight"].clone(), params["bias"].clone()
    losses, norms = [], []
    for epoch in range(1, epochs + 1):
        loss, dW, db = gradient(W, b, X, y, l2)
        losses.append(loss)
        W, b = W - lr * dW, b - lr * db
        checked = epoch % training.CHECK_EVERY == 0
        norms.append(norm(*gradient(W, b, X, y, l2)[1:]) if checked else math.nan)
    return losses, norms, {"weight": W, "bias": b}


# -- convergence --------------------------------------------------------------------------------

# (scale, lr, tol): raw Iris's first gradient has a norm of about 4.2, so that a tolerance taken
# as absolute (norm <= tol) would stop these runs at another epoch than the relative one;
# standardised Iris's, about 0.99, stops by either (there it checks the epoch alone).
CONVERGING = [("raw", 0.05, 0.05), ("raw", 0.1, 0.1), ("standardised", 0.5, 0.05)]


@pytest.mark.parametrize(("scale", "lr", "tol"), CONVERGING)
def test_tol_stops_at_the_first_check_where_the_gradient_is_tol_of_its_first(scale, lr, tol):
    X, y = iris(scale)
    epochs = 600
    model = iris_torch.make_backend("manual", 4, 3, lr=lr, l2=L2, dtype=torch.float64)
    start = model.get_params()
    history = iris_torch.fit(model, X, y, epochs=epochs, tol=tol)

    first = norm(*gradient(start["weight"], start["bias"], X, y)[1:])
    _, norms, _ = descent(start, X, y, lr, epochs)
    checks = range(training.CHECK_EVERY, epochs, training.CHECK_EVERY)
    stop = next(epoch for epoch in checks if norms[epoch - 1] <= tol * first)
    # the answer is clear of rounding: not within 1e-6 of the threshold at any check up to it
    assert all(abs(norms[e - 1] / (tol * first) - 1) > 1e-6 for e in checks if e <= stop)
    assert history.epochs_run == stop and history.converged is True
    assert history.grad_norm_start == pytest.approx(first, rel=1e-12)

    final = model.get_params()
    reached = norm(*gradient(final["weight"], final["bias"], X, y)[1:])
    assert history.grad_norm == pytest.approx(reached, rel=1e-9)
    assert reached / first <= tol < norms[stop - training.CHECK_EVERY - 1] / first
    if scale == "raw":  # the criterion is relative: an absolute one would stop elsewhere
        absolute = next((epoch for epoch in checks if norms[epoch - 1] <= tol), None)
        assert absolute != stop


# -- divergence ---------------------------------------------------------------------------------

# (scale, lr): standardised Iris at --lr 30 passes ten times its start in its second epoch; raw
# at --lr 5 climbs for a while first.
DIVERGING = [("standardised", 30.0), ("raw", 5.0)]


@pytest.mark.parametrize(("scale", "lr"), DIVERGING)
def test_divergence_stops_at_the_first_epoch_above_diverged_times_the_start(scale, lr):
    X, y = iris(scale)
    model = iris_torch.make_backend("manual", 4, 3, lr=lr, l2=L2, dtype=torch.float64)
    losses, _, _ = descent(model.get_params(), X, y, lr, 200)
    start = losses[0]  # the loss at the initial parameters: the first epoch's, before its step
    epoch = next(e for e, loss in enumerate(losses, 1) if loss > training.DIVERGED * start)
    assert all(abs(loss / (training.DIVERGED * start) - 1) > 1e-6 for loss in losses[:epoch])
    with pytest.raises(DivergenceError) as raised:
        iris_torch.fit(model, X, y, epochs=200)
    assert raised.value.epoch == epoch
    assert raised.value.loss == pytest.approx(losses[epoch - 1], rel=1e-9)
    assert raised.value.start == pytest.approx(start, rel=1e-12)
    assert f"in epoch {epoch};" in str(raised.value)


@pytest.mark.parametrize(("scale", "lr"), DIVERGING)
def test_an_overshoot_by_the_last_update_is_divergence_too(scale, lr):
    """A run that ends one epoch before the loss is seen above DIVERGED times its start has
    already taken the step that put it there: fit judges the loss after its last update."""
    X, y = iris(scale)
    model = iris_torch.make_backend("manual", 4, 3, lr=lr, l2=L2, dtype=torch.float64)
    losses, _, _ = descent(model.get_params(), X, y, lr, 200)
    start = losses[0]
    epoch = next(e for e, loss in enumerate(losses, 1) if loss > training.DIVERGED * start)
    with pytest.raises(DivergenceError) as raised:
        iris_torch.fit(model, X, y, epochs=epoch - 1)
    assert raised.value.epoch == epoch - 1
    assert raised.value.loss == pytest.approx(losses[epoch - 1], rel=1e-9)  # after epoch - 1


def test_a_loss_that_climbs_less_than_diverged_times_and_comes_back_trains_on():
    """Standardised Iris at --lr 10 climbs above its start (found here), never to DIVERGED
    times it, and ends below its start."""
    X, y = iris("standardised")
    model = iris_torch.make_backend("manual", 4, 3, lr=10.0, l2=L2, dtype=torch.float64)
    losses, _, _ = descent(model.get_params(), X, y, 10.0, 300)
    assert 1.5 * losses[0] < max(losses) < training.DIVERGED * losses[0]
    assert losses[-1] < losses[0]
    history = iris_torch.fit(model, X, y, epochs=300)
    assert history.epochs_run == 300
    assert history.final_loss == pytest.approx(objective(*model.get_params().values(), X, y).item())
    assert history.loss[0] == pytest.approx(losses[0], rel=1e-12)
    assert max(history.loss) < training.DIVERGED * losses[0]


# -- the model file's format version ------------------------------------------------------------


def saved_model(path):
    generator = torch.Generator().manual_seed(0)
    checkpoint.save(
        checkpoint.Checkpoint(
            backend="manual",
            weight=torch.randn(4, 3, generator=generator, dtype=torch.float64),
            bias=torch.randn(3, generator=generator, dtype=torch.float64),
            feature_names=("a", "b", "c", "d"),
            class_names=("x", "y", "z"),
            target="species",
        ),
        path,
    )
    return torch.load(path, weights_only=True)


def test_a_model_file_of_version_1_loads(tmp_path):
    record = saved_model(tmp_path / "model.pt")
    assert record["version"] == checkpoint.VERSION == 1
    loaded = checkpoint.load(tmp_path / "model.pt")
    torch.testing.assert_close(loaded.weight, record["weight"], rtol=0, atol=0)
    assert loaded.class_names == ("x", "y", "z")


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_a_model_file_of_another_version_is_refused_naming_it(version, tmp_path):
    path = tmp_path / "model.pt"
    record = saved_model(path)
    if version is None:
        del record["version"]
    else:
        record["version"] = version
    torch.save(record, path)
    with pytest.raises(CheckpointError, match=f"of version {version!r};"):
        checkpoint.load(path)
