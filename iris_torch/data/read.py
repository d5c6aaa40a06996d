"""Reading and checking a data file: the edge where bad data is turned into a sentence.

pandas reads the file (`read_csv` with its C parser, or `read_parquet`), straight into the
float type training asks for; no torch here, so the command line checks its input before it
loads torch. pandas is imported when this module is, and this module only when data are read.

A file that parses cleanly is checked with a few operations on whole columns. Only when one of
them fails is the file read a second time, every cell as text, to say which lines and which
cells are wrong: one DataError with one line that names the file, the line and the column, the
offending text, and where it helps the flag that gets past it. Lines are counted as lines of
the file, the header being line 1, as an editor shows them (rows, from 1, in a Parquet file).
"""

import bz2
import codecs
import csv
import dataclasses
import glob
import gzip
import importlib.util
import io
import lzma
import re
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path
from shlex import quote

import numpy as np
import pandas as pd

from ..errors import DataError

FLOAT32_MAX = float(np.finfo(np.float32).max)

MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "#N/A")
"""Cells that stand for a missing feature value: those of pandas' defaults that people write.
A label is missing only when blank: "None" or "NA" may well be the name of a class."""

BOOLEANS = {"true": 1.0, "false": 0.0}
"""How pandas' C parser reads True/False (any case) into a float column: as 1 and 0."""

SEPARATORS = (",", ";", "\t")

COMPRESSIONS = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"PK\x03\x04": "zip", b"\xfd7zXZ\x00": "xz"}
"""Recognised by their first bytes, not the file name: wine.csv.gz and a gzip named .csv alike."""

PARQUET = b"PAR1"
DAMAGED = (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, zlib.error)  # a bad archive

INDEX_NAMES = ("id", "index", "")
"""Column names (compared case-insensitively) that mark a row index, not a feature; so do names
ending in "_id" and pandas' "Unnamed: 0" (its read_csv's name for an unnamed index column)."""

COPY_ROWS = 8192  # rows per block of the copy into one array (see _rows_of)
HEAD_BYTES = 1 << 20  # read first, to check the bytes and find the header and separator
MIN_ROWS_FOR_COUNT = 20  # in a handful of rows, 1, 2, 3 may well be a measurement
SHOWN_LINES = 5  # lines listed in a message; the rest are counted


__all__ = [
    "DataError",
    "Table",
    "check_split",
    "class_values",
    "classes_of",
    "codes_for",
    "iris_path",
    "read_bundled_iris",
    "read_table",
]


@dataclass(frozen=True)
class Table:
    """A checked table: finite features (m rows of n), labels numbered by their sorted classes."""

    feature_names: tuple[str, ...]
    features: np.ndarray  # (m, n) float32 or float64, C-contiguous, in feature_names' order
    labels: np.ndarray  # (m,) int64, class index 0..k-1 of each row
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = ()  # what the reader did that the user should be told
    numeric_classes: bool = False  # the labels are numbers, compared as numbers (classes_of)

    def class_sizes(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return dict(zip(self.class_names, counts.tolist(), strict=True))


@dataclass(frozen=True)
class Columns:
    """The columns a caller asked for, read from a file and checked (see read_columns)."""

    numbers: np.ndarray  # (m, n) in the order asked for
    texts: dict[str, pd.Series]  # each text column asked for, as str, None where missing
    rows_dropped: int = 0
    notes: list[str] = field(default_factory=list)


def iris_path():
    """The bundled Iris.csv, found through the installed package, not the working directory."""
    return resources.files("iris_torch") / "_data" / "Iris.csv"


def is_index_name(name: str) -> bool:
    name = name.strip().lower()
    return name in INDEX_NAMES or name.endswith("_id") or name.startswith("unnamed: ")


# -- the source: a file, compressed or not, or standard input ---------------------------------


@dataclass(frozen=True)
class Source:
    """Where the data come from, and what the first bytes say about how to read them."""

    name: str  # as the user gave it, for messages
    data: bytes | None  # the whole input when it came from standard input
    path: Path | None
    compression: str | None
    parquet: bool
    head: str  # the first characters of the text (CSV only)

    def open(self):
        """What pandas reads: the path, or a fresh stream over standard input's bytes."""
        return io.BytesIO(self.data) if self.data is not None else self.path

    def decompressed(self):
        """A binary stream of the decompressed bytes (a zip must hold exactly one file)."""
        source = self.open()
        if self.compression is None:
            return open(source, "rb") if isinstance(source, Path) else source
        if self.compression == "zip":
            archive = zipfile.ZipFile(source)
            names = [name for name in archive.namelist() if not name.endswith("/")]
            if len(names) != 1:
                raise DataError(
                    f"{self.name}: the zip archive holds {len(names)} files; expected one CSV"
                )
            return archive.open(names[0])
        return {"gzip": gzip, "bz2": bz2, "xz": lzma}[self.compression].open(source)

    def text_lines(self) -> list[str]:
        """The whole text, line by line (for messages about a few lines of a bad file)."""
        with self.decompressed() as stream:
            return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="").read().splitlines()


