"""The backends by name, and make_backend."""

import torch

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
    name: str,
    n_features: int,
    n_classes: int,
    *,
    lr: float = 0.1,
    l2: float = 0.01,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> SoftmaxRegression:
    """A fresh model of the named backend; the same seed gives the same initial parameters."""
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return REGISTRY[name](
        n_features, n_classes, lr=lr, l2=l2, seed=seed, dtype=dtype, device=device
    )
