"""Class weights (the hyperparameter class_weight) in every backend, and the report's metrics.

The objective with class weights s (k,) is (1/m) * sum_i s_{y_i} CE_i + l2 * sum(W ** 2): over
the rows m, not over the sum of the weights (backends/objective.py says why). Every backend is
held to the NumPy oracle given per-row weights s[y] (tests/oracle.py, complex-step gradients,
no torch), to the unweighted model when the weights are all 1, and to scikit-learn's
LogisticRegression(class_weight="balanced") at the optimum. Data-parallel training with class
weights is compared with one process in test_distributed.py. The metrics are compared with
scikit-learn's precision_recall_fscore_support and classification_report.
"""

import numpy as np
import pytest
import torch
from conftest import random_params
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, precision_recall_fscore_support
from sklearn.utils.class_weight import compute_class_weight
from torch import nn
from witnesses import check_witnesses, model_at

from iris_torch import BACKENDS, fit, make_backend
from iris_torch.backends import fast, objective
from iris_torch.data.prepare import balanced_class_weights
from iris_torch.metrics import averages, confusion_matrix, per_class

L2 = 0.01


def random_weights(k, seed):
    """(k,) float64 weights between 0.1 and 5, none of them 1: every row's term is rescaled."""
    generator = torch.Generator().manual_seed(seed)
    return 0.1 + 4.9 * torch.rand(k, generator=generator, dtype=torch.float64)


# -- balanced weights and the hyperparameter -------------------------------------------------


def test_balanced_class_weights_are_scikit_learns():
    y = torch.tensor([0] * 94 + [1] * 5 + [2] * 1)
    weights = balanced_class_weights(torch.bincount(y))
    assert weights.dtype == torch.float64
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y.numpy())
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-15)
    assert weights[y].sum().item() == pytest.approx(len(y), rel=1e-14)  # rows' weights sum to m
    with pytest.raises(ValueError, match=r"classes \[1\] have none"):
        balanced_class_weights(torch.tensor([4, 0, 2]))


@pytest.mark.parametrize("name", BACKENDS)
def test_class_weight_is_checked_and_kept_as_a_copy(name):
    given_weights = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    model = make_backend(name, 4, 3, dtype=torch.float64, class_weight=given_weights)
    given_weights[0] = 7.0  # the caller's tensor, changed afterwards: not the model's
    assert model.class_weight.dtype == torch.float64
    assert model.class_weight.tolist() == [1.0, 2.0, 0.5]
    assert "class_weight=[1.0, 2.0, 0.5]" in repr(model)
    assert "class_weight" not in repr(make_backend(name, 4, 3))
    with pytest.raises(ValueError, match=r"class_weight must have shape \(3,\), got \(4,\)"):
        make_backend(name, 4, 3, class_weight=torch.ones(4))
    for bad in ([1.0, -1.0, 1.0], [1.0, float("inf"), 1.0], [float("nan"), 1.0, 1.0]):
        with pytest.raises(ValueError, match="finite and >= 0"):
            make_backend(name, 4, 3, class_weight=torch.tensor(bad))


# -- loss and gradients: the four witnesses, given weights -------------------------------------


@pytest.mark.parametrize("scale, seed", [(0.1, 0), (1.0, 1), (5.0, 2)])
def test_four_witnesses_with_class_weights_on_iris(scale, seed, iris_split):
    X, _, y, _ = iris_split
    check_witnesses(
        X, y, random_params(4, 3, scale, seed), L2, class_weight=random_weights(3, seed)
    )


