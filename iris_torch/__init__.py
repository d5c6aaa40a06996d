"""iris_torch: softmax regression on Fisher's Iris flowers, in PyTorch three ways (and a fourth).

    import iris_torch
    model = iris_torch.make_backend("autograd", n_features=4, n_classes=3, lr=0.1, l2=0.01)

Each backend (see BACKENDS) implements the interface described in iris_torch/backend.py, and the
test suite proves that all of them compute the same gradients and train the same model.
"""

import torch

from .autograd import AutogradBackend
from .backend import SoftmaxRegression
from .data import Dataset, Standardizer, load_csv, load_iris, one_hot, train_test_split
from .functional import FunctionalBackend
from .manual import ManualBackend
from .nn_module import NNModuleBackend
from .training import History, evaluate, fit

__version__ = "0.1.0"

_REGISTRY: dict[str, type[SoftmaxRegression]] = {
    cls.name: cls for cls in (ManualBackend, AutogradBackend, NNModuleBackend, FunctionalBackend)
}
BACKENDS: tuple[str, ...] = tuple(_REGISTRY)
"""The backend names, in teaching order: the --backend choices of the CLI."""


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
    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return _REGISTRY[name](
        n_features, n_classes, lr=lr, l2=l2, seed=seed, dtype=dtype, device=device
    )


__all__ = [
    "BACKENDS",
    "Dataset",
    "History",
    "SoftmaxRegression",
    "Standardizer",
    "evaluate",
    "fit",
    "load_csv",
    "load_iris",
    "make_backend",
    "one_hot",
    "train_test_split",
]
