"""Reading and checking a CSV: the edge where bad data is turned into a sentence.

The standard library only (csv), no torch and no pandas: the command line reads and checks its
input before it loads torch, so a mistake in a file or a flag is answered at once, and a run
does not pay pandas' import (0.27 s of the 0.62 s a training run took beyond importing torch)
for what a csv reader and float() do. Every problem raises DataError with one line that names
the file, the line and column, and, where it helps, what to do. Lines are counted as lines of
the file, the header being line 1, as an editor shows them.
"""

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path

from ..errors import DataError

FLOAT32_MAX = 3.4028234663852886e38

INDEX_COLUMNS = ("id", "index", "")
"""Column names (compared case-insensitively, after stripping) that mark a row index, not a
feature. Names starting "Unnamed: " count too: pandas reads an unnamed index column, such as
its to_csv writes, as "Unnamed: 0". Other columns can be left out with drop=."""


__all__ = [
    "Cells",
    "DataError",
    "Table",
    "check_split",
    "iris_path",
    "read_bundled_iris",
    "read_table",
]


@dataclass(frozen=True)
class Cells:
    """Every cell of a CSV as written (str), each row with the line of the file it came from."""

    path: str | PathLike
    header: list[str]
    lines: list[int]
    rows: list[list[str]]

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]


@dataclass(frozen=True)
class Table:
    """A checked table: finite float features (m rows of n) and labels with their sorted classes."""

    feature_names: tuple[str, ...]
    features: list[list[float]]  # m rows of n values, in the order of feature_names
    labels: list[int]  # class index 0..k-1 of each row
    class_names: tuple[str, ...]

    def class_sizes(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {name: counts[index] for index, name in enumerate(self.class_names)}


def iris_path():
    """The bundled Iris.csv, found through the installed package, not the working directory."""
    return resources.files("iris_torch") / "_data" / "Iris.csv"


def is_index_column(name: str) -> bool:
    name = str(name).strip()
    return name.lower() in INDEX_COLUMNS or name.startswith("Unnamed: ")


def read_strings(path: str | PathLike) -> Cells:
    """Every cell as written (str), with the line of the file each row came from.

    Raises DataError for a file that is missing, binary, not UTF-8, empty, without rows, or
    whose rows do not all have as many values as the header. Blank lines are skipped.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a directory, not a CSV file")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path} is UTF-16 text; save it as a UTF-8 CSV")
    if b"\0" in raw[:8192]:
        raise DataError(f"{path} is not a text file (it holds binary data); expected a CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as a UTF-8 CSV") from None
    if not text.strip():
        raise DataError(f"{path} is empty; expected a header line and rows of values")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # bad quoting is an error
    try:
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as error:
        raise DataError(f"{path}, line {reader.line_num}: {error}") from None
    (_, header), *body = rows
    header = [name.strip() for name in header]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(f"{path}: the header names column {repeated[0]!r} more than once")
    if not body:
        raise DataError(f"{path} has a header but no rows of data")
    for line, row in body:
        if len(row) != len(header):
            raise DataError(
                f"{path}, line {line}: {len(row)} values, but the header names {len(header)} "
                "columns; every row needs one value per column"
            )
    return Cells(path, header, [line for line, _ in body], [row for _, row in body])


def as_number(text: str) -> float | None:
    """The number a cell holds (surrounding spaces allowed), or None if it holds none.

    float() also reads digit groups such as 1_000, which CSV files do not use: refused.
    """
    try:
        return None if "_" in text else float(text)
    except ValueError:
        return None


def is_feature_value(number: float | None) -> bool:
    """A number float32 (how features are held) represents: finite and within its range."""
    return number is not None and abs(number) <= FLOAT32_MAX  # False for nan, too


def numeric_columns(cells: Cells, columns: list[str]) -> list[list[float]]:
    """The named columns, row by row, as finite floats. Raises DataError at the first bad cell."""
    indices = [cells.header.index(column) for column in columns]
    values = []
    for line, row in zip(cells.lines, cells.rows, strict=True):
        numbers = [as_number(row[index]) for index in indices]
        if all(is_feature_value(number) for number in numbers):
            values.append(numbers)
            continue
        for column, index, number in zip(columns, indices, numbers, strict=True):
            cell = row[index]
            if is_feature_value(number):
                continue
            if cell.strip() == "":
                problem = "is blank"
            elif number is None:
                problem = f"is {cell!r}, not a number"
            elif math.isfinite(number):
                problem = f"is {cell!r}, beyond float32's range (about ±3.4e38); rescale it"
            else:
                problem = f"is {cell!r}: features must be finite numbers"
            raise DataError(f"{cells.path}, line {line}, column {column!r} {problem}")
    return values


def sorted_classes(labels: list[str]) -> list[str]:
    """The distinct labels, as numbers in numeric order if all of them are numbers, else as text.

    Sorted, never in order of first appearance, so the numbering of the classes does not depend
    on how the rows happen to be ordered.
    """
    distinct = set(labels)
    numbers = {label: as_number(label) for label in distinct}
    if all(number is not None and not math.isnan(number) for number in numbers.values()):
        return sorted(distinct, key=lambda label: (numbers[label], label))
    return sorted(distinct)


def read_table(path: str | PathLike, target: str = "Species", drop: tuple[str, ...] = ()) -> Table:
    """Read and check a CSV whose `target` column holds the labels and the rest are features.

    Index columns (see INDEX_COLUMNS) and the columns in `drop` are not features.
    """
    cells = read_strings(path)
    columns = cells.header
    for name, role in [(target, "target column"), *((name, "column to drop") for name in drop)]:
        if name not in columns:
            raise DataError(f"{path}: no {role} {name!r}; the columns are: {', '.join(columns)}")
    features = [c for c in columns if c != target and c not in drop and not is_index_column(c)]
    if not features:
        raise DataError(f"{path}: no feature columns besides the target {target!r}")
    labels = cells.column(target)
    for line, label in zip(cells.lines, labels, strict=True):
        if label.strip() == "":
            raise DataError(f"{path}, line {line}: the label in column {target!r} is blank")
    classes = sorted_classes(labels)
    if len(classes) < 2:
        raise DataError(
            f"{path}: column {target!r} holds one class only ({classes[0]!r}); "
            "a classifier needs at least 2"
        )
    code = {label: index for index, label in enumerate(classes)}
    return Table(
        feature_names=tuple(features),
        features=numeric_columns(cells, features),
        labels=[code[label] for label in labels],
        class_names=tuple(classes),
    )


def read_bundled_iris(target: str = "Species", drop: tuple[str, ...] = ()) -> Table:
    """read_table on the bundled Iris.csv, through a real file even from a zipped install."""
    with resources.as_file(iris_path()) as path:
        return read_table(path, target=target, drop=drop)


def check_split(class_sizes: dict[str, int], test_size: float) -> None:
    """A stratified split needs every class in both sets. Raises DataError if it cannot be done."""
    smallest = min(class_sizes, key=class_sizes.get)
    if class_sizes[smallest] < 2:
        raise DataError(
            f"class {smallest!r} has only {class_sizes[smallest]} row; a stratified split needs "
            "at least 2 of each class (one to train on, one to test on)"
        )
    m, k = sum(class_sizes.values()), len(class_sizes)
    n_test = round(test_size * m)
    if not k <= n_test <= m - k:
        raise DataError(
            f"--test-size {test_size} puts {n_test} of {m} rows in the test set; each set needs "
            f"at least one row of each of the {k} classes, so choose a test size that gives "
            f"{k} to {m - k} rows"
        )
