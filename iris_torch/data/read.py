"""Reading and checking a data file: the edge where bad data is turned into a sentence.

pandas reads the file (`read_csv` with its C parser, or `read_parquet`), straight into the
float type training asks for; no torch here, so the command line checks its input before it
loads torch. pandas is imported when this module is, and this module only when data are read.

A file that parses cleanly is checked with a few operations on whole columns. Only when one of
them fails is the file read a second time, every cell as text, to say which lines and which
cells are wrong: one DataError with one line that names the file, every column with such
cells (the line of its first, and the offending text), and where it helps the flag that gets
past it. Lines are counted as lines of the file, as an editor shows them: the header is line 1
(with --no-header the first row is), rows are counted from 1 in a Parquet file.
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
import math
import os
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
from ..files import opened

FLOAT32_MAX = float(np.finfo(np.float32).max)

MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "#N/A")
"""Cells that stand for a missing feature value: those of pandas' defaults that people write.
A label is missing only when blank: "None" or "NA" may well be the name of a class."""

BOOLEANS = {"true": 1.0, "false": 0.0}
"""How pandas' C parser reads True/False (any case) into a float column: as 1 and 0."""

SEPARATORS = (",", ";", "\t")
DECIMALS = (".", ",")  # the decimal marks --decimal takes

NOT_NUMBER = "not a number"
NOT_FINITE = "not finite"
BEYOND = "beyond float32's range (about ±3.4e38)"
"""The kinds of bad cell in a feature column, each column's first of each named (see _diagnose)."""

COMPRESSIONS = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"PK\x03\x04": "zip", b"\xfd7zXZ\x00": "xz"}
"""Recognised by their first bytes, not the file name: wine.csv.gz and a gzip named .csv alike."""

PARQUET = b"PAR1"
DAMAGED = (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, zlib.error)  # a bad archive

INDEX_NAMES = ("id", "index", "")
"""Column names (compared case-insensitively) that mark a row index, not a feature; so do names
ending in "_id", pandas' "Unnamed: 0" (its read_csv's name for an unnamed index column) and
"__index_level_0__" (the name to_parquet gives an unnamed index it writes)."""

COPY_ROWS = 8192  # rows per block of the copy into one array (see _rows_of)
HEAD_BYTES = 1 << 20  # read first, to check the bytes and find the header and separator
MIN_ROWS_FOR_COUNT = 20  # in a handful of rows, 1, 2, 3 may well be a measurement
SHOWN_LINES = 5  # lines listed in a message; the rest are counted
SHOWN_COLUMNS = 3  # columns of bad cells shown with their first cell (and the first of
# each kind of problem); the rest are named
SNIFFED_LINES = 5  # the first line and those after it that the separator must split alike


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
    notes: list[str] = field(default_factory=list)  # rows left out by dropna, if any


@dataclass(frozen=True)
class Layout:
    """How a file's rows are read (see layout_of): the columns' names and, for a CSV, what
    separates the values, what marks decimals, and how many lines come before the first row."""

    names: list[str]  # the header's, or with no header "0", "1", ... by position
    sep: str | None = None
    decimal: str = "."
    header: bool = True
    skip: int = 0  # lines before the first row of data: blank ones, then the header if any


def iris_path():
    """The bundled Iris.csv, found through the installed package, not the working directory."""
    return resources.files("iris_torch") / "_data" / "Iris.csv"


def is_index_name(name: str) -> bool:
    name = name.strip().lower()
    return (
        name in INDEX_NAMES
        or name.endswith("_id")
        or name.startswith(("unnamed: ", "__index_level_"))  # pandas' unnamed index, CSV, Parquet
    )


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
        with opened(file, DataError, "data file") as handle:
            raw = handle.read(HEAD_BYTES)
    if raw.startswith(PARQUET):
        return Source(name, data, file, None, True, "")
    compression = next(
        (kind for magic, kind in COMPRESSIONS.items() if raw.startswith(magic)), None
    )
    source = Source(name, data, file, compression, False, "")
    if compression is not None:
        try:
            if compression == "zip":
                _refuse_workbook(source)
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


