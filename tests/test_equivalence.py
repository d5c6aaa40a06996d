"""Every backend against an independent NumPy oracle, and against each other.

The oracle (tests/oracle.py) shares no code with the package: its gradients come from
complex-step derivatives of the objective, not from any formula we derived. Agreement in
float64 to ~1e-10 relative is therefore evidence that all the backends are right, not only
that they make the same mistake.
"""

import itertools

import numpy as np
import oracle
import pytest
import torch
from conftest import random_params
from sklearn.linear_model import LogisticRegression
from witnesses import as_numpy, check_witnesses, model_at

from iris_torch import BACKENDS, fit, make_backend
from iris_torch.backends import fast

L2 = 0.01
# float64 carries ~16 digits; the oracle and the backends add and multiply in different orders,
# so they can disagree in the last few: 1e-10 relative leaves room for that and no more.
RTOL_64 = 1e-10
# float32 carries ~7 digits; sums over 120 rows lose one or two more.
RTOL_32, ATOL_32 = 1e-5, 1e-6
STEPS = 500  # epochs in the trajectory tests


def absent_class_data(seed=0, m=30, n=5, k=4):
    """Random data whose labels never use the last class: the loss must still span k classes."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(m, n, generator=generator, dtype=torch.float64)
    y = torch.randint(0, k - 1, (m,), generator=generator)
    return X, y, k


def test_registry():
    assert BACKENDS == ("manual", "autograd", "nn_module", "functional", "fast")
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        make_backend("jax", 4, 3)


# -- the starting point -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_same_seed_same_initial_params_in_every_backend(dtype):
    reference = make_backend("manual", 4, 3, seed=7, dtype=torch.float64).get_params()
    for name in BACKENDS:
        params = make_backend(name, 4, 3, seed=7, dtype=dtype).get_params()
        for key in ("weight", "bias"):
            assert params[key].dtype == dtype
            assert torch.equal(params[key], reference[key].to(dtype))
    other_seed = make_backend("manual", 4, 3, seed=8, dtype=torch.float64).get_params()
    assert not torch.equal(other_seed["weight"], reference["weight"])


def snapshot(params):
    return {key: value.clone() for key, value in params.items()}


def same_params(first, second):
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("key", ["weight", "bias"])
@pytest.mark.parametrize("name", BACKENDS)
def test_params_are_copies_in_and_out(name, key):
    """No tensor is shared between the model and its caller, in either direction."""
    X, y = torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    model = make_backend(name, 4, 3, l2=L2, dtype=torch.float64)  # the dtype of what it is given
    given = random_params(4, 3, scale=1.0, seed=1)
    model.set_params(given)
    expected = snapshot(given)

    given[key] += 1  # a tensor the caller passed in, changed in place: not the model's
    assert same_params(model.get_params(), expected)
    given = snapshot(expected)
    model.set_params(given)

    handed_out = model.get_params()
    handed_out[key] += 1  # a tensor the model handed out, changed in place: not the model's
    assert same_params(model.get_params(), expected)

    handed_out, gradients = model.get_params(), model.gradients(X, y)
    kept = [snapshot(given), snapshot(handed_out), snapshot(gradients)]
    model.step(X, y)  # and the reverse: the model's update reaches none of them
    assert not same_params(model.get_params(), expected)
    for before, now in zip(kept, [given, handed_out, gradients], strict=True):
        assert same_params(now, before)


@pytest.mark.parametrize("name", BACKENDS)
def test_params_and_gradients_are_plain_tensors_of_the_checked_shape(name):
    model = model_at(name, random_params(4, 3, scale=1.0, seed=1), l2=L2)
    gradients = model.gradients(
        torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    )
    # Plain row-major tensors, whatever the backend keeps inside: .view() and friends work.
    assert all(t.is_contiguous() for t in [*model.get_params().values(), *gradients.values()])
    with pytest.raises(ValueError, match=r"params\['weight'\] must have shape \(4, 3\)"):
        model.set_params({"weight": torch.zeros(3, 4), "bias": torch.zeros(3)})


# -- loss and gradients: four witnesses ------------------------------------------------------


@pytest.mark.parametrize("scale, seed", [(0.1, 0), (1.0, 1), (5.0, 2)])
def test_four_witnesses_on_iris(scale, seed, iris_split):
    X, _, y, _ = iris_split
    check_witnesses(X, y, random_params(4, 3, scale, seed), L2)


@pytest.mark.parametrize("l2", [0.0, 1.0])
def test_four_witnesses_when_a_class_is_absent(l2):
    X, y, k = absent_class_data()
    check_witnesses(X, y, random_params(X.shape[1], k, scale=1.0, seed=3), l2)


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(BACKENDS, 2)))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_pair_of_backends_agrees(first, second, dtype, iris_split):
    X, _, y, _ = iris_split
    X = X.to(dtype)
    params = random_params(4, 3, scale=1.0, seed=4, dtype=dtype)
    a, b = (model_at(name, params, l2=L2, dtype=dtype) for name in (first, second))
    rtol, atol = (RTOL_64, 1e-13) if dtype == torch.float64 else (RTOL_32, ATOL_32)
    torch.testing.assert_close(a.loss(X, y), b.loss(X, y), rtol=rtol, atol=atol)
    ga, gb = a.gradients(X, y), b.gradients(X, y)
    for key in ("weight", "bias"):
        assert ga[key].dtype == dtype
        torch.testing.assert_close(ga[key], gb[key], rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", BACKENDS)
def test_predictions_match_the_oracle(name, iris_split):
    X, _, _, _ = iris_split
    params = random_params(4, 3, scale=2.0, seed=5)
    model = model_at(name, params, l2=L2)
    expected = oracle.softmax(as_numpy(params["weight"]), as_numpy(params["bias"]), X.numpy())
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.numpy(), expected, rtol=1e-12)
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(len(X), dtype=torch.float64))
    assert torch.equal(model.predict(X), torch.from_numpy(expected.argmax(axis=1)))
    assert model.predict(X).dtype == torch.int64


# -- gradients() and step() -------------------------------------------------------------------


def model_state(model):
    """Everything a call might change: parameters, accumulated .grad, optimizer state."""
    tensors = {k: v.detach().clone() for k, v in vars(model).items() if torch.is_tensor(v)}
    tensors.update({f"params.{k}": v for k, v in model.get_params().items()})
    grads = {k: v.grad for k, v in vars(model).items() if torch.is_tensor(v)}
    if hasattr(model, "linear"):
        tensors.update({k: v.detach().clone() for k, v in model.linear.state_dict().items()})
        grads.update({k: p.grad for k, p in model.linear.named_parameters()})
    optimizer = model.optimizer.state_dict() if hasattr(model, "optimizer") else None
    return tensors, {k: None if g is None else g.clone() for k, g in grads.items()}, optimizer


def same_state(a, b):
    (ta, ga, oa), (tb, gb, ob) = a, b
    return (
        ta.keys() == tb.keys()
        and all(torch.equal(ta[k], tb[k]) for k in ta)
        and ga.keys() == gb.keys()
        and all((ga[k] is None) == (gb[k] is None) for k in ga)
        and all(ga[k] is None or torch.equal(ga[k], gb[k]) for k in ga)
        and oa == ob
    )


@pytest.mark.parametrize("name", BACKENDS)
def test_gradients_changes_nothing_and_step_applies_exactly_it(name, iris_split):
    X, _, y, _ = iris_split
    model = model_at(name, random_params(4, 3, scale=1.0, seed=6), l2=L2, lr=0.3)
    model.step(X, y)  # leave .grad and optimizer state non-empty, as in real use
    before = model_state(model)
    params = model.get_params()
    gradients = model.gradients(X, y)
    loss = model.loss(X, y).item()
    assert same_state(model_state(model), before)

    # step() may compute along another path than loss() and gradients() (manual's step fuses
    # them; SGD adds the decay in its own kernel), so the last bits may differ from CPU to CPU.
    # 1e-13 leaves room for that, and is far below what a wrong step would show: the loss after
    # the update is lower by about lr * |g|^2, here 0.05.
    assert model.step(X, y).item() == pytest.approx(loss, rel=1e-13)  # the loss before the update
    after = model.get_params()
    for key in ("weight", "bias"):
        torch.testing.assert_close(
            after[key], params[key] - 0.3 * gradients[key], rtol=0, atol=1e-13
        )


@pytest.mark.parametrize("rows_per_block", [1, 7, 64, 120])
def test_fast_backend_in_blocks_passes_the_witnesses(rows_per_block, iris_split, monkeypatch):
    """fast takes the rows in blocks of BLOCK_BYTES of X: at Iris's size one block holds them
    all, so shrink the blocks here to make several, the last one short (120 = 17 x 7 + 1)."""
    X, _, y, _ = iris_split
    monkeypatch.setattr(fast, "BLOCK_BYTES", rows_per_block * X.shape[1] * X.element_size())
    params = random_params(4, 3, scale=1.0, seed=3)
    check_witnesses(X, y, params, L2, backends=("manual", "fast"))
    model = model_at("fast", params, l2=L2, lr=0.3)
    gradients = model.gradients(X, y)
    model.step(X, y)
    for key, after in model.get_params().items():
        torch.testing.assert_close(after, params[key] - 0.3 * gradients[key], rtol=0, atol=1e-13)


# -- trajectories -----------------------------------------------------------------------------


def run_all(X, y, *, steps, batch_size=None, dtype=torch.float64, lr=0.1):
    """Train every backend from the same seeded init; params after every epoch, per backend."""
    trajectories = {}
    for name in BACKENDS:
        model = make_backend(name, X.shape[1], 3, lr=lr, l2=L2, seed=0, dtype=dtype)
        trajectory = []
        for _ in range(steps):
            fit(model, X.to(dtype), y, epochs=1, batch_size=batch_size, seed=len(trajectory))
            trajectory.append(model.get_params())
        trajectories[name] = trajectory
    return trajectories


def test_full_batch_trajectory_matches_oracle_gradient_descent(iris_split):
    """500 steps of full-batch gradient descent: every backend follows the oracle's path."""
    X, _, y, _ = iris_split
    start = make_backend("manual", 4, 3, dtype=torch.float64).get_params()
    expected = oracle.gradient_descent(
        as_numpy(start["weight"]),
        as_numpy(start["bias"]),
        X.numpy(),
        y.numpy(),
        L2,
        lr=0.1,
        steps=STEPS,
    )
    for name, trajectory in run_all(X, y, steps=STEPS).items():
        for step, (params, (W, b)) in enumerate(zip(trajectory, expected, strict=True)):
            np.testing.assert_allclose(
                params["weight"].numpy(), W, rtol=RTOL_64, atol=1e-12, err_msg=f"{name} {step}"
            )
            np.testing.assert_allclose(
                params["bias"].numpy(), b, rtol=RTOL_64, atol=1e-12, err_msg=f"{name} {step}"
            )


