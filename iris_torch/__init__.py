"""iris_torch: softmax regression on Fisher's Iris flowers, in PyTorch several ways, proven equal.

    import iris_torch
    model = iris_torch.make_backend("autograd", n_features=4, n_classes=3, lr=0.1, l2=0.01)

Each backend (see BACKENDS: four textbook ones and a fast one) implements the interface described
in iris_torch/backends/base.py, and the test suite proves that all of them compute the same
gradients and train the same model.

The names below are imported on first use, not with the package: `python -m iris_torch.train`
checks its flags and data before it pays for importing torch.
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

BACKENDS: tuple[str, ...] = ("manual", "autograd", "nn_module", "functional", "fast")
"""The backend names: the four textbook ones in teaching order, then the one tuned for speed.
They are the --backend choices of the CLI."""

_HOMES = {
    "make_backend": "backends",
    "SoftmaxRegression": "backends.base",
    "Dataset": "data.prepare",
    "DataError": "errors",
    "CheckpointError": "errors",
    "DivergenceError": "errors",
    "TrainingInterrupted": "errors",
    "Standardizer": "data.prepare",
    "load_csv": "data.prepare",
    "load_iris": "data.prepare",
    "one_hot": "data.prepare",
    "train_test_split": "data.prepare",
    "History": "training",
    "evaluate": "training",
    "fit": "training",
    "gradient_norm": "training",
}

__all__ = ["BACKENDS", *_HOMES]


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(_import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
