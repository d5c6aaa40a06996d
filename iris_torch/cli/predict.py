"""Command line: predict with a model saved by `iris_torch.train --save`.

    python -m iris_torch.predict --model model.pt 5.1 3.5 1.4 0.2
    python -m iris_torch.predict --model model.pt --csv flowers.csv --json
    python -m iris_torch.predict --model model.pt --csv big.csv.gz --out predictions.csv

Features are given raw, in the units of the training data; the model standardises them with
the training statistics it saved. With --csv, the file is read as train reads --data, and its
columns are matched to the model's features by name (other columns are ignored); if it also
holds the model's label column, the accuracy on it is reported. Those labels are read as
training read the model's (data/read.py: compared as numbers when the classes are numbers, so
1.0 is class 1); rows whose label the model does not know are counted, named in a note on
stderr, and left out of the accuracy. With --out, the predictions go to a file that pandas
reads back: the input's id column if it has one, the predicted class (a number when the classes
are numbers), and each class's probability at full precision. Its suffix says how it is
written (OUT_SUFFIXES): CSV or tab-separated, compressed or not, or Parquet.
"""

import argparse
import gzip
import importlib.util
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError
from ..files import atomic_path, check_model_file
from . import (
    DECIMAL,
    ArgumentParser,
    check_no_clash,
    check_writable,
    counted_labels,
    finite_float,
    run_as_program,
    run_reporting_errors,
    separator,
    unknown_note,
)
from .formatting import format_table

if TYPE_CHECKING:
    import pandas

TABLES = {".csv": ",", ".tsv": "\t"}  # text tables --out writes, by suffix: their separators
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz"}  # as the reader reads
OUT_SUFFIXES = "; ".join(
    [
        ", ".join([*TABLES, *(f".csv{c}" for c in COMPRESSIONS)]) + " (.tsv.gz and so on too)",
        ".parquet (needs pyarrow)",
    ]
)