def _refuse_workbook(source: Source) -> None:
    """A spreadsheet workbook is a zip archive too: say what it is and how to make a CSV of it.
    Known by what the archive holds, not by the file's name: Excel's .xlsx holds
    [Content_Types].xml and a folder xl/, an OpenDocument .ods a file `mimetype` naming it."""
    with zipfile.ZipFile(source.open()) as archive:
        names = archive.namelist()
        if "[Content_Types].xml" in names or any(name.startswith("xl/") for name in names):
            kind, how = "an Excel workbook", "Excel: File > Save As > CSV UTF-8"
        elif "mimetype" in names and archive.read("mimetype").startswith(
            b"application/vnd.oasis.opendocument.spreadsheet"
        ):
            kind, how = "an OpenDocument spreadsheet", "LibreOffice: File > Save As > Text CSV"
        else:
            return
    if source.path is None:
        workbook, csv_path = "path", "'data.csv'"
    else:
        csv_file = source.path.with_suffix(".csv")
        if csv_file == source.path:  # a workbook named .csv: keep it, write another file
            csv_file = source.path.with_name(f"{source.path.stem}_sheet1.csv")
        workbook, csv_path = repr(source.name), repr(str(csv_file))
    raise DataError(
        f"{source.name} is {kind}, not a CSV; save it as CSV ({how}), or in pandas: "
        f"pd.read_excel({workbook}).to_csv({csv_path}, index=False)"
    )


def layout_of(
    source: Source,
    sep: str | None = None,
    decimal: str = ".",
    header: bool = True,
    flags_name_columns: bool = False,
) -> Layout:
    """How to read the file's rows (see Layout): what the user said, and what the first line
    tells.

    Given no separator, the one of comma, semicolon and tab that the first line holds most of
    (a comma if none), never the decimal mark. With a header, a first line that holds only
    numbers is refused as a row of data, unless they are 0, 1, ..., n-1 (pandas' names for
    columns that have none); flags_name_columns: the command has --target, --drop and --keep,
    which the message then says take positions. A Parquet file names its columns in its schema
    and holds numbers, not text: it has no separator or decimal mark.
    """
    if source.parquet:
        if not header:
            raise DataError(
                f"{source.name} is a Parquet file, whose columns have names; --no-header is for "
                "a CSV without a header line"
            )
        return Layout(list(_parquet_columns(source)))
    if decimal not in DECIMALS:
        raise ValueError(f"decimal is '.' or ',', not {decimal!r}")
    lines = source.head.splitlines()
    blank = next(i for i, line in enumerate(lines) if line.strip())  # leading blank lines
    line = lines[blank]
    given = sep is not None
    if sep is None:
        sep = _separator(lines[blank : blank + SNIFFED_LINES], decimal)
    if sep == decimal and given:
        commas = "; a file with decimal commas separates its values with ';' or a tab"
        raise DataError(
            f"--sep {quote(sep)} and --decimal {decimal} name the same character: it cannot "
            f"both separate values and mark decimals{commas if decimal == ',' else ''}"
        )
    if sep == decimal:  # a comma, found for want of a semicolon or a tab
        raise DataError(
            f"{source.name}: with --decimal , its values must be separated by ';' or a tab, "
            "but its first line holds neither; values separated by commas take a decimal point: "
            "leave out --decimal ,"
        )
    cells = [cell.strip() for cell in next(csv.reader([line], delimiter=sep))]
    if not header:
        return Layout([str(j) for j in range(len(cells))], sep, decimal, False, blank)
    repeated = sorted({name for name in cells if cells.count(name) > 1})
    if repeated:
        raise DataError(f"{source.name}: the header names column {repeated[0]!r} more than once")
    numbers = _as_numbers(pd.Series(cells, dtype=object), decimal)
    if numbers.notna().all() and cells != [str(j) for j in range(len(cells))]:
        shown = ", ".join(cells[:5] + (["...", cells[-1]] if len(cells) > 5 else []))
        positions = (
            f"; --target, --drop and --keep then name columns by position, 0 to {len(cells) - 1}"
            if flags_name_columns
            else ""
        )
        raise DataError(
            f"{source.name}: its header line ({shown}) holds only numbers: it looks like a row "
            f"of data; if the file has no header line, give --no-header{positions}"
        )
    return Layout(cells, sep, decimal, True, blank + 1)


