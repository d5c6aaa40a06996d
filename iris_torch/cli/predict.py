"""Command line: predict with a model saved by `iris_torch.train --save`.

    python -m iris_torch.predict --model model.pt 5.1 3.5 1.4 0.2
    python -m iris_torch.predict --model model.pt --csv flowers.csv --json

Features are given raw, in the units of the training data; the model standardises them with
the training statistics it saved. With --csv, the file's columns are matched to the model's
features by name (other columns are ignored), and if it also holds the model's label column,
the accuracy on it is reported.
"""

import argparse
import json
import sys

from ..errors import DataError, UsageError
from ..files import check_model_file
from . import ArgumentParser, finite_float, run_reporting_errors
from .formatting import format_table


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog or "python -m iris_torch.predict",
        description="Predict the class of flowers (rows) with a saved iris_torch model.",
    )
    parser.add_argument("--model", metavar="PATH", required=True, help="file from train --save")
    parser.add_argument("--csv", metavar="PATH", help="predict every row of this CSV file")
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument(
        "features", nargs="*", type=finite_float, metavar="F", help="one row's feature values"
    )
    return parser


def read_rows(args: argparse.Namespace, feature_names: tuple[str, ...], target: str):
    """(rows (m, n) float64 in the model's feature order, labels as text or None)."""
    if args.csv is None:
        n = len(feature_names)
        if len(args.features) != n:
            raise UsageError(
                f"the model takes {n} feature values ({', '.join(feature_names)}); "
                f"got {len(args.features)}"
            )
        return [args.features], None
    from ..data.read import numeric_columns, read_strings

    cells = read_strings(args.csv)
    missing = [name for name in feature_names if name not in cells.header]
    if missing:
        raise DataError(
            f"{args.csv}: no column {missing[0]!r}; the model needs {', '.join(feature_names)}"
        )
    rows = numeric_columns(cells, list(feature_names))
    labels = cells.column(target) if target in cells.header else None
    return rows, labels


def predict(args: argparse.Namespace) -> dict:
    if args.csv is not None and args.features:
        raise UsageError("give feature values or --csv, not both")
    if args.csv is None and not args.features:
        raise UsageError("give the feature values of a row, or --csv PATH")
    check_model_file(args.model)  # before paying for torch

    import torch

    from .. import checkpoint

    model = checkpoint.load(args.model)
    rows, labels = read_rows(args, model.feature_names, model.target)
    X = torch.tensor(rows, dtype=torch.float64)
    if not torch.isfinite(X.to(model.weight.dtype)).all():
        raise UsageError(f"a feature value is beyond the range of the model's {model.weight.dtype}")
    probabilities = model.predict_proba(X)
    predicted = [model.class_names[j] for j in probabilities.argmax(dim=1).tolist()]
    result = {
        "model": args.model,
        "backend": model.backend,
        "feature_names": list(model.feature_names),
        "class_names": list(model.class_names),
        "predictions": [
            {"predicted": name, "probabilities": dict(zip(model.class_names, p, strict=True))}
            for name, p in zip(predicted, probabilities.tolist(), strict=True)
        ],
    }
    if labels is not None:
        correct = sum(label == name for label, name in zip(labels, predicted, strict=True))
        result["accuracy"] = correct / len(labels)
    return result


def report(result: dict) -> str:
    names = result["class_names"]
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
        result = predict(args)
        print(json.dumps(result) if args.json else report(result))
        return 0

    return run_reporting_errors(parser.prog, work)


if __name__ == "__main__":
    sys.exit(main())
