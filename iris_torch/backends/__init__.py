"""The backends by name, and make_backend."""

from .. import BACKENDS
from .autograd import AutogradBackend
from .base import SoftmaxRegression
from .fast import FastBackend
from .functional import FunctionalBackend
from .manual import ManualBackend
from .nn_module import NNModuleBackend

REGISTRY: dict[str, type[SoftmaxRegression]] = {
    cls.name: cls
    for cls in (ManualBackend, AutogradBackend, NNModuleBackend, FunctionalBackend, FastBackend)
}
assert tuple(REGISTRY) == BACKENDS, "iris_torch.BACKENDS must list the registered backends"


def make_backend(
    name: str, n_features: int, n_classes: int, **hyperparameters
) -> SoftmaxRegression:
    """A fresh model of the named backend; the same seed gives the same initial parameters.

    The hyperparameters are SoftmaxRegression's, by keyword, with its defaults: lr=0.1,
    l2=0.01, seed=0, dtype=torch.float32, device="cpu", class_weight=None (or per-class
    weights (k,) of the rows' cross-entropies; see objective.py).
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return REGISTRY[name](n_features, n_classes, **hyperparameters)