def _separator(lines: list[str], decimal: str) -> str:
    """The separator of the first lines of a CSV: of comma, semicolon and tab (never the decimal
    mark), the one that splits every line into as many values, more than one; of several, the
    one the first line holds most of (a comma if none splits). Counting alone is not enough:
    pandas writes `length, cm;width, cm;species` with as many commas as semicolons."""
    first = lines[0]
    found = sorted(
        (s for s in SEPARATORS if s in first and s != decimal), key=first.count, reverse=True
    )
    for sep in found:
        widths = {len(row) for row in csv.reader(lines, delimiter=sep) if row}
        if len(widths) == 1 and widths.pop() > 1:
            return sep
    return found[0] if found else ","


# -- reading: fast on a good file, precise about a bad one ------------------------------------


def read_columns(
    source: Source,
    layout: Layout,
    numbers: list[str],
    texts: list[str],
    dtype: str = "float32",
    dropna: bool = False,
    advice: Callable[[list[str]], str] = lambda columns: "",
    optional: tuple[str, ...] = (),
) -> Columns:
    """The columns `numbers` as one (m, n) array of `dtype`, and `texts` as Series of the texts
    as written (NaN where blank), read as `layout` (from layout_of) says.

    Raises DataError at a ragged row; at cells that are not numbers (advice(those columns) is
    added to that message), numbers that are not finite, or beyond float32's range when dtype
    is float32, naming every such column; or at missing values (in a number column, or a blank
    text except in the `optional` ones), unless dropna: then the rows that have them are left
    out, and a note says how many. Rows with no value at all (",,,") are skipped, as blank lines
    are.
    """
    required = [name for name in texts if name not in optional]

    def diagnose(dropna: bool = False) -> None:
        _diagnose(source, layout, numbers, required, dtype, advice, dropna)

    frame = _read_frame(source, layout, numbers, texts)
    not_numbers = [name for name in numbers if not pd.api.types.is_numeric_dtype(frame[name])]
    if not_numbers or frame[frame.columns[0]].isna().any():  # only then can a row be empty
        frame = frame[~_empty_rows(frame)]
    if frame.empty:
        but = "a header but " if layout.header else ""
        raise DataError(f"{source.name} has {but}no rows of data")
    if not_numbers or (not source.parquet and frame[layout.names[-1]].isna().any()):
        diagnose(dropna)  # a cell that is not a number, or a row short of values
        for name in not_numbers:  # numbers, booleans and missing values only, by now
            frame[name] = _numbers_of(frame[name].astype(str).str.strip(), layout.decimal)
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
    left_out = int((~used).sum())
    rows = f"{left_out} rows" if left_out > 1 else "1 row"
    note = f"left out {rows} with missing values (--dropna)"
    return Columns(array[used], {name: frame[name][used] for name in texts}, [note])


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


def _numbers_of(text: pd.Series, decimal: str) -> pd.Series:
    """Cells as numbers: NaN where missing or not a number; True/False as 1/0."""
    number = _as_numbers(text.mask(text.isin(MISSING)), decimal)
    return number.fillna(text.str.lower().map(BOOLEANS)).astype(float)


def _as_numbers(text: pd.Series, decimal: str) -> pd.Series:
    """Each text as a float64, NaN where it is not a number as pandas' parser reads numbers
    with this decimal mark: with a comma, "1,5" is 1.5 and "1.5" no number."""
    if decimal != ".":
        has_point = text.str.contains(".", regex=False).fillna(False).astype(bool)
        text = text.mask(has_point).str.replace(decimal, ".", n=1, regex=False)
    return pd.to_numeric(text, errors="coerce").astype(float)