def open_source(path: str | PathLike) -> Source:
    """Check that `path` (or "-", standard input) holds text a CSV reader can take, or Parquet."""
    if str(path) == "-":
        name, data, file = "standard input", sys.stdin.buffer.read(), None
        raw = data[:HEAD_BYTES]
    else:
        name, data, file = str(path), None, Path(path)
        if not file.exists():
            raise DataError(f"data file not found: {file}")
        if file.is_dir():
            raise DataError(f"{file} is a directory, not a CSV file")
        try:
            with open(file, "rb") as handle:
                raw = handle.read(HEAD_BYTES)
        except OSError as error:
            raise DataError(f"cannot read {file}: {error.strerror}") from None
    if raw.startswith(PARQUET):
        return Source(name, data, file, None, True, "")
    compression = next(
        (kind for magic, kind in COMPRESSIONS.items() if raw.startswith(magic)), None
    )
    source = Source(name, data, file, compression, False, "")
    if compression is not None:
        try:
            with source.decompressed() as stream:
                raw = stream.read(HEAD_BYTES)
        except DAMAGED as error:
            raise DataError(f"{name}: cannot decompress it as {compression} ({error})") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{name} is UTF-16 text; save it as a UTF-8 CSV")
    if b"\0" in raw[:8192]:
        raise DataError(f"{name} is not a text file (it holds binary data); expected a CSV")
    try:  # the head may end inside a character: decode it as the start of a stream
        head = codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=False)
    except UnicodeDecodeError:
        raise DataError(f"{name} is not UTF-8 text; save it as a UTF-8 CSV") from None
    if not head.strip():
        raise DataError(f"{name} is empty; expected a header line and rows of values")
    return dataclasses.replace(source, head=head)


def header_of(source: Source, sep: str | None) -> tuple[list[str], str, int]:
    """(column names, separator, line of the header). Given no separator, the one of comma,
    semicolon and tab that the header line holds most of (a comma if none)."""
    lines = source.head.splitlines()
    blank = next(i for i, line in enumerate(lines) if line.strip())  # leading blank lines
    line = lines[blank]
    if sep is None:
        sep = max(SEPARATORS, key=line.count) if any(s in line for s in SEPARATORS) else ","
    names = [name.strip() for name in next(csv.reader([line], delimiter=sep))]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"{source.name}: the header names column {repeated[0]!r} more than once")
    return names, sep, blank + 1


# -- reading: fast on a good file, precise about a bad one ------------------------------------


