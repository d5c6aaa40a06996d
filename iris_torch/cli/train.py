"""Command line: train softmax regression on Iris, or on a CSV of your own, with any backend.

    python -m iris_torch.train --backend autograd
    python -m iris_torch.train --backend manual --epochs 500 --json
    iris-torch train --data flowers.csv --target Species --save model.pt --plot run.png

Steps: read and check the CSV, split it (stratified, seeded), standardise with the training
rows' statistics, train with the shared loop, then report train and test metrics and the
weights. Everything that can be checked is checked first, before torch is even imported.
"""

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import BACKENDS
from ..errors import DivergenceError, UsageError
from . import (
    ArgumentParser,
    check_matplotlib,
    check_writable,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    run_reporting_errors,
    seed,
    separator,
)
from .formatting import format_table

if TYPE_CHECKING:
    from ..data.read import Table

DTYPES = ("float32", "float64")
DEVICES = ("auto", "cpu", "cuda", "mps")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog or "python -m iris_torch.train",
        description="Train multinomial (softmax) logistic regression with one of the backends.",
    )
    add = parser.add_argument
    add("--backend", choices=BACKENDS, default="autograd", help="implementation (%(default)s)")
    add(
        "--data",
        metavar="PATH",
        help="CSV file, compressed or not, Parquet, or - for standard input (default: Iris)",
    )
    add("--target", default="Species", help="column holding the labels (%(default)s)")
    add(
        "--drop",
        metavar="COL",
        action="append",
        default=[],
        help="a column that is not a feature (repeatable); Id-like columns are dropped anyway",
    )
    add(
        "--keep",
        metavar="COL",
        action="append",
        default=[],
        help="an Id-like column to use as a feature after all (repeatable)",
    )
    add("--sep", type=separator, help="the CSV's separator (default: found from the header)")
    add("--dropna", action="store_true", help="leave out rows with missing values")
    add("--epochs", type=positive_int, default=1000, help="passes over the data (%(default)s)")
    add("--lr", type=positive_float, default=0.1, help="learning rate (%(default)s)")
    add("--l2", type=non_negative_float, default=0.01, help="penalty l2*sum(W^2) (%(default)s)")
    add("--batch-size", type=positive_int, metavar="N", help="rows per step (default: all)")
    add("--test-size", type=fraction, default=0.2, help="share held out for testing (%(default)s)")
    add("--seed", type=seed, default=0, help="seeds the split, init and batch order (%(default)s)")
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
    add("--save", metavar="PATH", help="write the trained model here (for iris_torch.predict)")
    add("--plot", metavar="PATH", help="write a PNG of the loss curves and confusion matrix")
    return parser


def check_inputs(args: argparse.Namespace) -> "Table":
    """Everything that can be checked without torch, so that a mistake costs no waiting.

    The reader is imported here, not at the top, so that a mistyped flag is answered before
    even that loads.
    """
    for flag, path in (("--save", args.save), ("--plot", args.plot)):
        if path is not None:
            check_writable(path, flag)
    if args.plot is not None:
        check_matplotlib("--plot")

    from ..data.read import check_split, read_bundled_iris, read_table

    options = dict(
        target=args.target,
        drop=tuple(args.drop),
        keep=tuple(args.keep),
        dtype=args.dtype,
        sep=args.sep,
        dropna=args.dropna,
    )
    if args.data is None:
        table = read_bundled_iris(**options)
    else:
        table = read_table(args.data, **options)
    check_split(table.class_sizes(), args.test_size)
    return table


def resolve_device(name: str, dtype: str):
    """'auto' picks CUDA, then Apple's MPS, then the CPU; a named device must be present."""
    import torch

    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if name == "auto":
        name = next(d for d in ("cuda", "mps", "cpu") if available[d])
    if not available[name]:
        raise UsageError(f"--device {name} is not available on this machine; try --device cpu")
    if name == "mps" and dtype == "float64":
        raise UsageError("MPS has no float64; use --dtype float32 or --device cpu")
    return torch.device(name)