def out_format(path: str) -> tuple[str, str | None]:
    """How --out writes `path`, from its suffix: (".csv", ".tsv" or ".parquet", the compression
    or None). Refused (UsageError) before any work: another suffix, and Parquet without pyarrow,
    rather than a file that its name misdescribes."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes[-2:]]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression is not None:
        suffixes.pop()
    kind = suffixes[-1] if suffixes else ""
    if kind == ".parquet" and compression is None:
        if importlib.util.find_spec("pyarrow") is None:
            raise UsageError(
                f"--out {path}: writing Parquet needs pyarrow: pip install pyarrow "
                '(or pip install -e ".[parquet]" in a clone)'
            )
        return kind, None
    if kind not in TABLES:
        raise UsageError(f"--out {path}: predict writes files named by their kind: {OUT_SUFFIXES}")
    return kind, compression


def write_table(table: "pandas.DataFrame", path: str) -> None:
    """The predictions to `path`, as its suffix says (out_format), atomically."""
    kind, compression = out_format(path)
    with atomic_path(path) as temporary:
        if kind == ".parquet":
            table.to_parquet(temporary, index=False)
            return
        name = Path(path).name[: -len(Path(path).suffix)]  # the file inside: p.csv of p.csv.gz
        if compression == "gzip":
            # gzip keeps a file name in its header, which gunzip -N and 7-Zip restore: ours,
            # not pandas' (the temporary file's)
            with open(temporary, "wb") as raw, gzip.GzipFile(name, "wb", fileobj=raw) as packed:
                with io.TextIOWrapper(packed, encoding="utf-8", newline="") as text:
                    table.to_csv(text, index=False, sep=TABLES[kind])
            return
        # named explicitly: the temporary file's own suffix (.tmp) would say "no compression"
        method = None if compression is None else {"method": compression}
        if compression == "zip":  # the archive's one file
            method["archive_name"] = name
        table.to_csv(temporary, index=False, sep=TABLES[kind], compression=method)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog or "python -m iris_torch.predict",
        description="Predict the class of flowers (rows) with a saved iris_torch model.",
    )
    parser.add_argument("--model", metavar="PATH", required=True, help="file from train --save")
    parser.add_argument(
        "--csv", metavar="PATH", help="predict every row of this file (as train --data reads)"
    )
    parser.add_argument("--sep", type=separator, help="the CSV's separator (default: found)")
    parser.add_argument("--decimal", **DECIMAL)
    parser.add_argument(
        "--no-header",
        dest="header",
        action="store_false",
        help="the CSV has no header line: its columns are named by position, 0, 1, ..., as the "
        "model's are when it was trained with --no-header",
    )
    parser.add_argument(
        "--dropna",
        action="store_true",
        help="leave out rows with a missing feature value (a note says how many)",
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        help="write the predictions to PATH, in the format its name ends with: .csv or .tsv, "
        "each may be compressed with .gz, .bz2, .zip or .xz (p.csv.gz); or .parquet. - writes "
        "CSV to standard output (not with --json; the accuracy then goes to stderr)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument(
        "features", nargs="*", type=finite_float, metavar="F", help="one row's feature values"
    )
    return parser


def read_rows(
    args: argparse.Namespace,
    feature_names: tuple[str, ...],
    target: str,
    notes: list[str],
):
    """(X (m, n) float64 in the model's feature order, labels or None, ids or None).

    labels: the file's column `target` as text, if it has one; ids: its first column that
    looks like a row index (see read.py), as (name, texts), to carry into --out. With
    --dropna, the rows with a missing feature value are left out of all three alike, and
    `notes` gets the note that says how many, for stderr.
    """
    if args.csv is None:
        n = len(feature_names)
        if len(args.features) != n:
            raise UsageError(
                f"the model takes {n} feature values ({', '.join(feature_names)}); "
                f"got {len(args.features)}"
            )
        return np.array([args.features], dtype=np.float64), None, None
    from ..data.read import read_for_model

    read = read_for_model(
        args.csv,
        feature_names,
        target,
        sep=args.sep,
        decimal=args.decimal,
        header=args.header,
        dropna=args.dropna,
    )
    notes += read.notes
    return read.numbers, read.labels, read.ids


def predict(args: argparse.Namespace) -> tuple[dict, "pandas.DataFrame | None", list[str]]:
    """The result for --json and the text report, the predictions as a table for --out, and
    notes for stderr.

    class_names and each "predicted" are the classes' values (class_values: numbers when the
    model's classes are numbers); probabilities are keyed by the class names, as text. Given
    labels, "accuracy" is over the rows whose label the model knows, and null when there is
    none; "unknown_labels" counts the other rows by label (as written, less spaces; "" where
    blank), most frequent first, and is there only when there are such rows.
    """
    if args.csv is not None and args.features:
        raise UsageError("give feature values or --csv, not both")
    if args.csv is None and not args.features:
        raise UsageError("give the feature values of a row, or --csv PATH")
    if args.out == "-" and args.json:
        raise UsageError(
            "--out - writes the predictions to standard output, where --json would print its "
            "summary: give --out a file name, or leave out --json"
        )
    reads = [("--model", args.model)] + ([] if args.csv is None else [("--csv", args.csv)])
    check_no_clash(reads, [] if args.out is None else [("--out", args.out)])
    if args.out is not None and args.out != "-":
        out_format(args.out)
        check_writable(args.out, "--out")
    check_model_file(args.model)  # before paying for torch

    import torch

    from .. import checkpoint
    from ..data.read import class_values, codes_for

    model = checkpoint.load(args.model)
    notes: list[str] = []
    rows, labels, ids = read_rows(args, model.feature_names, model.target, notes)
    X = torch.from_numpy(rows)
    if not torch.isfinite(X.to(model.weight.dtype)).all():
        raise UsageError(f"a feature value is beyond the range of the model's {model.weight.dtype}")
    probabilities = model.predict_proba(X).numpy()
    chosen = probabilities.argmax(axis=1)  # each row's class index
    values = class_values(model.class_names, model.numeric_classes)
    # int64 or float64 for numbers, so that to_csv writes what read_csv reads back as numbers
    predicted = np.array(values, dtype=None if model.numeric_classes else object)[chosen]
    result = {
        "model": args.model,
        "backend": model.backend,
        "feature_names": list(model.feature_names),
        "class_names": values,
    }
    if labels is not None:
        codes = codes_for(labels, model.class_names, model.numeric_classes, args.decimal)
        known = codes >= 0
        result["accuracy"] = float((chosen[known] == codes[known]).mean()) if known.any() else None
        if not known.all():
            result["unknown_labels"] = unknown = counted_labels(labels[~known])
            notes.append(unknown_note(unknown, int(known.sum())))
    table = None
    if args.out is not None:
        import pandas

        columns = {} if ids is None else {ids[0]: _ids_as_values(ids[1])}
        columns["predicted"] = predicted
        columns |= {f"p_{name}": probabilities[:, j] for j, name in enumerate(model.class_names)}
        table = pandas.DataFrame(columns)
        result |= {"out": args.out, "rows": len(table)}
    else:
        result["predictions"] = [
            {"predicted": name, "probabilities": dict(zip(model.class_names, p, strict=True))}
            for name, p in zip(predicted.tolist(), probabilities.tolist(), strict=True)
        ]
    return result, table, notes


def _ids_as_values(ids: "pandas.Series") -> np.ndarray:
    """The id column as numbers when every id is one (as pandas would read it back from a CSV),
    else as text: a Parquet file keeps the type, and a join on int ids needs ints."""
    import pandas

    numbers = pandas.to_numeric(ids, errors="coerce")
    return (numbers if numbers.notna().all() else ids).to_numpy()


def report(result: dict) -> str:
    """The text on standard output: the predictions (with --out, they are in the file), and the
    accuracy where the rows had labels."""
    names = [str(value) for value in result["class_names"]]  # the probabilities' keys
    if "out" in result:
        if result.get("accuracy") is None:
            return ""
        return f"Accuracy against the file's labels: {result['accuracy']:.1%}"
    predictions = result["predictions"]
    if len(predictions) == 1:
        (only,) = predictions
        lines = [f"Predicted class: {only['predicted']}", "", "Probabilities:"]
        lines += format_table(
            names, ["probability"], [[only["probabilities"][n]] for n in names], cell=_p
        )
        return "\n".join(lines)
    lines = format_table(
        [f"row {i}" for i in range(1, len(predictions) + 1)],
        ["predicted", *names],
        [[str(p["predicted"]), *(p["probabilities"][n] for n in names)] for p in predictions],
        cell=lambda value: value if isinstance(value, str) else _p(value),
    )
    if result.get("accuracy") is not None:
        lines += ["", f"Accuracy against the file's labels: {result['accuracy']:.1%}"]
    return "\n".join(lines)


def _p(value: float) -> str:
    return f"{value:.4f}"


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)

    def work() -> int:
        result, table, notes = predict(args)
        for note in notes:
            print(f"{parser.prog}: note: {note}", file=sys.stderr)
        if args.out == "-":  # stdout holds the table: the accuracy goes to stderr
            table.to_csv(sys.stdout, index=False)
            if text := report(result):
                print(f"{parser.prog}: {text}", file=sys.stderr)
            return 0
        if table is not None:
            write_table(table, args.out)
            rows = f"{len(table)} prediction{'s' * (len(table) != 1)}"
            print(f"{parser.prog}: wrote {rows} to {args.out}", file=sys.stderr)
        text = json.dumps(result) if args.json else report(result)
        if text:
            print(text)
        return 0

    return run_reporting_errors(parser.prog, work)


if __name__ == "__main__":
    run_as_program(main)
