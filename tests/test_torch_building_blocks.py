"""torch's own softmax, losses and SGD, checked against the NumPy oracle.

The nn_module backend trusts nn.CrossEntropyLoss and torch.optim.SGD, and learners reach for
torch.softmax and F.log_softmax the moment they leave this package. If any of those were wrong
(a broken build, a patched function), the equivalence tests would fail with a puzzling message;
these tests name the broken piece instead.
"""

import numpy as np
import oracle
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from iris_torch.backends import objective

M, K = 50, 4


def logits(scale):
    generator = torch.Generator().manual_seed(21)
    Z = scale * torch.randn(M, K, generator=generator, dtype=torch.float64)
    y = torch.randint(0, K, (M,), generator=generator)
    return Z, y


# With X = Z, W = I and b = 0 the oracle's logits are Z itself.
def oracle_softmax(Z):
    return oracle.softmax(np.eye(K), np.zeros(K), Z.numpy())


def oracle_cross_entropy(Z, y):
    return oracle.objective(np.eye(K), np.zeros(K), Z.numpy(), y.numpy(), 0.0)


def variants(function, module):
    """Every spelling of a torch function over the rows (dim 1), and ours; looked up per call."""
    return {
        f"torch.{function}": lambda Z: getattr(torch, function)(Z, dim=1),
        f"F.{function}": lambda Z: getattr(F, function)(Z, dim=1),
        f"Tensor.{function}": lambda Z: getattr(Z, function)(dim=1),
        f"nn.{module.__name__}": lambda Z: module(dim=1)(Z),
        f"iris_torch.backends.objective.{function}": lambda Z: getattr(objective, function)(Z),
    }


SOFTMAXES = variants("softmax", nn.Softmax)
LOG_SOFTMAXES = variants("log_softmax", nn.LogSoftmax)
CROSS_ENTROPIES = {
    "F.cross_entropy": F.cross_entropy,
    "nn.CrossEntropyLoss": lambda Z, y: nn.CrossEntropyLoss()(Z, y),
    "F.nll_loss of F.log_softmax": lambda Z, y: F.nll_loss(F.log_softmax(Z, dim=1), y),
    # nn_module.py hands the criterion the logits as one sample of m positions, (1, k, m)
    "nn.CrossEntropyLoss on Z^T (1, k, m)": lambda Z, y: nn.CrossEntropyLoss()(
        Z.T.unsqueeze(0), y.unsqueeze(0)
    ),
    "iris_torch.backends.objective.cross_entropy": objective.cross_entropy,
}
SCALES = [1.0, 30.0, 3000.0]  # ordinary, confident, and far beyond exp's range


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", SOFTMAXES)
def test_softmax(name, scale):
    Z, _ = logits(scale)
    np.testing.assert_allclose(
        SOFTMAXES[name](Z).numpy(), oracle_softmax(Z), rtol=1e-12, atol=1e-300
    )


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", LOG_SOFTMAXES)
def test_log_softmax(name, scale):
    Z, _ = logits(scale)
    expected = Z.numpy() - Z.numpy().max(axis=1, keepdims=True)
    expected = expected - np.log(np.exp(expected).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(LOG_SOFTMAXES[name](Z).numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", CROSS_ENTROPIES)
def test_cross_entropy(name, scale):
    Z, y = logits(scale)
    loss = CROSS_ENTROPIES[name](Z, y)
    assert loss.shape == ()
    assert loss.item() == pytest.approx(oracle_cross_entropy(Z, y), rel=1e-12)


@pytest.mark.parametrize("name", CROSS_ENTROPIES)
def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_m(name):
    """d(mean cross-entropy)/dZ, by autograd, against the oracle's probabilities."""
    Z, y = logits(3.0)
    Z.requires_grad_()
    CROSS_ENTROPIES[name](Z, y).backward()
    expected = (oracle_softmax(Z.detach()) - np.eye(K)[y.numpy()]) / M
    np.testing.assert_allclose(Z.grad.numpy(), expected, rtol=1e-10, atol=1e-15)


def test_sgd_applies_each_groups_weight_decay():
    """SGD: p -= lr * (grad + weight_decay * p), with the weight_decay of p's own group."""
    generator = torch.Generator().manual_seed(22)
    weight = torch.randn(3, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, generator=generator, dtype=torch.float64, requires_grad=True)
    weight.grad = torch.randn(3, 4, generator=generator, dtype=torch.float64)
    bias.grad = torch.randn(3, generator=generator, dtype=torch.float64)
    expected = {
        "weight": weight.detach().numpy()
        - 0.3 * (weight.grad.numpy() + 0.2 * weight.detach().numpy()),
        "bias": bias.detach().numpy() - 0.3 * bias.grad.numpy(),
    }
    optimizer = torch.optim.SGD(
        [{"params": [weight], "weight_decay": 0.2}, {"params": [bias], "weight_decay": 0.0}],
        lr=0.3,
    )
    optimizer.step()
    np.testing.assert_allclose(weight.detach().numpy(), expected["weight"], rtol=1e-14)
    np.testing.assert_allclose(bias.detach().numpy(), expected["bias"], rtol=1e-14)


def test_sgd_zero_grad_clears():
    weight = torch.ones(2, requires_grad=True)
    weight.grad = torch.ones(2)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    optimizer.zero_grad()
    assert weight.grad is None or not weight.grad.any()
