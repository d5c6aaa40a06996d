"""The source tutorials' mistakes, each run for real: the wrong variant differs, ours does not.

Read these as lessons. Each test builds the mistaken version next to ours and shows where it
goes: a different model, piled-up gradients, or a crash.
"""

import numpy as np
import oracle
import pytest
import torch
from witnesses import as_numpy, assert_gradients_match

from iris_torch import BACKENDS, fit, make_backend
from iris_torch.backends.autograd import AutogradBackend
from iris_torch.backends.objective import softmax
from iris_torch.data.prepare import one_hot

L2 = 0.1  # large enough that getting the penalty wrong shows clearly


def trained(model, X, y, epochs=300):
    fit(model, X, y, epochs=epochs)
    return model.get_params()


def distance(a, b):
    return max((a[key] - b[key]).abs().max().item() for key in ("weight", "bias"))


@pytest.fixture(scope="module")
def reference(iris_split):
    """Where the hand-derived backend goes in 300 steps, from the seeded start."""
    X, _, y, _ = iris_split
    return trained(make_backend("manual", 4, 3, l2=L2, dtype=torch.float64), X, y)


def nn_model_with_groups(groups):
    """The nn backend with its optimizer rebuilt as the tutorial would have built it."""
    model = make_backend("nn_module", 4, 3, l2=L2, dtype=torch.float64)
    model.optimizer = torch.optim.SGD(groups(model.linear), lr=model.lr)
    return model


WRONG_WEIGHT_DECAY = {
    # weight_decay = l2: only half the penalty, since SGD adds w * W, the gradient of w/2 * W^2
    "half the penalty": lambda linear: [
        {"params": [linear.weight], "weight_decay": L2},
        {"params": [linear.bias], "weight_decay": 0.0},
    ],
    # one weight_decay for every parameter: the bias is decayed, though it is not penalised
    "decays the bias": lambda linear: [
        {"params": [linear.weight, linear.bias], "weight_decay": 2 * L2},
    ],
    # the tutorial did both at once: SGD(model.parameters(), weight_decay=l2)
    "both": lambda linear: [{"params": list(linear.parameters()), "weight_decay": L2}],
}


def test_our_nn_backend_follows_the_hand_derived_one(iris_split, reference):
    """Ours: weight_decay = 2 * l2 on the weight, none on the bias (see nn_module.py)."""
    X, _, y, _ = iris_split
    ours = make_backend("nn_module", 4, 3, l2=L2, dtype=torch.float64)
    assert distance(trained(ours, X, y), reference) < 1e-12


@pytest.mark.parametrize("variant", WRONG_WEIGHT_DECAY)
def test_wrong_weight_decay_leads_to_another_model(variant, iris_split, reference):
    X, _, y, _ = iris_split
    params = trained(nn_model_with_groups(WRONG_WEIGHT_DECAY[variant]), X, y)
    assert distance(params, reference) > 1e-3


def applied_gradient(model, X, y):
    """What one step subtracted from the parameters, divided by the learning rate."""
    before = model.get_params()
    model.step(X, y)
    after = model.get_params()
    return {key: (before[key] - after[key]) / model.lr for key in before}


@pytest.mark.parametrize("variant", [None, *WRONG_WEIGHT_DECAY])
def test_wrong_weight_decay_shows_in_the_first_step(variant, iris_split):
    """Already at the first step: what SGD applies is not the objective's gradient (ours is)."""
    X, _, y, _ = iris_split
    if variant is None:
        model = make_backend("nn_module", 4, 3, l2=L2, dtype=torch.float64)
    else:
        model = nn_model_with_groups(WRONG_WEIGHT_DECAY[variant])
    applied = applied_gradient(model, X, y)
    right = make_backend("manual", 4, 3, l2=L2, dtype=torch.float64).gradients(X, y)
    if variant is None:
        assert_gradients_match(applied, right, rtol=1e-6)
    else:
        with pytest.raises(AssertionError):
            assert_gradients_match(applied, right, rtol=1e-6)


def test_creating_a_backend_leaves_the_global_generator_alone():
    """Backends draw their start from their own seeded generator, never torch's global one."""
    torch.manual_seed(0)
    expected = torch.rand(3)
    for name in BACKENDS:
        torch.manual_seed(0)
        make_backend(name, 4, 3)
        assert torch.equal(torch.rand(3), expected), name


def test_half_the_penalty_is_a_different_objective(iris_split):
    """Not only another path: weight_decay = l2 minimises l2/2 * sum(W^2), not l2 * sum(W^2)."""
    X, _, y, _ = iris_split
    tutorial = nn_model_with_groups(WRONG_WEIGHT_DECAY["half the penalty"])
    ours = make_backend("manual", 4, 3, l2=L2 / 2, dtype=torch.float64)
    assert distance(trained(tutorial, X, y), trained(ours, X, y)) < 1e-12


class ForgetsToClearGradients(AutogradBackend):
    """Our autograd backend without the two lines that clear .grad before backward()."""

    def step(self, X, y):
        loss = self.loss(X, y)
        loss.backward()
        with torch.no_grad():
            self.weight -= self.lr * self.weight.grad
            self.bias -= self.lr * self.bias.grad
        return loss.detach()


def test_gradients_pile_up_when_not_cleared(iris_split, reference):
    X, _, y, _ = iris_split
    forgetful = ForgetsToClearGradients(4, 3, l2=L2, dtype=torch.float64)
    forgetful.step(X, y)
    first = forgetful.weight.grad.clone()
    second = forgetful.gradients(X, y)["weight"]  # the true gradient at the new point
    forgetful.step(X, y)
    # .grad now holds the sum of both steps' gradients, and that sum is what was applied.
    torch.testing.assert_close(forgetful.weight.grad, first + second, rtol=1e-12, atol=1e-15)
    ours = make_backend("autograd", 4, 3, l2=L2, dtype=torch.float64)
    forgetful = ForgetsToClearGradients(4, 3, l2=L2, dtype=torch.float64)
    assert distance(trained(ours, X, y), reference) < 1e-12
    assert distance(trained(forgetful, X, y), reference) > 1e-1


def test_class_count_must_not_come_from_the_batch():
    """A batch of a 3-class problem that happens to hold only classes 1 and 2."""
    X = torch.randn(6, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.tensor([1, 2, 1, 2, 2, 1])
    model = make_backend("manual", 4, 3, dtype=torch.float64)
    Z = model.logits(X)
    # Counting the labels present gives 2 columns: the label 2 has nowhere to go.
    with pytest.raises(RuntimeError, match="index"):
        one_hot(y, len(y.unique()), dtype=torch.float64)
    # Taking the largest label + 1 gives 3 here, but a batch of classes 0 and 1 would get 2,
    # and then the one-hot matrix no longer lines up with the 3 probabilities of each row.
    assert torch.nn.functional.one_hot(torch.tensor([0, 1, 1])).shape == (3, 2)
    with pytest.raises(RuntimeError, match="size"):
        softmax(model.logits(X[:3])) - torch.nn.functional.one_hot(torch.tensor([0, 1, 1]))
    # Ours: the class count is always given, and the hand-derived X^T (A - Y) / m is the
    # oracle's gradient of the cross-entropy.
    params = model.get_params()
    expected = oracle.gradients(
        as_numpy(params["weight"]), as_numpy(params["bias"]), X.numpy(), y.numpy(), 0.0
    )
    A_minus_Y = softmax(Z) - one_hot(y, 3, dtype=torch.float64)
    np.testing.assert_allclose((X.T @ A_minus_Y / len(y)).numpy(), expected["weight"], rtol=1e-9)