@pytest.mark.parametrize(
    ("dtype", "rtol", "atol"),
    [
        (torch.float64, RTOL_64, 1e-12),
        # float32: each step rounds at ~6e-8 relative, and gradient descent on this convex
        # objective contracts, so the errors stay bounded instead of growing over the 2,000
        # steps. Measured here: backends within 4e-7 of each other and 1.5e-6 of the float64
        # path. 1e-5 (about 80 float32 ulps of the largest weight, 1.7) leaves room for another
        # CPU's order of summation, while another batch order moves them by 1e-3 to 5e-3.
        (torch.float32, 0.0, 1e-5),
    ],
)
def test_minibatch_trajectories_agree(dtype, rtol, atol, iris_split):
    """Shuffled batches of 32 rows (120 = 3 x 32 + 24): same batches, same params, every epoch."""
    X, _, y, _ = iris_split
    trajectories = run_all(X, y, steps=STEPS, batch_size=32, dtype=dtype)
    reference = trajectories["manual"]
    for name in BACKENDS[1:]:
        for params, expected in zip(trajectories[name], reference, strict=True):
            for key in ("weight", "bias"):
                torch.testing.assert_close(params[key], expected[key], rtol=rtol, atol=atol)


def test_minibatches_make_a_difference(iris_split):
    """The minibatch test above would mean little if batching changed nothing."""
    X, _, y, _ = iris_split
    full = run_all(X, y, steps=5)["manual"][-1]
    mini = run_all(X, y, steps=5, batch_size=32)["manual"][-1]
    assert not torch.allclose(full["weight"], mini["weight"], atol=1e-3)