def read_columns(
    source: Source,
    sep: str | None,
    numbers: list[str],
    texts: list[str],
    dtype: str = "float32",
    dropna: bool = False,
    advice: Callable[[str], str] = lambda column: "",
    optional: tuple[str, ...] = (),
) -> Columns:
    """The columns `numbers` as one (m, n) array of `dtype`, and `texts` as Series of the texts
    as written (NaN where blank).

    Raises DataError at a ragged row, a cell that is not a number (advice(column) is added to
    that message), a number that is not finite or beyond float32's range when dtype is float32,
    or missing values (in a number column, or a blank text except in the `optional` ones), unless
    dropna: then the rows that have them are left out and counted. Rows with no value at all
    (",,,") are skipped, as blank lines are.
    """
    header, sep, header_line = header_of(source, sep) if not source.parquet else ([], sep, 0)
    required = [name for name in texts if name not in optional]

    def diagnose(dropna: bool = False) -> None:
        _diagnose(source, sep, header, header_line, numbers, required, dtype, advice, dropna)

    frame = _read_frame(source, sep, header, header_line, numbers, texts)
    not_numbers = [name for name in numbers if not pd.api.types.is_numeric_dtype(frame[name])]
    if not_numbers or frame[frame.columns[0]].isna().any():  # only then can a row be empty
        frame = frame[~_empty_rows(frame)]
    if frame.empty:
        raise DataError(f"{source.name} has a header but no rows of data")
    if not_numbers or (not source.parquet and frame[header[-1]].isna().any()):
        diagnose(dropna)  # a cell that is not a number, or a row short of values
        for name in not_numbers:  # numbers, booleans and missing values only, by now
            frame[name] = _numbers_of(frame[name].astype(str).str.strip())
    array = _rows_of(frame, numbers, dtype)
    used = (
        np.ones(len(array), dtype=bool) if np.isfinite(array).all() else np.isfinite(array).all(1)
    )
    for name in required:
        codes, texts_seen = pd.factorize(frame[name])  # blank: -1; spaces only: told here
        blank = np.array([not text.strip() for text in texts_seen] + [True])
        used &= ~blank[codes]
    if used.all():
        return Columns(array, {name: frame[name] for name in texts})
    if not dropna or np.isinf(array[~used]).any():
        diagnose(dropna)  # names the cells; returns only if each problem is a missing value
    if not used.any():
        raise DataError(f"{source.name}: every row has a missing value; --dropna leaves none")
    return Columns(array[used], {name: frame[name][used] for name in texts}, int((~used).sum()))


