"""An independent oracle for the objective, in NumPy: no torch, no hand-derived gradient.

Gradients come from the complex-step derivative: for a function f that is analytic in x,
f(x + ih) = f(x) + ih f'(x) + O(h^2), so f'(x) = Im f(x + ih) / h to machine precision. Unlike
a finite difference, nothing is subtracted, so h can be tiny (1e-30) and nothing cancels.
Every operation in `objective` is analytic (sum(W * W), not sum(|W| ** 2)), which is what the
method needs. Shapes: m rows, n features, k classes; W (n, k), b (k,), X (m, n), y (m,).
"""

import numpy as np

STEP = 1e-30


def objective(W, b, X, y, l2):
    """Mean cross-entropy of softmax(XW + b) + l2 * sum(W ** 2); accepts complex W and b."""
    Z = X @ W + b
    Z = Z - Z.real.max(axis=1, keepdims=True)  # a constant shift per row: softmax ignores it
    log_norm = np.log(np.exp(Z).sum(axis=1))
    cross_entropy = np.mean(log_norm - Z[np.arange(len(y)), y])
    return cross_entropy + l2 * np.sum(W * W)


def gradients(W, b, X, y, l2):
    """dL/dW (n, k) and dL/db (k,), one complex-step derivative per parameter."""

    def derivative(which, index):
        Wc, bc = W.astype(complex), b.astype(complex)
        (Wc if which == "weight" else bc)[index] += 1j * STEP
        return objective(Wc, bc, X, y, l2).imag / STEP

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


def finite_differences(W, b, X, y, l2, h):
    """Central differences (f(p + h) - f(p - h)) / 2h of `objective`, one parameter at a time.

    Error: about eps * |f| / h from rounding, plus h^2 * |f'''| / 6 from truncation.
    """

    def derivative(which, index):
        plus, minus = [(W.copy(), b.copy()) for _ in range(2)]
        (plus[0] if which == "weight" else plus[1])[index] += h
        (minus[0] if which == "weight" else minus[1])[index] -= h
        return (objective(*plus, X, y, l2) - objective(*minus, X, y, l2)) / (2 * h)

    return {
        "weight": np.array(
            [[derivative("weight", (i, j)) for j in range(W.shape[1])] for i in range(W.shape[0])]
        ),
        "bias": np.array([derivative("bias", (j,)) for j in range(b.shape[0])]),
    }