def minibatch_lacking_a_class(seed=0, m=30, n=5, k=4):
    """A batch of random rows whose labels never use the last class (its weight unused)."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(m, n, generator=generator, dtype=torch.float64)
    y = torch.randint(0, k - 1, (m,), generator=generator)
    return X, y, k


@pytest.mark.parametrize("l2", [0.0, 1.0])
def test_four_witnesses_with_class_weights_when_a_class_is_absent(l2):
    X, y, k = minibatch_lacking_a_class()
    params = random_params(X.shape[1], k, scale=1.0, seed=3)
    check_witnesses(X, y, params, l2, class_weight=random_weights(k, seed=4))


@pytest.mark.parametrize("rows_per_block", [1, 7, 120])
def test_fast_backend_in_blocks_with_class_weights(rows_per_block, iris_split, monkeypatch):
    """Several blocks, the last one short (120 = 17 x 7 + 1): each block weighs its own rows."""
    X, _, y, _ = iris_split
    monkeypatch.setattr(fast, "BLOCK_BYTES", rows_per_block * X.shape[1] * X.element_size())
    params = random_params(4, 3, scale=1.0, seed=5)
    check_witnesses(
        X, y, params, L2, backends=("manual", "fast"), class_weight=random_weights(3, 5)
    )


@pytest.mark.parametrize("name", BACKENDS)
def test_step_applies_the_weighted_gradient(name, iris_split):
    """step() takes its own path in most backends (backward, SGD, the blocked pass): with
    weights it returns the weighted loss and subtracts lr times the weighted gradient."""
    X, _, y, _ = iris_split
    params = random_params(4, 3, scale=1.0, seed=6)
    model = model_at(name, params, l2=L2, lr=0.3, class_weight=random_weights(3, 6))
    loss, gradients = model.loss(X, y).item(), model.gradients(X, y)
    assert model.step(X, y).item() == pytest.approx(loss, rel=1e-13)
    for key, after in model.get_params().items():
        torch.testing.assert_close(after, params[key] - 0.3 * gradients[key], rtol=0, atol=1e-13)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", BACKENDS)
def test_weights_all_one_are_the_unweighted_model_exactly(name, dtype, iris_split):
    X, _, y, _ = iris_split
    X = X.to(dtype)
    plain = make_backend(name, 4, 3, lr=0.3, l2=L2, dtype=dtype)
    ones = make_backend(name, 4, 3, lr=0.3, l2=L2, dtype=dtype, class_weight=torch.ones(3))
    assert torch.equal(ones.loss(X, y), plain.loss(X, y))
    weighted = ones.gradients(X, y)
    for key, gradient in plain.gradients(X, y).items():
        assert torch.equal(weighted[key], gradient)
    for model in (plain, ones):
        fit(model, X, y, epochs=5, batch_size=32, seed=1)
    for key, value in plain.get_params().items():
        assert torch.equal(ones.get_params()[key], value)


# -- over m, not over the sum of the weights -------------------------------------------------


@pytest.mark.parametrize("name", BACKENDS)
def test_batches_weighted_by_rows_add_up_to_the_whole(name, iris_split):
    """At fixed parameters, each batch's loss and gradients times its rows, summed over the
    batches of an epoch and divided by m, are the full batch's: what minibatch SGD's unbiased
    estimate and the data-parallel combination of ranks (distributed.py) both rely on."""
    X, _, y, _ = iris_split
    model = model_at(name, random_params(4, 3, 1.0, 7), l2=L2, class_weight=random_weights(3, 7))
    parts = torch.randperm(len(y), generator=torch.Generator().manual_seed(7)).split(32)
    loss = sum(model.loss(X[rows], y[rows]) * len(rows) for rows in parts) / len(y)
    torch.testing.assert_close(loss, model.loss(X, y), rtol=1e-13, atol=0)
    whole = model.gradients(X, y)
    for key in whole:
        summed = sum(model.gradients(X[rows], y[rows])[key] * len(rows) for rows in parts)
        torch.testing.assert_close(summed / len(y), whole[key], rtol=0, atol=1e-14)


# -- the optimum: scikit-learn's class_weight="balanced" -----------------------------------


@pytest.fixture(scope="module")
def imbalanced():
    """300 rows of 3 standardised features in classes of 94 %, 5 % and 1 % (282, 15, 3)."""
    generator = torch.Generator().manual_seed(0)
    means = torch.tensor([[0.0, 0.0, 0.0], [1.5, 0.5, 0.0], [0.5, 1.5, 1.0]], dtype=torch.float64)
    y = torch.cat([torch.full((count,), c) for c, count in enumerate([282, 15, 3])])
    X = means[y] + torch.randn(len(y), 3, generator=generator, dtype=torch.float64)
    return (X - X.mean(dim=0)) / X.std(dim=0), y


def sklearn_fit(X, y, **options):
    """scikit-learn's minimiser of sum_i s_i CE_i + ||W||^2 / (2C): ours (divided by C * m)
    when C = 1 / (2 * l2 * m); see test_equivalence.py's sklearn_optimum."""
    clf = LogisticRegression(C=1 / (2 * L2 * len(y)), tol=1e-12, max_iter=10_000, **options)
    clf.fit(X.numpy(), y.numpy())
    return clf.coef_.T, clf.intercept_ - clf.intercept_.mean()


@pytest.fixture(scope="module")
def balanced_optimum(imbalanced):
    X, y = imbalanced
    optimum = sklearn_fit(X, y, class_weight="balanced")
    # The weights matter on this data: without them the optimum is elsewhere.
    unweighted, _ = sklearn_fit(X, y)
    assert np.abs(unweighted - optimum[0]).max() > 0.1
    return optimum


