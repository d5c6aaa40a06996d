"""Data: read a CSV into tensors, one-hot encode labels, split, standardise.

Every backend, the training loop and the CLI use these functions, so the data a model sees
never depends on which backend trains it. Shapes: m rows, n features, k classes.
"""

from dataclasses import dataclass
from os import PathLike

import torch

from .read import DataError, Table, check_split, iris_path, read_bundled_iris, read_table

__all__ = [
    "DataError",
    "Dataset",
    "Standardizer",
    "dataset_from_table",
    "iris_path",
    "load_csv",
    "load_iris",
    "one_hot",
    "train_test_split",
]


@dataclass(frozen=True)
class Dataset:
    """A table as tensors: X (m, n) float32, y (m,) int64 with values in 0..k-1.

    class_names[j] is the label that class index j stands for; feature_names[i] names column i.
    """

    X: torch.Tensor
    y: torch.Tensor
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def load_csv(path: str | PathLike, target: str = "Species", drop: tuple[str, ...] = ()) -> Dataset:
    """Read a CSV whose `target` column holds the labels and whose other columns are features.

    The file is checked first (see read.py): a problem raises DataError naming the row and
    column. Index columns such as "Id" and the columns in `drop` are not features. Labels are
    numbered 0..k-1 in sorted order of their values (numerically, if they are all numbers),
    never in order of first appearance, so the numbering does not depend on the row order.
    """
    return dataset_from_table(read_table(path, target=target, drop=drop))


def dataset_from_table(table: Table) -> Dataset:
    """The checked table as tensors: X float32 (m, n), y int64 (m,)."""
    return Dataset(
        X=torch.tensor(table.features, dtype=torch.float32),
        y=torch.tensor(table.labels, dtype=torch.int64),
        feature_names=table.feature_names,
        class_names=table.class_names,
    )


def load_iris() -> Dataset:
    """Fisher's Iris flowers: 150 rows, 4 measurements in cm, 3 species (see data/README.md)."""
    return dataset_from_table(read_bundled_iris())


def one_hot(y: torch.Tensor, n_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(m,) class indices -> (m, k) rows of 0s with a single 1 in column y[i].

    n_classes is always given: counting the classes present would give too few columns for a
    batch or a split that happens to lack one. scatter_ writes 1 into each row at the column
    named by the label: Y[i, y[i]] = 1.
    """
    Y = torch.zeros(y.shape[0], n_classes, dtype=dtype, device=y.device)
    return Y.scatter_(1, y.unsqueeze(1), 1)


def _shuffled(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return rows[torch.randperm(rows.shape[0], generator=generator)]


def _test_counts(sizes: list[int], n_test: int) -> list[int]:
    """Share n_test test rows among classes of the given sizes, in proportion to the sizes.

    Each class starts from the whole part of its share, kept between 1 and size - 1 so that
    it has rows in both sets; then rows are handed out (or taken back) one at a time where the
    count falls furthest short of (or beyond) its share, the earlier class first on a tie.
    Needs every size >= 2 and k <= n_test <= m - k (see check_split).
    """
    m = sum(sizes)
    shares = [n_test * size / m for size in sizes]
    counts = [min(max(int(share), 1), size - 1) for share, size in zip(shares, sizes, strict=True)]
    classes = range(len(sizes))
    while sum(counts) < n_test:
        c = max(
            (c for c in classes if counts[c] < sizes[c] - 1), key=lambda c: shares[c] - counts[c]
        )
        counts[c] += 1
    while sum(counts) > n_test:
        c = max((c for c in classes if counts[c] > 1), key=lambda c: counts[c] - shares[c])
        counts[c] -= 1
    return counts


def train_test_split(
    X: torch.Tensor,
    y: torch.Tensor,
    test_size: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split the rows into (X_train, X_test, y_train, y_test), reproducibly.

    round(test_size * m) rows go to the test set. With stratify, each class gets its share of
    them, and at least one row in each set (a small split could otherwise miss a class); a
    split that cannot give every class a row in both sets raises DataError. The shuffles draw
    from a generator seeded with `seed`, never from the global one, so the same seed gives the
    same split every run.
    """
    generator = torch.Generator().manual_seed(seed)
    n_test = round(test_size * y.shape[0])
    if stratify:
        labels, sizes = torch.unique(y, return_counts=True)
        check_split(dict(zip(map(str, labels.tolist()), sizes.tolist(), strict=True)), test_size)
        test_parts, train_parts = [], []
        for label, count in zip(labels, _test_counts(sizes.tolist(), n_test), strict=True):
            rows = _shuffled(torch.nonzero(y == label).flatten(), generator)
            test_parts.append(rows[:count])
            train_parts.append(rows[count:])
        # Gathered class by class: shuffle once more so neither set is ordered by class.
        test_rows = _shuffled(torch.cat(test_parts), generator)
        train_rows = _shuffled(torch.cat(train_parts), generator)
    else:
        order = _shuffled(torch.arange(y.shape[0]), generator)
        test_rows, train_rows = order[:n_test], order[n_test:]
    return X[train_rows], X[test_rows], y[train_rows], y[test_rows]


@dataclass(frozen=True)
class Standardizer:
    """Per-feature (x - mean) / std, with mean and std (n,) taken from the training rows.

    Why: the L2 penalty treats every weight alike, so the features must share a scale; and the
    statistics come from the training rows alone, as the test rows stand for data not yet seen.
    A constant column gets std 1: it becomes all zeros instead of 0 / 0 = nan.
    """

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, X: torch.Tensor) -> "Standardizer":
        """Statistics of the (m, n) training rows, in float64; std divides by m, not m - 1."""
        X = X.double()
        constant = X.amax(dim=0) == X.amin(dim=0)
        std = X.std(dim=0, correction=0).masked_fill(constant, 1.0)
        return cls(mean=X.mean(dim=0), std=std)

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        """(m, n) -> (m, n) standardised, in X's dtype and on X's device."""
        mean, std = self.mean.to(X.device), self.std.to(X.device)
        return ((X.double() - mean) / std).to(X.dtype)
