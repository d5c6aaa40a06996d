"""What the training loop promises, watched from inside: the rows each step receives, and the
loss each epoch reports.

A recording model stands between fit() and a real backend: it notes the rows of X and the labels
every step is given, the parameters just before it and the loss it returns, and passes each call
through. Rows are told apart by value: X is drawn from a normal distribution, so no two rows are
equal.
"""

import math

import oracle
import pytest
import torch

from iris_torch import BACKENDS, fit, make_backend

M, N, K = 23, 4, 3  # 23 rows in batches of 5: four full batches and a last one of 3
BATCH = 5
L2 = 0.01


def data(seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(M, N, generator=generator, dtype=torch.float64)
    y = torch.randint(0, K, (M,), generator=generator)
    return X, y


class Recording:
    """A backend's stand-in for fit(): each step's rows, labels, parameters before it, loss."""

    def __init__(self, model, X):
        self.model, self.X = model, X
        self.rows, self.labels, self.params_before, self.losses = [], [], [], []

    def step(self, X_batch, y_batch):
        matches = (X_batch[:, None, :] == self.X[None, :, :]).all(dim=2)  # (batch, M)
        assert (matches.sum(dim=1) == 1).all(), "every batch row is one row of X"
        self.rows.append(matches.int().argmax(dim=1).tolist())
        self.labels.append(y_batch.tolist())
        self.params_before.append(self.model.get_params())
        loss = self.model.step(X_batch, y_batch)
        self.losses.append(loss.item())
        return loss

    def __getattr__(self, name):  # everything else goes straight to the backend
        return getattr(self.model, name)


def record(name="manual", *, epochs, batch_size, seed=0, X=None, y=None):
    if X is None:
        X, y = data()
    model = Recording(make_backend(name, N, K, l2=L2, dtype=torch.float64), X)
    history = fit(model, X, y, epochs=epochs, batch_size=batch_size, seed=seed)
    return model, history


def per_epoch(items, batch_size):
    """Recorded steps grouped by epoch: ceil(M / batch_size) steps make one."""
    steps = math.ceil(M / batch_size)
    assert len(items) % steps == 0
    return [items[i : i + steps] for i in range(0, len(items), steps)]


def test_every_row_is_used_once_per_epoch_the_last_partial_batch_included():
    X, y = data()
    model, _ = record(epochs=6, batch_size=BATCH, X=X, y=y)
    for rows, labels in zip(model.rows, model.labels, strict=True):
        assert labels == y[rows].tolist()  # each row comes with its own label
    epochs = per_epoch(model.rows, BATCH)
    assert len(epochs) == 6
    for batches in epochs:
        assert [len(rows) for rows in batches] == [5, 5, 5, 5, 3]
        assert sorted(row for rows in batches for row in rows) == list(range(M))


def test_the_order_is_reshuffled_every_epoch():
    model, _ = record(epochs=5, batch_size=BATCH)
    orders = [
        tuple(row for rows in batches for row in rows) for batches in per_epoch(model.rows, BATCH)
    ]
    assert len(set(orders)) == len(orders)  # five epochs, five different orders
    assert orders[0] != tuple(range(M))  # and not the order of the file either


def test_the_order_depends_on_the_seed_alone_not_on_the_backend():
    orders = {name: record(name, epochs=3, batch_size=BATCH, seed=7)[0].rows for name in BACKENDS}
    assert all(rows == orders["manual"] for rows in orders.values())
    assert record("manual", epochs=3, batch_size=BATCH, seed=7)[0].rows == orders["manual"]
    assert record("manual", epochs=3, batch_size=BATCH, seed=8)[0].rows != orders["manual"]


def test_epoch_loss_is_the_mean_over_rows_of_each_batch_loss_before_its_update():
    X, y = data()
    model, history = record(epochs=4, batch_size=BATCH, X=X, y=y)
    assert len(history.loss) == 4
    for index, (rows, params, loss) in enumerate(
        zip(model.rows, model.params_before, model.losses, strict=True)
    ):
        # the loss a step returns is the objective on its batch at the parameters before it
        expected = oracle.objective(
            params["weight"].numpy(), params["bias"].numpy(), X[rows].numpy(), y[rows].numpy(), L2
        )
        assert loss == pytest.approx(expected, rel=1e-12), f"step {index}"
    batches = zip(per_epoch(model.rows, BATCH), per_epoch(model.losses, BATCH), strict=True)
    for epoch, (rows, losses) in enumerate(batches):
        # weighted by rows: the last batch of 3 counts 3/23, not 1/5
        weighted = sum(len(r) * loss for r, loss in zip(rows, losses, strict=True)) / M
        assert history.loss[epoch] == pytest.approx(weighted, rel=1e-12)
        assert history.loss[epoch] != pytest.approx(sum(losses) / len(losses), rel=1e-9)


@pytest.mark.parametrize("batch_size", [None, M, 10 * M])
def test_full_batch_epoch_loss_is_the_whole_objective_before_the_epoch(batch_size):
    X, y = data()
    model, history = record(epochs=5, batch_size=batch_size, X=X, y=y)
    assert model.rows == [list(range(M))] * 5  # one step per epoch, on every row
    for epoch, params in enumerate(model.params_before):
        expected = oracle.objective(
            params["weight"].numpy(), params["bias"].numpy(), X.numpy(), y.numpy(), L2
        )
        assert history.loss[epoch] == pytest.approx(expected, rel=1e-12)
