"""What every backend shares: hyperparameters, the seeded initial parameters, prediction.

A backend stores the parameters of softmax regression in its own way and supplies five methods,
written side by side in manual.py, autograd.py, nn_module.py and functional.py (the four
textbook files, one per notebook) and in fast.py (the same step, tuned for data of a million
rows):

    get_params() / set_params(params)   {"weight": (n, k), "bias": (k,)} in every backend
    logits(X)                           (m, n) -> (m, k)
    loss(X, y)                          mean cross-entropy + l2 * sum(weight ** 2), 0-dim
                                        (each row's cross-entropy times its class's weight,
                                        with class_weight; see objective.py)
    gradients(X, y)                     {"weight": (n, k), "bias": (k,)}; changes nothing
    step(X, y)                          one update param -= lr * gradient; the loss before it

Shapes: m rows, n features, k classes; X is float (m, n), y holds int64 class indices (m,).
"""

import math

import torch

from .objective import log_softmax


class SoftmaxRegression:
    """Base class of the backends. Subclasses set `name` and implement the five methods above."""

    name: str

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        *,
        lr: float = 0.1,
        l2: float = 0.01,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        class_weight: torch.Tensor | None = None,
    ) -> None:
        self.n_features = n_features
        self.n_classes = n_classes
        self.lr = lr
        self.l2 = l2
        self.seed = seed
        self.dtype = dtype
        self.device = torch.device(device)
        # class_weight: None, every row counting once, or s (k,): row i's cross-entropy counts
        # s[y_i] times. Kept as a copy in the model's dtype and device, where the loss uses it.
        self.class_weight = None if class_weight is None else self._checked_weights(class_weight)

    def initial_params(self) -> dict[str, torch.Tensor]:
        """Seeded starting point, identical in every backend, dtype and device.

        Uniform in [-1/sqrt(n), 1/sqrt(n)], the range nn.Linear uses. Drawn on the CPU in float64
        from the model's own generator, then converted, so that float32 and float64 models (and
        CPU and GPU ones) start from the same numbers.
        """
        generator = torch.Generator().manual_seed(self.seed)
        bound = 1.0 / math.sqrt(self.n_features)

        def uniform(*shape: int) -> torch.Tensor:
            sample = torch.rand(*shape, generator=generator, dtype=torch.float64)
            return ((2 * sample - 1) * bound).to(dtype=self.dtype, device=self.device)

        return {"weight": uniform(self.n_features, self.n_classes), "bias": uniform(self.n_classes)}

    def _checked_weights(self, class_weight: torch.Tensor) -> torch.Tensor:
        """class_weight as a (k,) tensor of the model's dtype and device; refuse any other
        shape (indexing by the labels would not notice), and weights below 0 or not finite."""
        weights = torch.as_tensor(class_weight).to(dtype=self.dtype, device=self.device, copy=True)
        if tuple(weights.shape) != (self.n_classes,):
            raise ValueError(
                f"class_weight must have shape ({self.n_classes},), got {tuple(weights.shape)}"
            )
        if not (weights.isfinite().all() and (weights >= 0).all()):
            raise ValueError(f"class_weight must be finite and >= 0, got {weights.tolist()}")
        return weights

    def _checked(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Refuse a params dict of the wrong shape before copy_ could broadcast it silently."""
        expected = {"weight": (self.n_features, self.n_classes), "bias": (self.n_classes,)}
        for key, shape in expected.items():
            if key not in params or tuple(params[key].shape) != shape:
                got = tuple(params[key].shape) if key in params else "missing"
                raise ValueError(f"params[{key!r}] must have shape {shape}, got {got}")
        return params

    @torch.no_grad()
    def predict_log_proba(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, k) log-probabilities, computed stably from the logits."""
        return log_softmax(self.logits(X))

    def predict_proba(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, k) probabilities; each row sums to 1."""
        return self.predict_log_proba(X).exp()

    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m,) int64: the most probable class of each row."""
        return self.predict_log_proba(X).argmax(dim=1)

    def __repr__(self) -> str:
        weights = (
            "" if self.class_weight is None else f", class_weight={self.class_weight.tolist()}"
        )
        return (
            f"{type(self).__name__}(n_features={self.n_features}, n_classes={self.n_classes}, "
            f"lr={self.lr}, l2={self.l2}, seed={self.seed}, dtype={self.dtype}, "
            f"device={str(self.device)!r}{weights})"
        )