# -- the optimum ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sklearn_optimum(iris_split):
    """The minimiser of the same objective by an independent solver (L-BFGS).

    scikit-learn minimises C * sum of cross-entropies + 0.5 * ||W||^2, with the intercept not
    penalised. Divided by C * m, that is mean cross-entropy + ||W||^2 / (2 C m): ours when
    C = 1 / (2 * l2 * m).
    """
    X, _, y, _ = iris_split
    clf = LogisticRegression(C=1 / (2 * L2 * len(y)), tol=1e-12, max_iter=10_000)
    clf.fit(X.numpy(), y.numpy())
    return clf.coef_.T, clf.intercept_


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_converges_to_the_independent_optimum(name, iris_split, sklearn_optimum):
    X, _, y, _ = iris_split
    model = make_backend(name, 4, 3, lr=1.0, l2=L2, dtype=torch.float64)
    fit(model, X, y, epochs=2000)
    params = model.get_params()
    W, b = sklearn_optimum
    # L-BFGS stops within ~1e-7 of the optimum; our gradient descent gets closer (below).
    np.testing.assert_allclose(params["weight"].numpy(), W, atol=1e-6)
    # Adding a constant to every bias changes no probability, and the penalty leaves the bias
    # alone, so the objective is flat along that direction: two correct solvers may return
    # biases that differ by a constant. Compare them centred.
    centred = params["bias"] - params["bias"].mean()
    np.testing.assert_allclose(centred.numpy(), b - b.mean(), atol=1e-6)
    gradients = model.gradients(X, y)
    assert max(g.abs().max().item() for g in gradients.values()) < 1e-12