def _empty_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows with no value at all: every cell missing or only spaces (",,," or ", , ,")."""
    empty = np.ones(len(frame), dtype=bool)
    for name in frame.columns:
        cells = frame[name]
        if not pd.api.types.is_numeric_dtype(cells):
            cells = cells.mask(cells.astype(str).str.strip() == "")
        empty &= cells.isna().to_numpy()
    return empty


def _rows_of(frame: pd.DataFrame, columns: list[str], dtype: str) -> np.ndarray:
    """The columns as one C-contiguous (m, n) array of dtype: the one copy of the data.

    pandas holds each column apart; the array holds each row's n values together, as torch
    wants them. Filled a block of rows at a time, so that the block being written stays in
    cache: at 1,000,000 x 32, 0.11 s, against 0.34 s column by column over all rows.
    """
    array = np.empty((len(frame), len(columns)), dtype=dtype)
    sources = [frame[name].to_numpy() for name in columns]
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float32 becomes inf
        for start in range(0, len(array), COPY_ROWS):
            block = array[start : start + COPY_ROWS]
            for j, column in enumerate(sources):
                block[:, j] = column[start : start + COPY_ROWS]
    return array


def _numbers_of(text: pd.Series) -> pd.Series:
    """Cells as numbers: NaN where missing or not a number; True/False as 1/0."""
    number = pd.to_numeric(text.mask(text.isin(MISSING)), errors="coerce")
    return number.fillna(text.str.lower().map(BOOLEANS)).astype(float)


def _read_frame(source, sep, header, header_line, numbers, texts) -> pd.DataFrame:
    """The file as a DataFrame: `texts` as the texts as written (str); every other
    column as pandas finds it (float64 or int64 for numbers: faster than asking it for float32,
    which the copy into one array then does). Unused columns are read too: a ragged row is
    found only so."""
    if source.parquet:
        return _read_parquet(source, numbers, texts)
    missing = {**{name: ("",) for name in header}, **dict.fromkeys(numbers, MISSING)}
    kinds = dict.fromkeys(texts, str)
    return _parse(source, sep, header, header_line, dtype=kinds, na_values=missing)


def _parse(source, sep, header, header_line, **options) -> pd.DataFrame:
    """pandas.read_csv with the options every read here shares; its errors as DataError."""
    try:
        return pd.read_csv(
            source.open(),
            sep=sep,
            skiprows=header_line - 1,
            header=0,
            names=header,
            index_col=False,
            keep_default_na=False,
            compression=source.compression,
            encoding="utf-8-sig",
            engine="c",
            **options,
        )
    except UnicodeDecodeError:
        raise DataError(f"{source.name} is not UTF-8 text; save it as a UTF-8 CSV") from None
    except pd.errors.ParserError as error:
        raise DataError(_parser_message(source.name, str(error), len(header))) from None
    except DAMAGED as error:
        raise DataError(f"cannot read {source.name}: {error}") from None


def _parser_message(name: str, message: str, n_columns: int) -> str:
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if ragged:
        expected, line, seen = ragged.groups()
        return (
            f"{name}, line {line}: {seen} values, but the header names {expected} columns; "
            "every row needs one value per column"
        )
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        return f'{name}, line {int(quote.group(1)) + 1}: a quote (") opens a value never closed'
    return f"{name}: {message.removeprefix('Error tokenizing data. C error: ').strip()}"


def _need_pyarrow(source: Source) -> None:
    """pandas reads Parquet through pyarrow, an optional dependency: say how to get it."""
    if importlib.util.find_spec("pyarrow") is None or sys.modules.get("pyarrow", 0) is None:
        raise DataError(
            f"{source.name} is a Parquet file; reading it needs pyarrow: "
            'pip install pyarrow (or pip install -e ".[parquet]" in a clone)'
        )


def _read_parquet(source, numbers, texts) -> pd.DataFrame:
    _need_pyarrow(source)
    frame = pd.read_parquet(source.open())
    frame.columns = [str(name).strip() for name in frame.columns]
    return frame.astype(dict.fromkeys(texts, "string"))


def _diagnose(source, sep, header, header_line, numbers, texts, dtype, advice, dropna=False):
    """Read every cell as text, with its line, and raise DataError for the first problem:
    a ragged row, a cell that is not a number, one that is not finite or beyond float32,
    missing values (unless dropna). Returns if there is none of these."""
    cells, lines, unit = _cells_as_text(source, sep, header, header_line)
    cells = cells[(cells != "").any(axis=1)]  # rows with no value at all are skipped
    lines = lines[cells.index]
    if not source.parquet:
        _check_short_rows(source, sep, cells, lines, header)
    bad = []  # (line, column's position, message) of each column's first bad cell
    for position, name in enumerate(numbers):
        text = cells[name]
        missing = text.isin(MISSING)
        number = _numbers_of(text)
        not_number = number.isna() & ~missing
        not_finite = ~not_number & ~missing & ~np.isfinite(number.fillna(0.0))
        beyond = ~not_finite & (number.abs() > FLOAT32_MAX) if dtype == "float32" else None
        for where, problem in [
            (not_number, "not a number"),
            (not_finite, "not finite: features must be finite numbers"),
            (beyond, "beyond float32's range (about ±3.4e38); rescale it"),
        ]:
            if where is None or not where.any():
                continue
            first = where.idxmax()
            value = cells.at[first, name]
            count = int(where.sum())
            message = f"{unit} {lines[first]}, column {name!r} is {value!r}, {problem}"
            message += f" (and {count - 1} more in that column)" if count > 1 else ""
            if where is not_number:
                message += _number_advice(value, name, advice)
            bad.append((lines[first], position, message))
            break
    if bad:
        raise DataError(f"{source.name}, {min(bad)[2]}")
    if dropna:
        return
    missing = {name: cells[name].isin(MISSING) for name in numbers}
    missing |= {name: cells[name] == "" for name in texts}
    parts = [
        _missing_part(name, "label" if name in texts else "value", where, cells[name], lines, unit)
        for name, where in missing.items()
        if where.any()
    ]
    if parts:
        raise DataError(
            f"{source.name}: " + "; ".join(parts) + "; leave those rows out with --dropna"
        )


def _number_advice(value: str, column: str, advice: Callable[[str], str]) -> str:
    if re.fullmatch(r"[+-]?\d*,\d+", value):
        return "; numbers here take a decimal point, not a comma"
    return advice(column)


def _missing_part(name, kind, where, texts, lines, unit) -> str:
    """'3 missing values in 'x' (lines 2, 17: 'NA', 40)': the first few lines, each with its
    text unless blank."""
    rows = np.flatnonzero(where.to_numpy())
    shown = [
        f"{lines.iloc[r]}" + (f": {texts.iloc[r]!r}" if texts.iloc[r] else "")
        for r in rows[:SHOWN_LINES]
    ]
    more = ", ..." if len(rows) > SHOWN_LINES else ""
    plural = "s" if len(rows) > 1 else ""
    return (
        f"{len(rows)} missing {kind}{plural} in {name!r} ({unit}{plural} {', '.join(shown)}{more})"
    )


def _cells_as_text(source, sep, header, header_line) -> tuple[pd.DataFrame, pd.Series, str]:
    """Every cell as text without the spaces around it ("" where empty), each row's line in
    the file, and the word for it."""
    if source.parquet:
        frame = pd.read_parquet(source.open())
        frame.columns = [str(name).strip() for name in frame.columns]
        cells = frame.astype(str).where(frame.notna(), "")
        lines, unit = pd.Series(np.arange(1, len(cells) + 1), index=cells.index), "row"
    else:
        cells = _parse(
            source, sep, header, header_line, dtype=str, na_filter=False, skip_blank_lines=False
        )
        lines, unit = pd.Series(cells.index + header_line + 1, index=cells.index), "line"
    return cells.apply(lambda column: column.str.strip()), lines, unit


def _check_short_rows(source, sep, cells, lines, header) -> None:
    """pandas fills a row that is short of values with blanks; the line itself tells."""
    suspects = lines[cells[header[-1]] == ""]
    if suspects.empty:
        return
    text = source.text_lines()
    for line in suspects:
        values = next(csv.reader([text[line - 1]], delimiter=sep))
        if len(values) < len(header):
            raise DataError(
                f"{source.name}, line {line}: {len(values)} values, but the header names "
                f"{len(header)} columns; every row needs one value per column"
            )


# -- labels: one reading of a label column, for training and for predict ----------------------


def classes_of(labels: pd.Series) -> tuple[np.ndarray, tuple[str, ...], bool]:
    """(codes (m,) int64, class names (k,), numeric): the classes of a label column, no blanks.

    numeric when every distinct label is a finite number: then labels are compared as numbers,
    so 1, 1.0, 001 and " 1 " are one class, named as _number_name writes it, and the classes
    are sorted numerically. Otherwise each label is its text less the spaces around it, and
    the classes are sorted as text. Sorted, never in order of first appearance, so the
    numbering does not depend on how the rows happen to be ordered.
    """
    codes, texts = _distinct_labels(labels)
    numbers = _label_numbers(texts)
    numeric = bool(np.isfinite(numbers).all())
    if numeric:
        values = np.unique(numbers)  # sorted, and 1 and 1.0 once
        classes = tuple(_number_name(value) for value in values)
        index = np.searchsorted(values, numbers)
    else:
        classes = tuple(sorted(set(texts)))
        index = pd.Index(classes).get_indexer(texts)
    return index.astype(np.int64)[codes], classes, numeric


def codes_for(labels: pd.Series, class_names: tuple[str, ...], numeric: bool) -> np.ndarray:
    """(m,) int64: each label's index in class_names (as classes_of numbered them), read as
    classes_of reads a numeric or a text column; -1 for a label that is none of the classes:
    one never seen in training, a blank, or with numeric classes anything not a number."""
    codes, texts = _distinct_labels(labels)  # a blank is code -1
    if numeric:
        texts = [_number_name(v) if np.isfinite(v) else None for v in _label_numbers(texts)]
    index = pd.Index(class_names).get_indexer(texts)
    return np.append(index, -1).astype(np.int64)[codes]


def class_values(class_names: tuple[str, ...], numeric: bool) -> list[int | float | str]:
    """The classes as the values they stand for, for JSON and CSV output: numbers if numeric
    (int where integral, else float), else the names. str(value) is the class name again."""
    if not numeric:
        return list(class_names)
    return [int(name) if name.lstrip("-").isdigit() else float(name) for name in class_names]


def _number_name(value: float) -> str:
    """A numeric class's name: 1.0 -> "1", 7 (written 007) -> "7", 1.5 -> "1.5".

    An integral value as an integer while float64 holds every integer around it (below 2**53);
    any other value as the shortest text that reads back as the same float (Python's repr).
    """
    value = float(value)  # repr of a numpy float64 is "np.float64(1.5)"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _distinct_labels(labels: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(codes (m,), texts): each distinct label once, less the spaces around it, and the index
    of each row's label among them (-1 where blank). The work after this is per distinct label,
    not per row."""
    codes, distinct = pd.factorize(labels)
    return codes, [str(text).strip() for text in distinct]


def _label_numbers(texts: list[str]) -> np.ndarray:
    """Each text as a float64, NaN where it is not a number. pandas reads it, not Python's
    float(), which takes "1_000" for a number: a label like "2_0" is a name."""
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


# -- the table for training -------------------------------------------------------------------


def read_table(path: str | PathLike, target: str = "Species", **options) -> Table:
    """Read and check a data file whose `target` column holds the labels and the rest features;
    or several, named by a pattern such as parts/*.csv (see data_files), as one table.

    Not features: the columns in `drop`, and columns that look like a row index (see
    INDEX_NAMES, and a column of integers 0..m-1 or 1..m) unless named in `keep`. The options
    are read_file's.
    """
    table = read_files(data_files(path), target, **options)
    check_classes(table, "standard input" if str(path) == "-" else str(path), target)
    return table


def data_files(path: str | PathLike) -> list[str]:
    """The files `path` names: the file itself, or where no file has that name and it holds *,
    ? or [, the files it matches as a pattern (as a shell would), in sorted order."""
    path = str(path)
    if path == "-" or not any(c in path for c in "*?[") or Path(path).exists():
        return [path]
    files = sorted(glob.glob(path))
    if not files:
        raise DataError(f"{path}: no such file, and no file matches it as a pattern")
    return files


def read_files(files: list[str], target: str = "Species", **options) -> Table:
    """The files' rows as one table, in the order of the files (see merged)."""
    return merged([read_file(path, target, **options) for path in files], files)


def check_classes(table: Table, name: str, target: str) -> None:
    if len(table.class_names) < 2:
        raise DataError(
            f"{name}: column {target!r} holds one class only ({table.class_names[0]!r}); "
            "a classifier needs at least 2"
        )


def merged_classes(parts: list[tuple[tuple[str, ...], bool]]) -> tuple[tuple[str, ...], bool]:
    """The classes of several parts of a label column, each given as (class names, numeric),
    numbered as classes_of numbers the classes of the whole column."""
    kinds = {numeric for _, numeric in parts}
    if len(kinds) > 1:
        raise DataError(
            "the labels are numbers in some of the files and not in others; "
            "make them all numbers or all names"
        )
    numeric = kinds.pop()
    names = set().union(*(names for names, _ in parts))
    return tuple(sorted(names, key=float if numeric else None)), numeric


def with_classes(table: Table, class_names: tuple[str, ...]) -> Table:
    """The table with its labels numbered among class_names, which include its own."""
    index = pd.Index(class_names).get_indexer(table.class_names)
    return dataclasses.replace(table, labels=index[table.labels], class_names=class_names)


def merged(tables: list[Table], names: list[str]) -> Table:
    """One table of the rows of several (the files `names`), in order, with their classes
    together; they must have the same feature columns. Notes said by several, said once."""
    if len(tables) == 1:
        return tables[0]
    first = tables[0].feature_names
    for table, name in zip(tables, names, strict=True):
        if table.feature_names != first:
            raise DataError(
                f"{name}: its features ({', '.join(table.feature_names)}) are not those of "
                f"{names[0]} ({', '.join(first)}); every file needs the same columns"
            )
    classes, numeric = merged_classes([(t.class_names, t.numeric_classes) for t in tables])
    return Table(
        feature_names=first,
        features=np.concatenate([t.features for t in tables]),
        labels=np.concatenate([with_classes(t, classes).labels for t in tables]),
        class_names=classes,
        notes=tuple(dict.fromkeys(note for t in tables for note in t.notes)),
        numeric_classes=numeric,
    )


def read_file(
    path: str | PathLike,
    target: str = "Species",
    drop: tuple[str, ...] = (),
    keep: tuple[str, ...] = (),
    dtype: str = "float32",
    sep: str | None = None,
    dropna: bool = False,
) -> Table:
    """One file as a checked table (read_table's, less its check that there are two classes:
    a file may be one part of the data)."""
    source = open_source(path)
    columns = column_names(source, sep)
    for name, role in [
        (target, "target column"),
        *((name, "column to drop") for name in drop),
        *((name, "column to keep") for name in keep),
    ]:
        if name not in columns:
            raise DataError(
                f"{source.name}: no {role} {name!r}; the columns are: {', '.join(columns)}"
            )
    named_index = [c for c in columns if is_index_name(c) and c not in keep and c != target]
    features = [c for c in columns if c not in (target, *drop, *named_index)]
    if not features:
        raise DataError(f"{source.name}: no feature columns besides the target {target!r}")
    advice = lambda column: f"; if it is not a feature, leave it out with --drop {quote(column)}"  # noqa: E731
    read = read_columns(source, sep, features, [target], dtype, dropna, advice)
    notes = [_index_note(c, "looks like a row index") for c in named_index]
    numbers, names = read.numbers, features
    counted = [
        j for j, name in enumerate(names) if name not in keep and _is_row_count(numbers[:, j])
    ]
    if counted:
        notes += [_index_note(names[j], "counts the rows") for j in counted]
        kept = [j for j in range(len(names)) if j not in counted]
        numbers, names = np.ascontiguousarray(numbers[:, kept]), [names[j] for j in kept]
        if not names:
            raise DataError(f"{source.name}: no feature columns besides the target {target!r}")
    if read.rows_dropped:
        notes.append(f"left out {read.rows_dropped} rows with missing values (--dropna)")
    labels, classes, numeric = classes_of(read.texts[target])
    return Table(
        feature_names=tuple(names),
        features=numbers,
        labels=labels,
        class_names=classes,
        notes=tuple(notes),
        numeric_classes=numeric,
    )


def _index_note(column: str, why: str) -> str:
    if not column:  # pandas' to_csv writes its index so, unless told index=False
        return f"the unnamed column {why}: not a feature"
    return f"column {column!r} {why}: not a feature (--keep {quote(column)} to use it)"


def column_names(source: Source, sep: str | None) -> list[str]:
    """The names of the file's columns, as the header (or the Parquet schema) gives them."""
    if source.parquet:
        _need_pyarrow(source)
        import pyarrow.parquet

        return [str(name).strip() for name in pyarrow.parquet.read_schema(source.open()).names]
    return header_of(source, sep)[0]


def _is_row_count(column: np.ndarray) -> bool:
    """A column of 0, 1, ..., m-1 or 1, 2, ..., m: a row index written out, not a measurement."""
    m, first = len(column), column[0]
    return (
        m >= MIN_ROWS_FOR_COUNT
        and first in (0, 1)
        and column[-1] == first + m - 1  # a cheap test first: most columns fail it
        and np.array_equal(column, np.arange(first, first + m))
    )


def read_bundled_iris(target: str = "Species", drop: tuple[str, ...] = (), **options) -> Table:
    """read_table on the bundled Iris.csv, through a real file even from a zipped install."""
    with resources.as_file(iris_path()) as path:
        return read_table(path, target=target, drop=drop, **options)


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
