"""Witnesses for a backend's gradients, and the one helper that compares gradients.

A gradient is accepted only if four independent witnesses agree with it, in float64:
  1. the complex-step oracle (tests/oracle.py): NumPy, exact to rounding;
  2. central finite differences of the oracle's objective;
  3. torch.autograd.gradcheck, which differentiates the backend's *own* loss numerically and
     compares with the backend's gradients() (wired in as the backward of an autograd.Function);
  4. every other backend.
"""

import numpy as np
import oracle
import torch

from iris_torch import BACKENDS, make_backend

EPS64 = np.finfo(np.float64).eps
# Differences of the backends from the complex-step oracle: both are exact up to rounding, and
# rounding errors scale with the largest term summed, so the tolerance is relative to the
# gradient's largest entry: 1e-10 leaves room for ~1e6 roundings and would still catch any
# error in a formula.
RTOL_ORACLE = 1e-10
# Finite-difference step. Rounding error of the difference ~ eps * |f| / h (~2e-10 |f| here);
# truncation ~ h^2 * |f'''| / 6, tiny for smooth logits.
FD_STEP = 1e-6


def as_numpy(tensor):
    return tensor.detach().double().cpu().numpy() if torch.is_tensor(tensor) else tensor


def assert_gradients_match(got, expected, *, rtol, atol=0.0, label=""):
    """Each of "weight" and "bias": same shape, finite, and within atol + rtol * |expected|.

    Raises AssertionError naming the first entry that is off. Works on tensors and arrays.
    """
    for key in ("weight", "bias"):
        a, e = as_numpy(got[key]), as_numpy(expected[key])
        where = f"{label} {key}".strip()
        assert a.shape == e.shape, f"{where}: shape {a.shape}, expected {e.shape}"
        assert np.isfinite(a).all(), f"{where}: not finite: {a}"
        bound = atol + rtol * np.abs(e)
        off = np.abs(a - e) > bound
        if off.any():
            index = tuple(int(i) for i in np.argwhere(off)[0])
            raise AssertionError(
                f"{where}{list(index)}: {a[index]!r}, expected {e[index]!r} "
                f"(difference {abs(a[index] - e[index]):.3g} > {bound[index]:.3g})"
            )


def model_at(name, params, *, l2, dtype=torch.float64, **hyperparameters):
    """A backend set to the given parameters."""
    n, k = params["weight"].shape
    model = make_backend(name, n, k, l2=l2, dtype=dtype, **hyperparameters)
    model.set_params({key: value.to(dtype) for key, value in params.items()})
    return model


class _BackendObjective(torch.autograd.Function):
    """The backend's loss as a function of (weight, bias), with its gradients() as backward."""

    @staticmethod
    def forward(ctx, weight, bias, model, X, y):
        ctx.model, ctx.X, ctx.y = model, X, y
        ctx.save_for_backward(weight, bias)
        model.set_params({"weight": weight, "bias": bias})
        return model.loss(X, y).detach()

    @staticmethod
    def backward(ctx, grad_output):
        weight, bias = ctx.saved_tensors
        ctx.model.set_params({"weight": weight, "bias": bias})
        with torch.enable_grad():  # autograd-based backends differentiate inside gradients()
            gradients = ctx.model.gradients(ctx.X, ctx.y)
        return grad_output * gradients["weight"], grad_output * gradients["bias"], None, None, None


def gradcheck(model, params, X, y, *, atol, rtol=1e-6, fast_mode=False):
    """torch.autograd.gradcheck of the backend's loss against the backend's gradients().

    fast_mode compares one random projection of the gradient instead of every entry: a wrong
    gradient still fails (with probability 1), at a fraction of the cost.
    """
    inputs = tuple(params[key].double().clone().requires_grad_() for key in ("weight", "bias"))
    return torch.autograd.gradcheck(
        lambda weight, bias: _BackendObjective.apply(weight, bias, model, X, y),
        inputs,
        eps=FD_STEP,
        atol=atol,
        rtol=rtol,
        check_undefined_grad=False,
        fast_mode=fast_mode,
    )


def check_witnesses(
    X, y, params, l2, *, backends=BACKENDS, fast_gradcheck=False, class_weight=None
):
    """Assert that every backend's float64 loss and gradients pass all four witnesses.

    With class_weight (k,), the backends are given it, and the oracle the rows' weights.
    """
    W, b = as_numpy(params["weight"]), as_numpy(params["bias"])
    Xn, yn = as_numpy(X), y.numpy()
    row_weights = None if class_weight is None else as_numpy(class_weight)[yn]
    f = oracle.objective(W, b, Xn, yn, l2, row_weights)
    exact = oracle.gradients(W, b, Xn, yn, l2, row_weights)
    scale = max(1.0, *(np.abs(g).max() for g in exact.values()))
    # Rounding in the finite difference (eps * |f| / h, with room to spare) plus truncation.
    fd_atol = 100 * EPS64 * max(1.0, abs(f)) / FD_STEP + 1e-7 * scale
    differences = oracle.finite_differences(W, b, Xn, yn, l2, FD_STEP, row_weights)
    assert_gradients_match(differences, exact, rtol=0, atol=fd_atol, label="finite differences")

    gradients = {}
    for name in backends:
        model = model_at(name, params, l2=l2, class_weight=class_weight)
        loss = model.loss(X, y).item()
        assert abs(loss - f) <= RTOL_ORACLE * max(1.0, abs(f)), f"{name} loss {loss}, oracle {f}"
        gradients[name] = model.gradients(X, y)
        assert_gradients_match(
            gradients[name], exact, rtol=0, atol=RTOL_ORACLE * scale, label=f"{name} vs oracle"
        )
        assert_gradients_match(
            gradients[name], differences, rtol=0, atol=fd_atol, label=f"{name} vs differences"
        )
        assert gradcheck(model, params, X, y, atol=fd_atol, fast_mode=fast_gradcheck)
    first, *others = backends
    for name in others:
        assert_gradients_match(
            gradients[name],
            gradients[first],
            rtol=0,
            atol=RTOL_ORACLE * scale,
            label=f"{name} vs {first}",
        )
    return gradients
