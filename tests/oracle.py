"""An independent oracle for the objective, in NumPy: no torch, no hand-derived gradient.

Gradients come from the complex-step derivative: for a function f that is analytic in x,
f(x + ih) = f(x) + ih f'(x) + O(h^2), so f'(x) = Im f(x + ih) / h to machine precision. Unlike
a finite difference, nothing is subtracted, so h can be tiny (1e-30) and nothing cancels.
Every operation in `objective` is analytic (sum(W * W), not sum(|W| ** 2)), which is what the
method needs. Shapes: m rows, n features, k classes; W (n, k), b (k,), X (m, n), y (m,).
Optional per-row weights sample_weight (m,) multiply each row's cross-entropy; the sum is still
divided by m (the package's class weights are sample_weight = class_weight[y]).
"""

import numpy as np

STEP = 1e-30


def objective(W, b, X, y, l2, sample_weight=None):
    """Mean cross-entropy of softmax(XW + b) + l2 * sum(W ** 2); accepts complex W and b.

    With sample_weight (m,), row i's cross-entropy counts sample_weight[i] times, over m.
    """
    Z = X @ W + b
    Z = Z - Z.real.max(axis=1, keepdims=True)  # a constant shift per row: softmax ignores it
    log_norm = np.log(np.exp(Z).sum(axis=1))
    losses = log_norm - Z[np.arange(len(y)), y]
    if sample_weight is not None:
        losses = sample_weight * losses
    return np.mean(losses) + l2 * np.sum(W * W)


def gradients(W, b, X, y, l2, sample_weight=None):
    """dL/dW (n, k) and dL/db (k,), one complex-step derivative per parameter."""

    def derivative(which, index):
        Wc, bc = W.astype(complex), b.astype(complex)
        (Wc if which == "weight" else bc)[index] += 1j * STEP
        return objective(Wc, bc, X, y, l2, sample_weight).imag / STEP

    return {
        "weight": np.array(
            [[derivative("weight", (i, j)) for j in range(W.shape[1])] for i in range(W.shape[0])]
        ),
        "bias": np.array([derivative("bias", (j,)) for j in range(b.shape[0])]),
    }


def softmax(W, b, X):
    """(m, k) class probabilities."""
    Z = X @ W + b
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def gradient_descent(W, b, X, y, l2, lr, steps):
    """Full-batch gradient descent with oracle gradients; the parameters after each step."""
    trajectory = []
    for _ in range(steps):
        g = gradients(W, b, X, y, l2)
        W, b = W - lr * g["weight"], b - lr * g["bias"]
        trajectory.append((W, b))
    return trajectory


def finite_differences(W, b, X, y, l2, h, sample_weight=None):
    """Central differences (f(p + h) - f(p - h)) / 2h of `objective`, one parameter at a time.

    Error: about eps * |f| / h from rounding, plus h^2 * |f'''| / 6 from truncation.
    """

    def derivative(which, index):
        plus, minus = [(W.copy(), b.copy()) for _ in range(2)]
        (plus[0] if which == "weight" else plus[1])[index] += h
        (minus[0] if which == "weight" else minus[1])[index] -= h
        return (
            objective(*plus, X, y, l2, sample_weight) - objective(*minus, X, y, l2, sample_weight)
        ) / (2 * h)

    return {
        "weight": np.array(
            [[derivative("weight", (i, j)) for j in range(W.shape[1])] for i in range(W.shape[0])]
        ),
        "bias": np.array([derivative("bias", (j,)) for j in range(b.shape[0])]),
    }