def train(args: argparse.Namespace, table: "Table", log: Callable[[str], None]) -> dict:
    """Split, standardise, train, evaluate; save and plot if asked. Returns the summary."""
    import torch

    from .. import checkpoint
    from ..backends import make_backend
    from ..backends.memory import keep_freed_memory
    from ..data.prepare import Standardizer, dataset_from_table, train_test_split
    from ..metrics import confusion_matrix, per_class
    from ..training import evaluate, fit

    dtype = getattr(torch, args.dtype)
    device = resolve_device(args.device, args.dtype)
    keep_freed_memory()  # this process trains: reuse each step's buffers (see memory.py)
    for note in table.notes:
        log(note)
    dataset = dataset_from_table(table)
    X_train, X_test, y_train, y_test = train_test_split(
        dataset.X, dataset.y, test_size=args.test_size, seed=args.seed
    )
    standardizer = Standardizer.fit(X_train) if args.standardize else None
    if standardizer is not None:
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
    try:
        history = fit(
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
    except DivergenceError as error:
        advice = f"try a smaller --lr (it was {args.lr})"
        if not args.standardize:
            advice += ", or leave out --no-standardize: unscaled features need a far smaller one"
        raise DivergenceError(error.epoch, error.loss, advice) from None
    train_result, test_result = evaluate(model, X_train, y_train), evaluate(model, X_test, y_test)
    confusion = confusion_matrix(y_test, model.predict(X_test), dataset.n_classes)
    params = model.get_params()
    hyperparameters = {
        key: getattr(args, key)
        for key in ("epochs", "lr", "l2", "batch_size", "test_size", "seed", "standardize", "dtype")
    }
    summary = {
        "backend": model.name,
        "data": args.data or "bundled Iris.csv",
        "target": args.target,
        "drop": args.drop,
        "notes": list(table.notes),
        **hyperparameters,
        "device": str(device),
        "n_train": len(y_train),
        "n_test": len(y_test),
        "class_names": list(dataset.class_names),
        "feature_names": list(dataset.feature_names),
        "train_loss": model.loss(X_train, y_train).item(),
        "train_cross_entropy": train_result.cross_entropy,
        "train_accuracy": train_result.accuracy,
        "test_loss": test_result.cross_entropy,
        "test_accuracy": test_result.accuracy,
        "perplexity": math.exp(test_result.cross_entropy),
        "per_class": per_class(confusion, dataset.class_names),
        "confusion_matrix": confusion.tolist(),
        "weight": params["weight"].tolist(),
        "bias": params["bias"].tolist(),
    }
    if args.plot is not None:
        from ..plots import save_training_figure

        title = f"{model.name} backend on {summary['data']}"
        save_training_figure(args.plot, history, confusion, dataset.class_names, title)
    if args.save is not None:
        checkpoint.save(
            checkpoint.Checkpoint(
                backend=model.name,
                weight=params["weight"].cpu(),
                bias=params["bias"].cpu(),
                feature_names=dataset.feature_names,
                class_names=dataset.class_names,
                target=args.target,
                mean=None if standardizer is None else standardizer.mean,
                std=None if standardizer is None else standardizer.std,
                hyperparameters=hyperparameters,
            ),
            args.save,
        )
    return summary


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def report(summary: dict) -> str:
    """The human-readable summary: metrics, per-class scores, confusion matrix, weights."""
    n_train, n_test = summary["n_train"], summary["n_test"]
    train_correct = round(summary["train_accuracy"] * n_train)
    test_correct = round(summary["test_accuracy"] * n_test)
    scale = "standardised" if summary["standardize"] else "raw"
    names = summary["class_names"]
    per_class = summary["per_class"]
    return "\n".join(
        [
            "",
            f"Train set: loss {summary['train_loss']:.4f} (cross-entropy "
            f"{summary['train_cross_entropy']:.4f} + L2 penalty), "
            f"accuracy {train_correct}/{n_train} ({summary['train_accuracy']:.1%})",
            f"Test set: cross-entropy {summary['test_loss']:.4f}, "
            f"perplexity {summary['perplexity']:.4f}, "
            f"accuracy {test_correct}/{n_test} ({summary['test_accuracy']:.1%})",
            "",
            "Per class on the test set:",
            *format_table(
                names,
                ["precision", "recall", "rows"],
                [[_score(c["precision"]), _score(c["recall"]), c["support"]] for c in per_class],
            ),
            "",
            "Confusion matrix on the test set (rows: true class, columns: predicted):",
            *format_table(names, names, summary["confusion_matrix"]),
            "",
            f"Learned weights ({scale} features) and biases, one column per class:",
            *format_table(
                [*summary["feature_names"], "(bias)"],
                names,
                [*summary["weight"], summary["bias"]],
                cell=lambda value: f"{value:.4f}",
            ),
        ]
    )


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    quiet = args.json or args.log_every == 0

    def log(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    def work() -> int:
        summary = train(args, check_inputs(args), log)
        print(json.dumps(summary) if args.json else report(summary))
        return 0

    return run_reporting_errors(parser.prog, work)


if __name__ == "__main__":
    sys.exit(main())
