"""Command line: predict with a model saved by `iris_torch.train --save`.

    python -m iris_torch.predict --model model.pt 5.1 3.5 1.4 0.2
    python -m iris_torch.predict --model model.pt --csv flowers.csv --json
    python -m iris_torch.predict --model model.pt --csv big.csv.gz --out predictions.csv

Features are given raw, in the units of the training data; the model standardises them with
the training statistics it saved. With --csv, the file is read as train reads --data, and its
columns are matched to the model's features by name (other columns are ignored); if it also
holds the model's label column, the accuracy on it is reported. With --out, the predictions go
to a CSV file that pandas reads back: the input's id column if it has one, the predicted class,
and each class's probability at full precision.
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


def predict(args: argparse.Namespace) -> tuple[dict, "pandas.DataFrame | None"]:
    """The result for --json and the text report, and the predictions as a table for --out."""
    if args.csv is not None and args.features:
        raise UsageError("give feature values or --csv, not both")
    if args.csv is None and not args.features:
        raise UsageError("give the feature values of a row, or --csv PATH")
    if args.out is not None and args.out != "-":
        check_writable(args.out, "--out")
    check_model_file(args.model)  # before paying for torch

    import torch

    from .. import checkpoint

    model = checkpoint.load(args.model)
    rows, labels, ids = read_rows(args, model.feature_names, model.target)
    X = torch.from_numpy(rows)
    if not torch.isfinite(X.to(model.weight.dtype)).all():
        raise UsageError(f"a feature value is beyond the range of the model's {model.weight.dtype}")
    probabilities = model.predict_proba(X).numpy()
    predicted = np.asarray(model.class_names, dtype=object)[probabilities.argmax(axis=1)]
    result = {
        "model": args.model,
        "backend": model.backend,
        "feature_names": list(model.feature_names),
        "class_names": list(model.class_names),
    }
    if labels is not None:
        result["accuracy"] = float((labels.str.strip().to_numpy(dtype=object) == predicted).mean())
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
    return result, table


def report(result: dict) -> str:
    names = result["class_names"]
    if "out" in result:
        lines = [f"Wrote {result['rows']} predictions to {result['out']}"]
        if "accuracy" in result:
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
        [[p["predicted"], *(p["probabilities"][n] for n in names)] for p in predictions],
        cell=lambda value: value if isinstance(value, str) else _p(value),
    )
    if "accuracy" in result:
        lines += ["", f"Accuracy against the file's labels: {result['accuracy']:.1%}"]
    return "\n".join(lines)


def _p(value: float) -> str:
    return f"{value:.4f}"


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)

    def work() -> int:
        result, table = predict(args)
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
