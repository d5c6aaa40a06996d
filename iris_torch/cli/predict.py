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
stderr, and left out of the accuracy. With --out, the predictions go to a CSV file that pandas
reads back: the input's id column if it has one, the predicted class (a number when the classes
are numbers), and each class's probability at full precision.
"""

import argparse
import json
import sys
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, UsageError
from ..files import atomic_path, check_model_file
from . import ArgumentParser, check_writable, finite_float, run_reporting_errors, separator
from .formatting import format_table

if TYPE_CHECKING:
    import pandas

SHOWN_LABELS = 5  # unknown labels named in the note; the rest are counted


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
    parser.add_argument(
        "--out", metavar="PATH", help="write the predictions as CSV to PATH (- for stdout)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument(
        "features", nargs="*", type=finite_float, metavar="F", help="one row's feature values"
    )
    return parser


def read_rows(args: argparse.Namespace, feature_names: tuple[str, ...], target: str):
    """(X (m, n) float64 in the model's feature order, labels or None, ids or None).

    labels: the file's column `target` as text, if it has one; ids: its first column that
    looks like a row index (see read.py), as (name, texts), to carry into --out.
    """
    if args.csv is None:
        n = len(feature_names)
        if len(args.features) != n:
            raise UsageError(
                f"the model takes {n} feature values ({', '.join(feature_names)}); "
                f"got {len(args.features)}"
            )
        return np.array([args.features], dtype=np.float64), None, None
    from ..data.read import column_names, is_index_name, open_source, read_columns

    source = open_source(args.csv)
    columns = column_names(source, args.sep)
    missing = [name for name in feature_names if name not in columns]
    if missing:
        raise DataError(
            f"{source.name}: no column {missing[0]!r}; the model needs {', '.join(feature_names)}"
        )
    id_name = next((c for c in columns if is_index_name(c) and c not in feature_names), None)
    texts = [name for name in (id_name, target) if name in columns]
    read = read_columns(
        source, args.sep, list(feature_names), texts, "float64", optional=tuple(texts)
    )
    labels = read.texts[target] if target in columns else None
    ids = None if id_name is None else (id_name, read.texts[id_name])
    return read.numbers, labels, ids


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
    if args.out is not None and args.out != "-":
        check_writable(args.out, "--out")
    check_model_file(args.model)  # before paying for torch

    import torch

    from .. import checkpoint
    from ..data.read import class_values, codes_for

    model = checkpoint.load(args.model)
    rows, labels, ids = read_rows(args, model.feature_names, model.target)
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
    notes = []
    if labels is not None:
        codes = codes_for(labels, model.class_names, model.numeric_classes)
        known = codes >= 0
        result["accuracy"] = float((chosen[known] == codes[known]).mean()) if known.any() else None
        if not known.all():
            result["unknown_labels"] = unknown = _counted_labels(labels[~known])
            notes.append(_unknown_note(unknown, int(known.sum())))
    table = None
    if args.out is not None:
        import pandas

        columns = {} if ids is None else {ids[0]: ids[1].to_numpy()}
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


def _counted_labels(labels: "pandas.Series") -> dict[str, int]:
    """{label: rows}, most rows first (then in text order): labels less spaces, "" if blank."""
    counts = labels.fillna("").str.strip().value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {text: int(n) for text, n in ordered}


def _unknown_note(unknown: dict[str, int], known: int) -> str:
    """'3 rows have labels the model does not know ('x' 2 rows, 'y' 1 row); accuracy is ...'"""
    rows = sum(unknown.values())
    shown = [f"{text!r} {n} row{'s' if n != 1 else ''}" for text, n in unknown.items()]
    shown = shown[:SHOWN_LABELS] + (["..."] if len(shown) > SHOWN_LABELS else [])
    subject = f"{rows} rows have labels" if rows != 1 else "1 row has a label"
    verdict = (
        f"accuracy is over the other {known}"
        if known
        else "no row has a label the model knows, so there is no accuracy"
    )
    return f"{subject} the model does not know ({', '.join(shown)}); {verdict}"


def report(result: dict) -> str:
    names = [str(value) for value in result["class_names"]]  # the probabilities' keys
    if "out" in result:
        lines = [f"Wrote {result['rows']} predictions to {result['out']}"]
        if result.get("accuracy") is not None:
            lines.append(f"Accuracy against the file's labels: {result['accuracy']:.1%}")
        return "\n".join(lines)
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
        if args.out == "-":
            table.to_csv(sys.stdout, index=False)
            return 0
        if table is not None:
            with atomic_path(args.out) as path:
                table.to_csv(path, index=False)
        print(json.dumps(result) if args.json else report(result))
        return 0

    return run_reporting_errors(parser.prog, work)


if __name__ == "__main__":
    sys.exit(main())