def test_two_classes_are_scikit_learns_binary_model_with_c_of_one_over_l2_m(iris_split):
    """With two classes scikit-learn fits one weight vector w (the logit of the second class
    against the first), penalised by ||w||^2 / (2C). Ours has a column per class; only their
    difference d = W2 - W1 changes a probability, and the penalty is least for it when
    W1 = -W2 = -d/2: l2 * ||d||^2 / 2. So the two agree when C = 1 / (l2 * m), not at the
    multinomial 1 / (2 * l2 * m)."""
    X, _, y, _ = iris_split
    X, y = X[y > 0], y[y > 0] - 1  # versicolor against virginica: they overlap
    model = make_backend("manual", 4, 2, lr=1.0, l2=L2, dtype=torch.float64)
    fit(model, X, y, epochs=3000)
    W, b = model.get_params().values()
    assert max(g.abs().max().item() for g in model.gradients(X, y).values()) < 1e-12
    torch.testing.assert_close(W[:, 0], -W[:, 1], rtol=0, atol=1e-12)

    def binary(C):
        clf = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X.numpy(), y.numpy())
        return clf.coef_[0], clf.intercept_[0]

    w, w0 = binary(1 / (L2 * len(y)))
    np.testing.assert_allclose((W[:, 1] - W[:, 0]).numpy(), w, atol=1e-6)
    assert (b[1] - b[0]).item() == pytest.approx(w0, abs=1e-6)
    multinomial_c, _ = binary(1 / (2 * L2 * len(y)))
    assert np.abs(multinomial_c - w).max() > 0.1  # a penalty twice as strong: another model
