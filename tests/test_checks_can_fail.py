"""A check that cannot fail proves nothing: hand each witness a wrong gradient, see it caught.

Two classic slips in a hand-derived gradient: forgetting the 2 in d(l2 * W^2)/dW = 2 * l2 * W,
and returning X^T (A - Y) transposed (invisible to a shape check when n == k).
"""

import pytest
import torch
from conftest import random_params
from torch.autograd.gradcheck import GradcheckError
from witnesses import (
    assert_gradients_match,
    check_witnesses,
    gradcheck,
)

from iris_torch import backends
from iris_torch.backends.manual import ManualBackend

L2 = 0.5
N = K = 3  # square, so a transposed weight gradient has the right shape


class MissingFactorTwo(ManualBackend):
    name = "manual without the 2"

    def gradients(self, X, y):
        gradients = super().gradients(X, y)
        return {**gradients, "weight": gradients["weight"] - self.l2 * self.weight}


class TransposedWeight(ManualBackend):
    name = "manual with the weight gradient transposed"

    def gradients(self, X, y):
        gradients = super().gradients(X, y)
        return {**gradients, "weight": gradients["weight"].T}


WRONG = [MissingFactorTwo, TransposedWeight]


@pytest.fixture
def problem():
    generator = torch.Generator().manual_seed(5)
    X = torch.randn(20, N, generator=generator, dtype=torch.float64)
    y = torch.randint(0, K, (20,), generator=generator)
    return X, y, random_params(N, K, scale=1.0, seed=6)


def wrong_model(cls, params):
    model = cls(N, K, l2=L2, dtype=torch.float64)
    model.set_params(params)
    return model


def test_the_right_gradient_passes(problem):
    X, y, params = problem
    check_witnesses(X, y, params, L2, backends=("manual",))


@pytest.mark.parametrize("cls", WRONG)
def test_comparison_helper_flags_a_wrong_gradient(cls, problem):
    X, y, params = problem
    right = wrong_model(ManualBackend, params).gradients(X, y)
    wrong = wrong_model(cls, params).gradients(X, y)
    assert wrong["weight"].shape == right["weight"].shape
    with pytest.raises(AssertionError, match="weight"):
        assert_gradients_match(wrong, right, rtol=1e-6)


@pytest.mark.parametrize("cls", WRONG)
def test_gradcheck_flags_a_wrong_gradient(cls, problem):
    X, y, params = problem
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(wrong_model(cls, params), params, X, y, atol=1e-6)


@pytest.mark.parametrize("cls", WRONG)
def test_every_witness_suite_flags_a_wrong_backend(cls, problem, monkeypatch):
    """Registered as a backend, the wrong gradient fails check_witnesses at its first witness."""
    X, y, params = problem
    monkeypatch.setitem(backends.REGISTRY, "wrong", cls)
    with pytest.raises(AssertionError, match="wrong vs oracle weight"):
        check_witnesses(X, y, params, L2, backends=("wrong",))


def test_comparison_helper_flags_shape_and_non_finite_values():
    right = {"weight": torch.ones(2, 3), "bias": torch.ones(3)}
    with pytest.raises(AssertionError, match="shape"):
        assert_gradients_match({**right, "weight": torch.ones(3, 2)}, right, rtol=1)
    with pytest.raises(AssertionError, match="not finite"):
        assert_gradients_match(
            {**right, "bias": torch.tensor([1.0, float("nan"), 1.0])}, right, rtol=1
        )
