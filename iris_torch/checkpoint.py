"""Saving a trained model with everything needed to use it, and loading it back safely.

A checkpoint is a dict of plain data and tensors, written with torch.save and read with
torch.load(weights_only=True): that loader rebuilds only tensors and plain containers, so a
file crafted to run code when unpickled is refused instead of obeyed.
"""

import pickle
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

import torch

from . import BACKENDS
from .backends import make_backend
from .backends.base import SoftmaxRegression
from .data.prepare import Standardizer
from .errors import CheckpointError
from .files import atomic_path, check_model_file

FORMAT = "iris_torch checkpoint"
VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """A trained model: weight (n, k), bias (k,), and what it takes to use it on raw rows."""

    backend: str
    weight: torch.Tensor
    bias: torch.Tensor
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    target: str
    mean: torch.Tensor | None = None  # the standardiser's statistics (n,), None if unscaled
    std: torch.Tensor | None = None
    hyperparameters: dict = field(default_factory=dict)
    numeric_classes: bool = False  # the classes are numbers (see data/read.py, classes_of)

    def model(self) -> SoftmaxRegression:
        """A backend of the saved kind holding the saved parameters, on the CPU."""
        n, k = self.weight.shape
        model = make_backend(self.backend, n, k, dtype=self.weight.dtype)
        model.set_params({"weight": self.weight, "bias": self.bias})
        return model

    def predict_proba(self, X: torch.Tensor) -> torch.Tensor:
        """Raw feature rows (m, n) -> (m, k) probabilities, standardised as in training."""
        if self.mean is not None:
            X = Standardizer(mean=self.mean, std=self.std).transform(X)
        return self.model().predict_proba(X.to(self.weight.dtype))


def save(checkpoint: Checkpoint, path: str | PathLike) -> None:
    """Write the checkpoint atomically: the file at `path` is whole, or untouched."""
    record = {"format": FORMAT, "version": VERSION, **asdict(checkpoint)}
    record["feature_names"] = list(checkpoint.feature_names)
    record["class_names"] = list(checkpoint.class_names)
    with atomic_path(path) as temporary:
        torch.save(record, temporary)


def load(path: str | PathLike) -> Checkpoint:
    """Read a checkpoint written by save(). Raises CheckpointError with a one-line reason."""
    path = check_model_file(path)
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"refused to load {path}: it holds Python objects beyond tensors and plain data, "
            "which could run code when loaded; use only model files written by iris_torch"
        ) from None
    except Exception as error:  # a damaged archive: torch raises several kinds
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable PyTorch file ({reason})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a PyTorch file, but not an iris_torch model file")
    if record.get("version") != VERSION:
        raise CheckpointError(
            f"{path} is an iris_torch model file of version {record.get('version')!r}; "
            f"this iris_torch reads version {VERSION}"
        )
    try:
        checkpoint = Checkpoint(
            backend=record["backend"],
            weight=record["weight"],
            bias=record["bias"],
            feature_names=tuple(record["feature_names"]),
            class_names=tuple(record["class_names"]),
            target=record["target"],
            mean=record["mean"],
            std=record["std"],
            hyperparameters=record["hyperparameters"],
            numeric_classes=record.get("numeric_classes", False),  # added within version 1
        )
    except KeyError as missing:
        raise CheckpointError(f"{path} is damaged: it has no {missing}") from None
    _check_consistent(checkpoint, path)
    return checkpoint


def _check_consistent(checkpoint: Checkpoint, path: Path) -> None:
    n, k = len(checkpoint.feature_names), len(checkpoint.class_names)
    expected = {"weight": (n, k), "bias": (k,)}
    if checkpoint.mean is not None:
        expected |= {"mean": (n,), "std": (n,)}
    for key, shape in expected.items():
        value = getattr(checkpoint, key)
        if not torch.is_tensor(value) or tuple(value.shape) != shape:
            raise CheckpointError(f"{path} is damaged: {key} should be a tensor of shape {shape}")
    if not isinstance(checkpoint.numeric_classes, bool):
        raise CheckpointError(f"{path} is damaged: numeric_classes should be True or False")
    if checkpoint.backend not in BACKENDS:
        raise CheckpointError(f"{path} names an unknown backend {checkpoint.backend!r}")