def test_nn_weighted_mean_is_another_objective_on_a_minibatch(imbalanced):
    """The pitfall nn_module.py avoids: nn.CrossEntropyLoss(weight=s) divides by the batch's
    sum of weights. On the full training set with balanced weights that sum is m, and it agrees;
    on a minibatch it does not."""
    X, y = imbalanced
    params = random_params(3, 3, 1.0, 8)
    Z = X @ params["weight"] + params["bias"]  # (m, k)
    balanced = balanced_class_weights(torch.bincount(y))
    weighted_mean = nn.CrossEntropyLoss(weight=balanced)
    ours = objective.cross_entropy(Z, y, balanced)
    torch.testing.assert_close(weighted_mean(Z, y), ours, rtol=1e-13, atol=0)
    batch = torch.randperm(len(y), generator=torch.Generator().manual_seed(8))[:32]
    batch_weights = balanced[y[batch]].sum().item()
    assert abs(batch_weights - 32) > 1  # not a batch whose weights happen to sum to its rows
    ours = objective.cross_entropy(Z[batch], y[batch], balanced).item()
    assert weighted_mean(Z[batch], y[batch]).item() == pytest.approx(ours * 32 / batch_weights)


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_reaches_scikit_learns_balanced_optimum(name, imbalanced, balanced_optimum):
    X, y = imbalanced
    weights = balanced_class_weights(torch.bincount(y))
    model = make_backend(name, 3, 3, lr=2.0, l2=L2, dtype=torch.float64, class_weight=weights)
    fit(model, X, y, epochs=800)  # the gradient is below 1e-12 after about 600
    params = model.get_params()
    W, b = balanced_optimum
    # L-BFGS stops within ~3e-7 of the optimum here; the bias is compared centred, as it is
    # only determined up to a constant.
    np.testing.assert_allclose(params["weight"].numpy(), W, atol=1e-6)
    centred = params["bias"] - params["bias"].mean()
    np.testing.assert_allclose(centred.numpy(), b, atol=1e-6)
    gradients = model.gradients(X, y)
    assert max(g.abs().max().item() for g in gradients.values()) < 1e-12


# -- metrics: F1 and the averages, against scikit-learn ---------------------------------------


def test_f1_where_precision_or_recall_is_undefined():
    """Class 1 is never predicted, class 2 has no rows but is predicted, class 3 has neither."""
    confusion = torch.tensor([[3, 0, 1, 0], [2, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    rows = per_class(confusion, ["a", "b", "c", "d"])
    assert [(r["precision"], r["recall"], r["f1"]) for r in rows] == [
        (0.6, 0.75, pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))),
        (None, 0.0, 0.0),  # the model misses the class entirely: F1 0, counted in the averages
        (0.0, None, 0.0),  # every prediction of it is wrong
        (None, None, None),
    ]
    assert averages(rows) == {
        "macro": {
            "precision": pytest.approx(0.3),
            "recall": pytest.approx(0.375),
            "f1": pytest.approx(rows[0]["f1"] / 3),
        },
        "weighted": {
            "precision": pytest.approx(0.6),  # class 2's 0 has no rows to weigh
            "recall": pytest.approx(0.75 * 4 / 6),
            "f1": pytest.approx(rows[0]["f1"] * 4 / 6),
        },
    }
    empty = per_class(torch.zeros(2, 2, dtype=torch.int64), ["a", "b"])
    assert averages(empty) == {
        "macro": dict.fromkeys(("precision", "recall", "f1")),
        "weighted": dict.fromkeys(("precision", "recall", "f1")),
    }


@st.composite
def confusions(draw):
    """(k, k) counts, often with a class never predicted (a zero column) or with no rows (a zero
    row), and at least one row in all."""
    k = draw(st.integers(2, 5))
    counts = np.array(draw(st.lists(st.integers(0, 6), min_size=k * k, max_size=k * k)))
    confusion = counts.reshape(k, k)
    for axis in (0, 1):
        for c in draw(st.lists(st.integers(0, k - 1), max_size=2)):
            if axis == 0:
                confusion[c, :] = 0
            else:
                confusion[:, c] = 0
    if confusion.sum() == 0:
        confusion[0, -1] = 1
    return torch.from_numpy(confusion)


def labels_of(confusion):
    """(y, predicted) with confusion[i, j] rows of class i predicted as j."""
    k = confusion.shape[0]
    pairs = np.repeat(np.arange(k * k), confusion.flatten().numpy())
    return pairs // k, pairs % k


def same_score(ours, theirs):
    """None is scikit-learn's nan (zero_division=np.nan); numbers agree to rounding."""
    return np.isnan(theirs) if ours is None else ours == pytest.approx(theirs, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(confusions())
def test_metrics_are_scikit_learns(confusion):
    k = confusion.shape[0]
    y, predicted = labels_of(confusion)
    assert torch.equal(
        confusion_matrix(torch.from_numpy(y), torch.from_numpy(predicted), k), confusion
    )
    rows = per_class(confusion, [str(c) for c in range(k)])
    labels = list(range(k))
    theirs = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=np.nan, average=None
    )
    for row, *scores in zip(rows, *theirs, strict=True):
        for key, expected in zip(("precision", "recall", "f1"), scores[:3], strict=True):
            assert same_score(row[key], expected), (key, row, scores)
        assert row["support"] == scores[3]
    report = classification_report(
        y, predicted, labels=labels, zero_division=np.nan, output_dict=True
    )
    for ours, theirs in [("macro", "macro avg"), ("weighted", "weighted avg")]:
        got = averages(rows)[ours]
        for key, their_key in [
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1", "f1-score"),
        ]:
            assert same_score(got[key], report[theirs][their_key]), (ours, key, got, report)
