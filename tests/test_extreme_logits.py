"""Logits of magnitude 1e3 to 1e4: our objective stays finite; the naive one does not.

Two ways to get there, as a learner's own data might: large features (unscaled measurements in
the thousands) or large weights (a learning rate far too high). Some rows are then confidently
wrong, which is the case the naive formulas cannot survive.
"""

import pytest
import torch
from conftest import random_params
from witnesses import assert_gradients_match, check_witnesses, model_at

from iris_torch import BACKENDS
from iris_torch.data.prepare import one_hot

L2 = 0.01


def extreme_case(kind, dtype):
    """(X, y, params) whose logits reach 1e3 to 1e4 in magnitude."""
    generator = torch.Generator().manual_seed(11)
    X = torch.randn(40, 5, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 4, (40,), generator=generator)
    params = random_params(5, 4, scale=1.0, seed=12)
    if kind == "large features":
        X = 2000 * X
    else:
        params = {key: 2000 * value for key, value in params.items()}
    return X.to(dtype), y, {key: value.to(dtype) for key, value in params.items()}


def logits_of(X, params):
    return X @ params["weight"] + params["bias"]


CASES = ["large features", "large weights"]


@pytest.mark.parametrize("kind", CASES)
def test_the_cases_are_extreme_and_include_confident_mistakes(kind):
    X, y, params = extreme_case(kind, torch.float64)
    Z = logits_of(X, params)
    assert 1e3 <= Z.abs().max() <= 1e5
    # A row is confidently wrong when its label's logit trails the row's best by hundreds.
    margin = Z.amax(dim=1) - Z.gather(1, y.unsqueeze(1)).squeeze(1)
    assert (margin > 500).sum() >= 5


@pytest.mark.parametrize("kind", CASES)
def test_every_witness_agrees_at_extreme_logits_in_float64(kind):
    X, y, params = extreme_case(kind, torch.float64)
    check_witnesses(X, y, params, L2)


@pytest.mark.parametrize("kind", CASES)
def test_backends_finite_and_equal_at_extreme_logits_in_float32(kind):
    X, y, params = extreme_case(kind, torch.float32)
    exact = model_at("manual", params, l2=L2, dtype=torch.float64)
    exact_loss = exact.loss(X.double(), y).item()
    exact_gradients = exact.gradients(X.double(), y)
    scale = max(g.abs().max().item() for g in exact_gradients.values())
    for name in BACKENDS:
        model = model_at(name, params, l2=L2, dtype=torch.float32)
        loss = model.loss(X, y)
        gradients = model.gradients(X, y)
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
        # float32 keeps ~7 digits of numbers this large: relative 1e-5 of the largest entry.
        assert loss.item() == pytest.approx(exact_loss, rel=1e-5)
        assert_gradients_match(
            gradients, exact_gradients, rtol=0, atol=1e-5 * scale, label=f"{name} float32"
        )


# -- the pitfall, demonstrated ----------------------------------------------------------------


def naive_softmax(Z):
    """The source tutorial's softmax: exp(z) / sum(exp(z)), with no shift."""
    return Z.exp() / Z.exp().sum(dim=1, keepdim=True)


def stable_softmax(Z):
    """Shifted by the row maximum, so exp cannot overflow; used to isolate the log pitfall."""
    E = (Z - Z.amax(dim=1, keepdim=True)).exp()
    return E / E.sum(dim=1, keepdim=True)


def log_of_softmax_cross_entropy(Z, Y):
    """The source tutorial's loss: the log taken of probabilities, not of logits."""
    return -(Y * stable_softmax(Z).log()).sum(dim=1).mean()


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_naive_formulas_give_inf_and_nan_on_the_same_input(kind, dtype):
    X, y, params = extreme_case(kind, dtype)
    Z = logits_of(X, params)
    # exp(z) overflows above ~88 in float32 and ~709 in float64: inf / inf = nan.
    assert torch.isnan(naive_softmax(Z)).any()
    # Even with a stable softmax, small probabilities underflow to 0 and log(0) = -inf. The
    # loss is then inf (the label's own probability is 0) or nan (0 * -inf from the one-hot
    # zeros); either way training is over, and the gradient is nan.
    assert torch.isneginf(stable_softmax(Z).log()).any()
    Y = one_hot(y, 4, dtype=dtype)
    weight = params["weight"].clone().requires_grad_()
    naive_loss = log_of_softmax_cross_entropy(logits_of(X, {**params, "weight": weight}), Y)
    assert not torch.isfinite(naive_loss)
    naive_loss.backward()
    assert torch.isnan(weight.grad).any()
    # Ours, on the very same input, is finite, and so is its gradient.
    model = model_at("autograd", params, l2=L2, dtype=dtype)
    assert torch.isfinite(model.loss(X, y))
    assert all(torch.isfinite(g).all() for g in model.gradients(X, y).values())