def _read_frame(source, layout, numbers, texts) -> pd.DataFrame:
    """The file as a DataFrame: `texts` as the texts as written (str); every other
    column as pandas finds it (float64 or int64 for numbers: faster than asking it for float32,
    which the copy into one array then does). Unused columns are read too: a ragged row is
    found only so."""
    if source.parquet:
        return _read_parquet(source, numbers, texts)
    missing = {**{name: ("",) for name in layout.names}, **dict.fromkeys(numbers, MISSING)}
    kinds = dict.fromkeys(texts, str)
    return _parse(source, layout, dtype=kinds, na_values=missing)


def _parse(source, layout, **options) -> pd.DataFrame:
    """pandas.read_csv with the options every read here shares; its errors as DataError."""
    try:
        return pd.read_csv(
            source.open(),
            sep=layout.sep,
            decimal=layout.decimal,
            skiprows=layout.skip,
            header=None,
            names=layout.names,
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
        raise DataError(_parser_message(source.name, str(error), layout)) from None
    except DAMAGED as error:
        raise DataError(f"cannot read {source.name}: {error}") from None


def _parser_message(name: str, message: str, layout: Layout) -> str:
    ragged = re.search(r"Expected \d+ fields in line (\d+), saw (\d+)", message)
    if ragged:
        return _ragged(name, *map(int, ragged.groups()), layout)
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        return f'{name}, line {int(quote.group(1)) + 1}: a quote (") opens a value never closed'
    return f"{name}: {message.removeprefix('Error tokenizing data. C error: ').strip()}"


def _ragged(name: str, line: int, values: int, layout: Layout) -> str:
    """The message for a row with too many or too few values."""
    width = (
        f"the header names {len(layout.names)} columns"
        if layout.header
        else f"the first row has {len(layout.names)}"
    )
    return (
        f"{name}, line {line}: {values} values, but {width}; every row needs one value per column"
    )


def _need_pyarrow(source: Source) -> None:
    """pandas reads Parquet through pyarrow, an optional dependency: say how to get it."""
    if importlib.util.find_spec("pyarrow") is None or sys.modules.get("pyarrow", 0) is None:
        raise DataError(
            f"{source.name} is a Parquet file; reading it needs pyarrow: "
            'pip install pyarrow (or pip install -e ".[parquet]" in a clone)'
        )


def _read_parquet(source, numbers, texts) -> pd.DataFrame:
    return _parquet_frame(source).astype(dict.fromkeys(texts, "string"))


def _parquet_columns(source: Source) -> dict[str, range | None]:
    """A Parquet file's columns by name (layout_of's names): those its schema names (None),
    after a named index that pandas kept in its metadata alone (a RangeIndex such as Id 1, 2,
    3, ..., which to_parquet stores as its start, stop and step: the range)."""
    _need_pyarrow(source)
    import pyarrow.parquet

    file = pyarrow.parquet.ParquetFile(source.open())
    schema, length = file.schema_arrow, file.metadata.num_rows
    columns = {str(name).strip(): None for name in schema.names}
    ranges = {}
    for index in (schema.pandas_metadata or {}).get("index_columns", []):
        if isinstance(index, dict) and index.get("kind") == "range" and index.get("name"):
            rows = range(index["start"], index["stop"], index["step"])
            if len(rows) == length:  # else it is not this table's index
                ranges[str(index["name"]).strip()] = rows
    return {name: rows for name, rows in ranges.items() if name not in columns} | columns


def _parquet_frame(source: Source) -> pd.DataFrame:
    """A Parquet file's columns (_parquet_columns), every one a column. Read without pandas'
    own metadata, which would make an index that pandas wrote with the rows (__index_level_0__,
    a named one, or a named range) the frame's index instead of a column; as a column it is
    recognised as a row index by name (is_index_name), as in a CSV."""
    import pyarrow.parquet

    columns = _parquet_columns(source)
    frame = pyarrow.parquet.read_table(source.open()).to_pandas(ignore_metadata=True)
    frame.columns = [str(name).strip() for name in frame.columns]
    for position, (name, rows) in enumerate((n, r) for n, r in columns.items() if r is not None):
        frame.insert(position, name, np.asarray(rows, dtype=np.int64))
    return frame


def _diagnose(source, layout, numbers, texts, dtype, advice, dropna=False):
    """Read every cell as text, with its line, and raise DataError for the first kind of
    problem there is: a ragged row (the first); cells that are not numbers, not finite, or
    beyond float32 (every column that has them, each with its first such cell, and what to do
    said once); missing values (every column, unless dropna). Returns if there is none."""
    cells, lines, unit = _cells_as_text(source, layout)
    cells = cells[(cells != "").any(axis=1)]  # rows with no value at all are skipped
    lines = lines[cells.index]
    if not source.parquet:
        _check_short_rows(source, layout, cells, lines)
    bad = []  # (line, column's position, kind, column, cell, count) of each column's first
    for position, name in enumerate(numbers):
        text = cells[name]
        missing = text.isin(MISSING)
        number = _numbers_of(text, layout.decimal)
        not_number = number.isna() & ~missing
        not_finite = ~not_number & ~missing & ~np.isfinite(number.fillna(0.0))
        beyond = ~not_finite & (number.abs() > FLOAT32_MAX) if dtype == "float32" else None
        for kind, where in [(NOT_NUMBER, not_number), (NOT_FINITE, not_finite), (BEYOND, beyond)]:
            if where is not None and where.any():
                first = where.idxmax()
                bad.append((lines[first], position, kind, name, cells.at[first, name], where.sum()))
    if bad:
        # In detail: the first few, and the first of each kind (each kind's advice follows)
        ordered, kinds = sorted(bad), set()
        shown, named = [], []
        for entry in ordered:
            kind = entry[2]
            (shown if len(shown) < SHOWN_COLUMNS or kind not in kinds else named).append(entry)
            kinds.add(kind)
        parts = [
            f"{unit} {line}, column {name!r} is {cell!r}, {kind}"
            + (f" (and {count - 1} more in that column)" if count > 1 else "")
            for line, _, kind, name, cell, count in shown
        ]
        if rest := list(dict.fromkeys(name for _, _, _, name, *_ in named)):
            columns = f"{len(rest)} more column{'s' * (len(rest) > 1)}"
            parts.append(
                f"cells that cannot be features in {columns} too: {', '.join(map(repr, rest))}"
            )
        said = [*parts, *_bad_cell_advice(bad, layout, advice)]
        raise DataError(f"{source.name}, " + "; ".join(said))
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


def _bad_cell_advice(bad, layout, advice) -> list[str]:
    """What to do about the bad cells _diagnose found, each thing said once: the decimal mark
    where a text is a number written with the other one; the first line, where a file read
    with --no-header has a header after all; else advice(the columns of text), such as the
    --drop that leaves them out; finite numbers; float32's range."""
    kinds = {kind for _, _, kind, *_ in bad}
    texts = {name: cell for _, _, kind, name, cell, _ in bad if kind == NOT_NUMBER}
    other_mark = DECIMALS[1 - DECIMALS.index(layout.decimal)]
    written = rf"[+-]?\d*{re.escape(other_mark)}\d+(?:[eE][+-]?\d+)?"
    marked = [name for name, cell in texts.items() if re.fullmatch(written, cell)]
    said = []
    if marked and layout.decimal == ",":
        said.append("with --decimal , numbers take a decimal comma, and these have a point")
    elif marked and layout.sep == ",":
        said.append(
            "these numbers have a decimal comma, in a file whose values are separated by "
            "commas: write them with decimal points, or save the file with ';' between values "
            "and read it with --decimal ,"
        )
    elif marked:
        said.append("these numbers have a decimal comma: read them with --decimal ,")
    headed = not layout.header and kinds == {NOT_NUMBER}
    if headed and all(line == layout.skip + 1 and count == 1 for line, *_, count in bad):
        said.append(f"line {layout.skip + 1} looks like a header: leave out --no-header")
    elif unmarked := [name for name in texts if name not in marked]:
        said.append(advice(unmarked))
    if NOT_FINITE in kinds:
        said.append("features must be finite numbers")
    if BEYOND in kinds:
        said.append("rescale such values, or read them as --dtype float64")
    return [text for text in said if text]


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


def _cells_as_text(source, layout) -> tuple[pd.DataFrame, pd.Series, str]:
    """Every cell as text without the spaces around it ("" where empty), each row's line in
    the file, and the word for it."""
    if source.parquet:
        frame = _parquet_frame(source)
        cells = frame.astype(str).where(frame.notna(), "")
        lines, unit = pd.Series(np.arange(1, len(cells) + 1), index=cells.index), "row"
    else:
        cells = _parse(source, layout, dtype=str, na_filter=False, skip_blank_lines=False)
        lines, unit = pd.Series(cells.index + layout.skip + 1, index=cells.index), "line"
    return cells.apply(lambda column: column.str.strip()), lines, unit


def _check_short_rows(source, layout, cells, lines) -> None:
    """pandas fills a row that is short of values with blanks; the line itself tells."""
    suspects = lines[cells[layout.names[-1]] == ""]
    if suspects.empty:
        return
    text = source.text_lines()
    for line in suspects:
        values = next(csv.reader([text[line - 1]], delimiter=layout.sep))
        if len(values) < len(layout.names):
            raise DataError(_ragged(source.name, line, len(values), layout))


@dataclass(frozen=True)
class ModelRows:
    """A file's rows for a trained model (see read_for_model)."""

    numbers: np.ndarray  # (m, n) in the model's feature order
    labels: pd.Series | None  # the label column as text, if the file has it
    ids: tuple[str, pd.Series] | None  # the row-index column, (name, texts), if it has one
    notes: list[str]  # rows left out by dropna, if any


def read_for_model(
    path: str | PathLike,
    feature_names: tuple[str, ...],
    target: str,
    *,
    labels_required: bool = False,
    sep: str | None = None,
    decimal: str = ".",
    header: bool = True,
    dropna: bool = False,
    dtype: str = "float64",
) -> ModelRows:
    """The rows of a file for a model trained on `feature_names`: its columns matched by name
    (any others ignored; by position with header=False, as the model's are then named), the
    label column `target` as text if the file has it (required with labels_required: a file to
    test on), and its first column that looks like a row index, to carry into predictions.
    What predict --csv reads, and train --test-data. Raises DataError naming every missing
    column; the other options are read_columns'."""
    source = open_source(path)
    layout = layout_of(source, sep, decimal, header)
    columns = layout.names
    needed = [*feature_names, *([target] if labels_required else [])]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise DataError(
            f"{source.name}: no column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}; the model needs {', '.join(needed)}, and "
            f"the columns are: {', '.join(columns)}"
        )
    id_name = next((c for c in columns if is_index_name(c) and c not in feature_names), None)
    texts = [name for name in (id_name, target) if name in columns]
    optional = tuple(name for name in texts if name != target or not labels_required)
    read = read_columns(
        source, layout, list(feature_names), texts, dtype, dropna, optional=optional
    )
    return ModelRows(
        numbers=read.numbers,
        labels=read.texts[target] if target in columns else None,
        ids=None if id_name is None else (id_name, read.texts[id_name]),
        notes=read.notes,
    )


# -- labels: one reading of a label column, for training and for predict ----------------------


def classes_of(labels: pd.Series, decimal: str = ".") -> tuple[np.ndarray, tuple[str, ...], bool]:
    """(codes (m,) int64, class names (k,), numeric): the classes of a label column, no blanks.

    numeric when every distinct label is a finite number (with the file's decimal mark, as
    pandas reads its numbers: with --decimal , the label 1,5 is 1.5, named "1.5"): then labels
    are compared as numbers,
    so 1, 1.0, 001 and " 1 " are one class, named as _number_name writes it, and the classes
    are sorted numerically. Otherwise each label is its text less the spaces around it, and
    the classes are sorted as text. Sorted, never in order of first appearance, so the
    numbering does not depend on how the rows happen to be ordered.
    """
    codes, texts = _distinct_labels(labels)
    numbers = _label_numbers(texts, decimal)
    numeric = bool(np.isfinite(numbers).all())
    if numeric:
        values = np.unique(numbers)  # sorted, and 1 and 1.0 once
        classes = tuple(_number_name(value) for value in values)
        index = np.searchsorted(values, numbers)
    else:
        classes = tuple(sorted(set(texts)))
        index = pd.Index(classes).get_indexer(texts)
    return index.astype(np.int64)[codes], classes, numeric


def codes_for(
    labels: pd.Series, class_names: tuple[str, ...], numeric: bool, decimal: str = "."
) -> np.ndarray:
    """(m,) int64: each label's index in class_names (as classes_of numbered them), read as
    classes_of reads a numeric or a text column (with this file's decimal mark); -1 for a label
    that is none of the classes: one never seen in training, a blank, or with numeric classes
    anything not a number."""
    codes, texts = _distinct_labels(labels)  # a blank is code -1
    if numeric:
        numbers = _label_numbers(texts, decimal)
        texts = [_number_name(v) if np.isfinite(v) else None for v in numbers]
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


def _label_numbers(texts: list[str], decimal: str) -> np.ndarray:
    """Each text as a float64, NaN where it is not a number, as the features' numbers are read
    (_as_numbers). pandas reads it, not Python's float(), which takes "1_000" for a number: a
    label like "2_0" is a name."""
    numbers = _as_numbers(pd.Series(texts, dtype=object), decimal)
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
    name = "standard input" if str(path) == "-" else str(path)
    check_classes(table, name, target)
    check_not_continuous(table, name, target)
    return table


def data_files(path: str | PathLike) -> list[str]:
    """The files `path` names: the file itself, or where no file has that name and it holds *,
    ? or [, the files it matches as a pattern (as a shell would), in sorted order."""
    path = str(path)
    if path == "-" or not any(c in path for c in "*?[") or os.path.exists(path):
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


def check_not_continuous(table: Table, name: str, target: str, rows: int | None = None) -> None:
    """Refuse labels that look like a measurement rather than classes, as scikit-learn refuses
    them ("Unknown label type: continuous"): the usual sign that --target names a feature.
    rows: of a table that several processes hold between them, how many rows they hold in all
    (its classes are then all of theirs); by default the table's own.

    The rule: every label is a number, there are at least MIN_ROWS_FOR_COUNT rows, and more
    distinct labels than half the rows. Then some class has a single row (were each class two
    rows or more, there would be at most half as many classes as rows): no stratified split can
    hold it out and train on it too, and from one row a classifier learns nothing of a class.
    Iris's 3 classes in 150 rows and digits' 10 in 1797 are far from it; in fewer than 20 rows
    (2 classes of a 3-row file, say) a handful of numbers may well be classes.
    """
    m, k = len(table.labels) if rows is None else rows, len(table.class_names)
    if not table.numeric_classes or m < MIN_ROWS_FOR_COUNT or 2 * k <= m:
        return
    first = [table.class_names[j] for j in pd.unique(table.labels)[:3]]
    shown = ", ".join(text if len(text) <= 8 else f"{float(text):.4g}" for text in first)
    raise DataError(
        f"{name}: column {target!r} looks continuous ({k} distinct numbers in {m} rows, such "
        f"as {shown}); a classifier needs a column of classes: choose the label column with "
        "--target"
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
    decimal: str = ".",
    header: bool = True,
) -> Table:
    """One file as a checked table (read_table's, less its checks of the classes: a file may
    be one part of the data).

    sep, decimal and header say how to read a CSV (see layout_of); without a header, columns
    are named by position, "0" for the first, in `target`, `drop` and `keep` too.
    """
    source = open_source(path)
    layout = layout_of(source, sep, decimal, header, flags_name_columns=True)
    columns = layout.names
    _check_named_columns(source.name, columns, target, drop, keep)
    named_index = [c for c in columns if is_index_name(c) and c not in (*keep, *drop, target)]
    features = [c for c in columns if c not in (target, *drop, *named_index)]
    if not features:
        raise DataError(f"{source.name}: no feature columns besides the target {target!r}")
    read = read_columns(source, layout, features, [target], dtype, dropna, _drop_advice)
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
    labels, classes, numeric = classes_of(read.texts[target], layout.decimal)
    return Table(
        feature_names=tuple(names),
        features=numbers,
        labels=labels,
        class_names=classes,
        notes=tuple(notes + read.notes),
        numeric_classes=numeric,
    )


def _check_named_columns(
    name: str, columns: list[str], target: str, drop: tuple[str, ...], keep: tuple[str, ...]
) -> None:
    """Every problem with the columns the flags name, in one DataError: the target named by
    --drop or --keep (it holds the labels, never a feature), and names the file does not have."""
    problems = [
        f"--{flag} {quote(target)} names the target column, whose labels are never a feature; "
        f"leave it out of --{flag}, or choose another --target"
        for flag, names in (("drop", drop), ("keep", keep))
        if target in names
    ]
    roles = [("target column", target)]
    roles += [("column to drop", c) for c in drop] + [("column to keep", c) for c in keep]
    missing = [f"no {role} {column!r}" for role, column in roles if column not in columns]
    if missing and len(columns) == 1:  # what a wrong --sep, or none of , ; tab, gives
        problems.append(
            f"{', '.join(missing)}; the header is read as one column, {columns[0]!r}: if its "
            "names are separated by another character, name it with --sep"
        )
    elif missing:
        problems.append(f"{', '.join(missing)}; the columns are: {', '.join(columns)}")
    if problems:
        raise DataError(f"{name}: " + "; ".join(problems))


def _drop_advice(columns: list[str]) -> str:
    """read_file's advice for feature columns that hold text: the --drop that leaves them out."""
    drops = " ".join(f"--drop {quote(column)}" for column in columns)
    if len(columns) == 1:
        return f"if it is not a feature, leave it out with {drops}"
    return f"if they are not features, leave them out with {drops}"


def _index_note(column: str, why: str) -> str:
    keep = f"--keep {quote(column)} to use it"  # --keep '' for a column with no name
    if not column:  # pandas' to_csv writes its index so, unless told index=False
        return f"the unnamed column {why}: not a feature ({keep})"
    return f"column {column!r} {why}: not a feature ({keep})"


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


def held_out_rows(test_size: float | int, m: int) -> int:
    """How many of m rows a test_size holds out, as scikit-learn reads test_size: an int is a
    count of rows, a float a share of m, rounded up (so a share is never no test set)."""
    return test_size if isinstance(test_size, int) else math.ceil(test_size * m)


def check_split(class_sizes: dict[str, int], test_size: float | int) -> None:
    """A stratified split needs every class in both sets; a test size of 0 rows, none in the
    test set. Raises DataError if it cannot be done."""
    m, k = sum(class_sizes.values()), len(class_sizes)
    n_test = held_out_rows(test_size, m)
    if n_test == 0:  # every row trains: nothing to share out
        return
    smallest = min(class_sizes, key=class_sizes.get)
    if class_sizes[smallest] < 2:
        raise DataError(
            f"class {smallest!r} has only {class_sizes[smallest]} row; a stratified split needs "
            "at least 2 of each class (one to train on, one to test on); --test-size 0 trains "
            "on every row"
        )
    if not k <= n_test <= m - k:
        raise DataError(
            f"--test-size {test_size} puts {n_test} of {m} rows in the test set; each set needs "
            f"at least one row of each of the {k} classes, so choose a test size that gives "
            f"{k} to {m - k} rows (a share, or a whole number of rows), or 0 for no test set"
        )
