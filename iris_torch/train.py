"""Command line: train softmax regression on Iris, or on a CSV of your own, with any backend.

    python -m iris_torch.train --backend autograd
    python -m iris_torch.train --backend manual --epochs 500 --json
    iris-torch train --data flowers.csv --target Species

Steps: load the CSV, split it (stratified, seeded), standardise with the training rows'
statistics, train with the shared loop, then report train and test metrics and the weights.
"""

import argparse
import json
import math
import sys
from collections.abc import Callable

import torch

from . import BACKENDS, make_backend
from .data import DataError, Dataset, Standardizer, load_csv, load_iris, train_test_split
from .training import evaluate, fit

DTYPES = {"float32": torch.float32, "float64": torch.float64}
DEVICES = ("auto", "cpu", "cuda", "mps")


class UsageError(Exception):
    """Input the run cannot use: reported as one line on stderr, exit code 2."""


def _number(kind: Callable[[str], float], test: Callable[[float], bool], requirement: str):
    """An argparse type: parse with `kind`, then insist on `test` (e.g. a positive number)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} must be {requirement}")
        return value

    return parse


positive_int = _number(int, lambda v: v >= 1, "an integer of at least 1")
non_negative_int = _number(int, lambda v: v >= 0, "an integer of at least 0")
positive_float = _number(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
non_negative_float = _number(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
fraction = _number(float, lambda v: 0 < v < 1, "strictly between 0 and 1")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m iris_torch.train",
        description="Train multinomial (softmax) logistic regression with one of the backends.",
    )
    add = parser.add_argument
    add("--backend", choices=BACKENDS, default="autograd", help="implementation (%(default)s)")
    add("--data", metavar="PATH", help="CSV file (default: the bundled Iris.csv)")
    add("--target", default="Species", help="column holding the labels (%(default)s)")
    add("--epochs", type=positive_int, default=1000, help="passes over the data (%(default)s)")
    add("--lr", type=positive_float, default=0.1, help="learning rate (%(default)s)")
    add("--l2", type=non_negative_float, default=0.01, help="penalty l2*sum(W^2) (%(default)s)")
    add("--batch-size", type=positive_int, metavar="N", help="rows per step (default: all)")
    add("--test-size", type=fraction, default=0.2, help="share held out for testing (%(default)s)")
    add("--seed", type=int, default=0, help="seeds the split, init and batch order (%(default)s)")
    add(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="train on the raw features instead of standardised ones",
    )
    add("--dtype", choices=DTYPES, default="float32", help="floating-point type (%(default)s)")
    add("--device", choices=DEVICES, default="auto", help="where to compute (%(default)s)")
    add(
        "--log-every",
        type=non_negative_int,
        default=100,
        metavar="N",
        help="0: quiet (%(default)s)",
    )
    add("--json", action="store_true", help="print one JSON object and nothing else")
    return parser


def resolve_device(name: str, dtype: torch.dtype) -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; a named device must be present."""
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if name == "auto":
        name = next(d for d in ("cuda", "mps", "cpu") if available[d])
    if not available[name]:
        raise UsageError(f"--device {name} is not available on this machine; try --device cpu")
    if name == "mps" and dtype == torch.float64:
        raise UsageError("MPS has no float64; use --dtype float32 or --device cpu")
    return torch.device(name)


def load_dataset(path: str | None, target: str) -> Dataset:
    if path is None:
        return load_iris()
    try:
        return load_csv(path, target=target)
    except FileNotFoundError:
        raise UsageError(f"data file not found: {path}") from None
    except DataError as error:
        raise UsageError(str(error)) from None


def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict:
    """Load, split, standardise, train and evaluate; return the summary as plain data."""
    dtype = DTYPES[args.dtype]
    device = resolve_device(args.device, dtype)
    dataset = load_dataset(args.data, args.target)
    X_train, X_test, y_train, y_test = train_test_split(
        dataset.X, dataset.y, test_size=args.test_size, seed=args.seed
    )
    if args.standardize:
        standardizer = Standardizer.fit(X_train)
        X_train, X_test = standardizer.transform(X_train), standardizer.transform(X_test)
    X_train, X_test = (X.to(dtype=dtype, device=device) for X in (X_train, X_test))
    y_train, y_test = y_train.to(device), y_test.to(device)

    model = make_backend(
        args.backend,
        dataset.n_features,
        dataset.n_classes,
        lr=args.lr,
        l2=args.l2,
        seed=args.seed,
        dtype=dtype,
        device=device,
    )
    log(
        f"{model.name} backend on {device}, {args.dtype}: {len(y_train)} training rows, "
        f"{len(y_test)} test rows, {dataset.n_features} features, {dataset.n_classes} classes"
    )
    fit(
        model,
        X_train,
        y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        X_val=X_test,
        y_val=y_test,
        log_every=args.log_every,
        log=log,
    )
    train, test = evaluate(model, X_train, y_train), evaluate(model, X_test, y_test)
    params = model.get_params()
    return {
        "backend": model.name,
        "data": args.data or "bundled Iris.csv",
        "target": args.target,
        "epochs": args.epochs,
        "lr": args.lr,
        "l2": args.l2,
        "batch_size": args.batch_size,
        "test_size": args.test_size,
        "seed": args.seed,
        "standardize": args.standardize,
        "dtype": args.dtype,
        "device": str(device),
        "n_train": len(y_train),
        "n_test": len(y_test),
        "class_names": list(dataset.class_names),
        "feature_names": list(dataset.feature_names),
        "train_loss": model.loss(X_train, y_train).item(),
        "train_cross_entropy": train.cross_entropy,
        "train_accuracy": train.accuracy,
        "test_loss": test.cross_entropy,
        "test_accuracy": test.accuracy,
        "perplexity": math.exp(test.cross_entropy),
        "weight": params["weight"].tolist(),
        "bias": params["bias"].tolist(),
    }


def report(summary: dict) -> str:
    """The human-readable summary: metrics, then the weights as a feature-by-class table."""
    n_train, n_test = summary["n_train"], summary["n_test"]
    train_correct = round(summary["train_accuracy"] * n_train)
    test_correct = round(summary["test_accuracy"] * n_test)
    scale = "standardised" if summary["standardize"] else "raw"
    lines = [
        "",
        f"Train set: loss {summary['train_loss']:.4f} (cross-entropy "
        f"{summary['train_cross_entropy']:.4f} + L2 penalty), "
        f"accuracy {train_correct}/{n_train} ({summary['train_accuracy']:.1%})",
        f"Test set: cross-entropy {summary['test_loss']:.4f}, "
        f"perplexity {summary['perplexity']:.4f}, "
        f"accuracy {test_correct}/{n_test} ({summary['test_accuracy']:.1%})",
        "",
        f"Learned weights ({scale} features) and biases, one column per class:",
    ]
    rows = [
        *zip(summary["feature_names"], summary["weight"], strict=True),
        ("(bias)", summary["bias"]),
    ]
    names = summary["class_names"]
    first = max(len(name) for name, _ in rows)
    widths = [max(len(name), 9) for name in names]
    lines.append(" " * first + "".join(f"  {n:>{w}}" for n, w in zip(names, widths, strict=True)))
    for name, values in rows:
        lines.append(
            f"{name:<{first}}"
            + "".join(f"  {v:>{w}.4f}" for v, w in zip(values, widths, strict=True))
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    quiet = args.json or args.log_every == 0

    def log(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    try:
        summary = run(args, log)
    except UsageError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary) if args.json else report(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
