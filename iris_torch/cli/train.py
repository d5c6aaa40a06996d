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
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import BACKENDS
from ..errors import DivergenceError, TrainingInterrupted, UsageError
from . import (
    DECIMAL,
    ArgumentParser,
    check_no_clash,
    check_plot_path,
    check_writable,
    counted_labels,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    run_as_program,
    run_reporting_errors,
    same_file,
    seed,
    separator,
    test_size,
    unknown_note,
)
from .formatting import format_table

if TYPE_CHECKING:
    import torch

    from ..data.prepare import Dataset
    from ..data.read import Table
    from .processes import Alone, Together

DTYPES = ("float32", "float64")
CLASS_WEIGHTS = ("none", "balanced")
DEFAULT_TEST_SIZE = 0.2
HYPERPARAMETERS = (
    "epochs",
    "lr",
    "l2",
    "batch_size",
    "test_size",
    "seed",
    "standardize",
    "dtype",
    "tol",
    "class_weight",
)
DEFAULT_TOL = 0.01
"""Training has converged when the full gradient's norm is a hundredth of what it was at the
start. Where that stops runs on Iris and three of scikit-learn's data sets, and how far from
the optimum, is in the README's Choices (Convergence), checked by tests/test_readme.py."""
DEVICES = ("auto", "cpu", "cuda", "mps")
DIST_TIMEOUT_S = 300.0
"""Under torchrun, how long a process waits for the others (to meet, to finish reading their
data, at each step) before it gives up: a process that died, hung or never arrived. Five
minutes: reading and checking a million rows of 32 features takes about 2.5 s on a 2-core VM
(the benchmark's figure), so the others may be reading files a hundred times larger."""


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
    add("--decimal", **DECIMAL)
    add(
        "--no-header",
        dest="header",
        action="store_false",
        help="the CSV has no header line: columns are named by position, 0 for the first, in "
        "--target, --drop and --keep",
    )
    add(
        "--epochs",
        type=positive_int,
        default=1000,
        help="the most passes over the training rows (%(default)s; --tol may stop sooner)",
    )
    add("--lr", type=positive_float, default=0.1, help="learning rate (%(default)s)")
    add(
        "--tol",
        type=non_negative_float,
        default=DEFAULT_TOL,
        help="stop once the full gradient's norm is at most this fraction of its first value, "
        "checked every 10 epochs; a run that ends above it gets a warning (%(default)s); 0 runs "
        "every epoch, with no test of convergence",
    )
    add(
        "--l2",
        type=non_negative_float,
        default=0.01,
        help="penalty l2*sum(W^2) added to the mean cross-entropy, the bias not penalised "
        "(%(default)s); scikit-learn's LogisticRegression(C) on the same (standardised) m "
        "training rows is l2 = 1/(2*C*m), or 1/(C*m) with two classes",
    )
    add(
        "--class-weight",
        choices=CLASS_WEIGHTS,
        default="none",
        help="balanced: weigh each row's loss by m/(k*rows of its class), as scikit-learn's "
        "class_weight='balanced', so rare classes count as much as common ones (%(default)s)",
    )
    add("--batch-size", type=positive_int, metavar="N", help="rows per step (default: all)")
    add(
        "--test-size",
        type=test_size,
        metavar="SIZE",
        help="rows held out for testing, stratified: a share (0.2) or a count (30); 0 trains on "
        "every row (default: 0.2, or 0 with --test-data)",
    )
    add(
        "--test-data",
        metavar="PATH",
        help="evaluate on this file of your own (read as --data is) instead of rows held out",
    )
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
        help="a progress line every N epochs (%(default)s); 0: none, nor the first line that "
        "names the backend and the data",
    )
    add(
        "--dist-timeout",
        type=positive_float,
        default=DIST_TIMEOUT_S,
        metavar="SECONDS",
        help="under torchrun: how long to wait for the other processes (%(default)g)",
    )
    add("--json", action="store_true", help="print one JSON object and nothing else")
    add("--save", metavar="PATH", help="write the trained model here (for iris_torch.predict)")
    add(
        "--save-on-interrupt",
        action="store_true",
        help="on Ctrl-C or SIGTERM, write the model as it stands to --save's PATH",
    )
    add(
        "--plot",
        metavar="PATH",
        help="write the loss curves and confusion matrix (.png, .pdf or .svg)",
    )
    return parser


def check_flags(args: argparse.Namespace) -> None:
    """The flags that can be checked without the data, so that a mistake costs no waiting; and
    --test-size's default, which depends on --test-data."""
    if args.test_data is not None:
        if args.test_size not in (None, 0):
            raise UsageError(
                "give --test-size or --test-data, not both: with --test-data every row of "
                "--data trains the model and the file you name tests it"
            )
        if args.test_data == "-" and args.data == "-":
            raise UsageError("--data and --test-data cannot both be standard input")
    if args.test_size is None:
        args.test_size = 0 if args.test_data is not None else DEFAULT_TEST_SIZE
    if args.save_on_interrupt and args.save is None:
        raise UsageError("--save-on-interrupt needs --save PATH: where to write the model")
    reads = [("--data", data_path(args)), ("--test-data", args.test_data)]
    writes = [("--save", args.save), ("--plot", args.plot)]
    check_no_clash(
        [(flag, path) for flag, path in reads if path is not None],
        [(flag, path) for flag, path in writes if path is not None],
    )
    if args.save is not None:
        check_writable(args.save, "--save")
    if args.plot is not None:
        check_plot_path(args.plot, "--plot")


def data_path(args: argparse.Namespace) -> str:
    """The file --data names, or the bundled Iris.csv."""
    from ..data.read import iris_path  # pandas, which reading the data needs next anyway

    return args.data or str(iris_path())


def read_options(args: argparse.Namespace) -> dict:
    """The reader's options from the flags. The bundled Iris.csv has an Id column that is known
    to be no feature: it is dropped by name, with no note about it, unless --keep Id."""
    drop = tuple(args.drop)
    if args.data is None and "Id" not in (*args.keep, *drop, args.target):
        drop += ("Id",)
    return dict(
        target=args.target,
        drop=drop,
        keep=tuple(args.keep),
        dtype=args.dtype,
        sep=args.sep,
        dropna=args.dropna,
        decimal=args.decimal,
        header=args.header,
    )


def check_inputs(args: argparse.Namespace) -> "Table":
    """The data, read and checked, without torch (after check_flags).

    The reader is imported here, not at the top, so that a mistyped flag is answered before
    even that loads.
    """
    from ..data.read import check_split, read_bundled_iris, read_table

    if args.data is None:
        table = read_bundled_iris(**read_options(args))
    else:
        table = read_table(args.data, **read_options(args))
    check_split(table.class_sizes(), args.test_size)
    return table


def test_rows(
    args: argparse.Namespace,
    dataset: "Dataset",
    numeric: bool,
    processes: "Alone | Together",
) -> tuple["torch.Tensor", "torch.Tensor", list[str]]:
    """--test-data: the file's rows (X (m, n) in the model's feature order, y (m,) numbered as
    the training classes), this process's share of them, and the notes about them; read with
    --data's options, its columns matched by name as predict matches them. Rows whose label is
    none of the training classes are left out and counted in a note, as predict leaves them
    out of its accuracy."""
    import torch

    from ..data.read import codes_for, read_for_model
    from ..distributed import share

    options = read_options(args)
    for name in ("target", "drop", "keep"):  # the model's features decide the columns
        options.pop(name)
    read = processes.agreed(
        lambda: read_for_model(
            args.test_data, dataset.feature_names, args.target, labels_required=True, **options
        )
    )
    features, labels = read.numbers, read.labels
    codes = codes_for(labels, dataset.class_names, numeric, args.decimal)
    known = codes >= 0
    notes = [f"--test-data {args.test_data}: {line}" for line in read.notes]
    if not known.any():
        raise UsageError(
            f"--test-data {args.test_data}: no row has a label the model knows "
            f"(its classes: {', '.join(dataset.class_names)})"
        )
    if not known.all():
        unknown = unknown_note(counted_labels(labels[~known]), int(known.sum()))
        notes.append(f"--test-data {args.test_data}: {unknown}")
    mine = share(int(known.sum()), processes.world, processes.rank)
    X = torch.from_numpy(features[known][mine])
    return X, torch.from_numpy(codes[known][mine]), notes


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


def train(
    args: argparse.Namespace,
    table: "Table",
    log: Callable[[str], None],
    note: Callable[[str], None],
    progress: bool = False,
    processes: "Together | None" = None,
) -> dict:
    """Split, standardise, train, evaluate; save and plot if asked. Returns the summary.

    log: the progress lines (stdout); note: notes, warnings and what was written where
    (stderr, whatever the verbosity). processes: this process's part in a run of several (table
    is then its part of the data; see processes.py). With --test-size 0 and no --test-data there
    is no test set: the per-class scores and the confusion matrix are then the training rows'.
    """
    import torch

    from .. import checkpoint
    from ..backends import make_backend
    from ..backends.memory import keep_freed_memory
    from ..data.prepare import Standardizer, balanced_class_weights
    from ..data.read import class_values
    from ..metrics import averages, confusion_matrix, per_class
    from ..training import evaluate, fit
    from .processes import Alone

    dtype = getattr(torch, args.dtype)
    if processes is None:
        processes, device = Alone(), resolve_device(args.device, args.dtype)
    else:
        device = processes.device
    keep_freed_memory()  # this process trains: reuse each step's buffers (see memory.py)
    notes = list(processes.notes(table))  # of several processes, what every one's reader said
    for line in notes:
        note(f"note: {line}")
    dataset, (X_train, X_test, y_train, y_test, shard) = processes.split(
        table, args.test_size, args.seed
    )
    summed = processes.summed
    if args.test_data is not None:
        X_test, y_test, test_notes = test_rows(args, dataset, table.numeric_classes, processes)
        if "-" not in (args.data, args.test_data) and same_file(args.test_data, data_path(args)):
            test_notes.append(
                f"--test-data {args.test_data} is the --data file: every row of it trained the "
                "model, so the test figures are on rows it has seen"
            )
        for line in test_notes:
            note(f"note: {line}")
        notes += test_notes
    n_train, n_test = (int(summed(torch.tensor(len(y)))) for y in (y_train, y_test))
    standardizer = (
        Standardizer.fit(X_train, summed, processes.largest) if args.standardize else None
    )
    if standardizer is not None:
        X_train, X_test = standardizer.transform(X_train), standardizer.transform(X_test)
    X_train, X_test = (X.to(dtype=dtype, device=device) for X in (X_train, X_test))
    y_train, y_test = y_train.to(device), y_test.to(device)
    class_weight = None
    if args.class_weight == "balanced":  # from the training rows of every process
        counts = summed(torch.bincount(y_train.cpu(), minlength=dataset.n_classes))
        class_weight = balanced_class_weights(counts)

    model = make_backend(
        args.backend,
        dataset.n_features,
        dataset.n_classes,
        lr=args.lr,
        l2=args.l2,
        seed=args.seed,
        dtype=dtype,
        device=device,
        class_weight=class_weight,
    )
    hyperparameters = {key: getattr(args, key) for key in HYPERPARAMETERS}

    def save() -> None:
        params = model.get_params()
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
                numeric_classes=table.numeric_classes,
            ),
            args.save,
        )
        note(f"wrote the model to {args.save}")

    together = f" in {processes.world} processes" if processes.world > 1 else ""
    tested = f"{n_test} test rows" if n_test else "no test rows (--test-size 0)"
    log(
        f"{model.name} backend on {device}{together}, {args.dtype}: {n_train} training rows, "
        f"{tested}, {dataset.n_features} features, {dataset.n_classes} classes"
    )
    trainer = processes.wrap(model)  # one process: the model itself
    try:
        history = fit(
            trainer,
            X_train,
            y_train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            X_val=X_test if n_test else None,
            y_val=y_test if n_test else None,
            log_every=args.log_every,
            log=log,
            tol=args.tol or None,  # 0: every epoch, and no test of convergence
            progress=progress,
            shard=shard,
        )
    except DivergenceError as error:
        advice = f"try a smaller --lr (it was {args.lr:g})"
        if args.lr * args.l2 > 1:  # W <- (1 - 2 lr l2) W grows, whatever the data
            advice = (
                f"with --l2 {args.l2:g} the penalty alone makes every step overshoot unless "
                f"--lr is below 1/l2 = {1 / args.l2:.3g} (it was {args.lr:g}); try a smaller "
                "--lr or --l2"
            )
        elif not args.standardize:
            advice += ", or leave out --no-standardize: unscaled features need a far smaller one"
        raise DivergenceError(error.epoch, error.loss, error.start, advice) from None
    except TrainingInterrupted as interrupted:
        if args.save is not None and args.save_on_interrupt and processes.speaks:
            save()
            raise TrainingInterrupted(
                interrupted.epoch,
                interrupted.epochs,
                args.save,
                interrupted.how,
                interrupted.signal,
            ) from None
        raise
    train_result = evaluate(model, X_train, y_train, summed)
    test_result = evaluate(model, X_test, y_test, summed) if n_test else None
    X_scored, y_scored = (X_test, y_test) if n_test else (X_train, y_train)
    confusion = summed(confusion_matrix(y_scored, model.predict(X_scored), dataset.n_classes))
    params = model.get_params()
    weight_raw, bias_raw = (
        (params["weight"].double().cpu(), params["bias"].double().cpu())
        if standardizer is None
        else standardizer.unscale(params["weight"], params["bias"])
    )
    classes = class_values(dataset.class_names, table.numeric_classes)
    scores = per_class(confusion, classes)
    summary = {
        "backend": model.name,
        "data": args.data or "bundled Iris.csv",
        "test_data": args.test_data,
        "target": args.target,
        "drop": args.drop,
        "notes": notes,
        **hyperparameters,
        "device": str(device),
        "world_size": processes.world,
        "n_train": n_train,
        "n_test": n_test,
        "class_weights": None if class_weight is None else class_weight.tolist(),
        "class_names": classes,  # numbers stay numbers
        "feature_names": list(dataset.feature_names),
        "epochs_run": history.epochs_run,
        "converged": history.converged,
        "grad_norm": history.grad_norm,
        "grad_norm_start": history.grad_norm_start,
        "train_loss": history.final_loss,
        "train_cross_entropy": train_result.cross_entropy,
        "train_accuracy": train_result.accuracy,
        "test_loss": None if test_result is None else test_result.cross_entropy,
        "test_accuracy": None if test_result is None else test_result.accuracy,
        "perplexity": None if test_result is None else perplexity(test_result.cross_entropy),
        "scored_on": "test" if n_test else "train",
        "per_class": scores,
        "averages": averages(scores),
        "confusion_matrix": confusion.tolist(),
        "weight": params["weight"].tolist(),
        "bias": params["bias"].tolist(),
        "weight_raw": weight_raw.tolist(),
        "bias_raw": bias_raw.tolist(),
    }
    if args.plot is not None and processes.speaks:
        from ..plots import save_training_figure

        title = f"{model.name} backend on {summary['data']}"
        scored_on = "test" if n_test else "training"
        save_training_figure(args.plot, history, confusion, dataset.class_names, title, scored_on)
        note(f"wrote the figure to {args.plot}")
    if args.save is not None and processes.speaks:
        save()
    return summary


def perplexity(cross_entropy: float) -> float:
    """exp(cross-entropy): the number of classes the model is as unsure as a uniform guess
    among. inf where that overflows a float (a cross-entropy above about 709.8)."""
    try:
        return math.exp(cross_entropy)
    except OverflowError:
        return math.inf


def _ratio(summary: dict) -> float:
    return summary["grad_norm"] / summary["grad_norm_start"]


def convergence(summary: dict) -> str:
    """One line on how far gradient descent got: the final gradient against the first."""
    epochs, run = summary["epochs"], summary["epochs_run"]
    where = f"at epoch {run} of {epochs}" if run < epochs else f"after {run} epoch{'s' * (run > 1)}"
    if summary["converged"] is None:
        state, where = "Ran", f"{run} epoch{'s' * (run > 1)}"
        test = "--tol 0: no test of convergence"
    else:
        state = "Converged" if summary["converged"] else "Not converged"
        test = f"--tol {summary['tol']:g}"
    return (
        f"{state} {where}: the gradient's norm is {_ratio(summary):.3g} of its first value ({test})"
    )


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


FULL_WEIGHT_TABLE = 10
"""Models of at most this many features show every weight; larger ones, each class's largest."""
TOP_WEIGHTS = 5  # features shown per class when the table would be too large to read


def report(summary: dict) -> str:
    """The human-readable summary: convergence, metrics, per-class scores, confusion matrix,
    weights (also in the units of the original features, when they were standardised)."""
    n_train, n_test = summary["n_train"], summary["n_test"]
    names = [str(name) for name in summary["class_names"]]
    scored = "test set" if summary["scored_on"] == "test" else "training set (no test set)"
    weighted = summary["class_weights"] is not None

    def score_rows() -> list[str]:
        rows = [
            [_score(c["precision"]), _score(c["recall"]), _score(c["f1"]), c["support"]]
            for c in summary["per_class"]
        ]
        averaged, total = summary["averages"], sum(c["support"] for c in summary["per_class"])
        rows += [
            [_score(a["precision"]), _score(a["recall"]), _score(a["f1"]), total]
            for a in (averaged["macro"], averaged["weighted"])
        ]
        return format_table(
            [*names, "macro average", "weighted average"],
            ["precision", "recall", "f1", "rows"],
            rows,
        )

    train_correct = round(summary["train_accuracy"] * n_train)
    entropy = f"{summary['train_cross_entropy']:.4f}"
    loss = (  # the objective; with class weights, its cross-entropy is not the plain one
        f"class-weighted cross-entropy + L2 penalty; plain cross-entropy {entropy}"
        if weighted
        else f"cross-entropy {entropy} + L2 penalty"
    )
    lines = [
        convergence(summary),
        f"Train set: loss {summary['train_loss']:.4f} ({loss}), "
        f"accuracy {train_correct}/{n_train} ({summary['train_accuracy']:.1%})",
    ]
    if weighted:
        shown = ", ".join(
            f"{name} {weight:.4g}"
            for name, weight in zip(names, summary["class_weights"], strict=True)
        )
        lines.append(f"Class weights in the loss (--class-weight balanced): {shown}")
    if n_test:
        test_correct = round(summary["test_accuracy"] * n_test)
        lines.append(
            f"Test set: cross-entropy {summary['test_loss']:.4f}, "
            f"perplexity {summary['perplexity']:.4f}, "
            f"accuracy {test_correct}/{n_test} ({summary['test_accuracy']:.1%})"
        )
    else:
        lines.append(
            "No test set (--test-size 0): every row trained the model, so the scores below "
            "are on rows it has seen"
        )
    lines += [
        "",
        f"Per class on the {scored}:",
        *score_rows(),
        "",
        f"Confusion matrix on the {scored} (rows: true class, columns: predicted):",
        *format_table(names, names, summary["confusion_matrix"]),
    ]
    if summary["standardize"]:
        lines += _weights(summary, names, "standardised features", "weight", "bias")
        lines += _weights(
            summary, names, "per unit of each original feature", "weight_raw", "bias_raw"
        )
    else:
        lines += _weights(summary, names, "raw features", "weight", "bias")
    return "\n".join(lines)


def _weights(summary: dict, names: list[str], which: str, weight: str, bias: str) -> list[str]:
    """The weight table (features x classes) and the biases; for a model of more than
    FULL_WEIGHT_TABLE features, each class's TOP_WEIGHTS weights of largest size instead."""
    features = summary["feature_names"]
    if len(features) <= FULL_WEIGHT_TABLE:
        return [
            "",
            f"Learned weights ({which}) and biases, one column per class:",
            *format_table(
                [*features, "(bias)"],
                names,
                [*summary[weight], summary[bias]],
                cell=lambda value: f"{value:.4f}",
            ),
        ]
    columns = list(zip(*summary[weight], strict=True))  # one per class
    lines = [
        "",
        f"Largest weights ({which}) of each class, of {len(features)} features "
        "(--json gives them all):",
    ]
    for name, column, b in zip(names, columns, summary[bias], strict=True):
        largest = sorted(range(len(features)), key=lambda i: -abs(column[i]))[:TOP_WEIGHTS]
        shown = ", ".join(f"{features[i]} {column[i]:+.4f}" for i in largest)
        lines.append(f"  {name}: {shown}; bias {b:+.4f}")
    return lines


def launched() -> tuple[int, int] | None:
    """(rank, world size) when a launcher (torchrun) started this process as one of several,
    from the environment it sets; None when the process runs alone."""
    if "WORLD_SIZE" not in os.environ:
        return None
    try:
        rank, world = int(os.environ.get("RANK", "")), int(os.environ["WORLD_SIZE"])
    except ValueError:
        raise UsageError(
            "WORLD_SIZE is set, so this is one of several processes, but RANK and WORLD_SIZE "
            "are not both whole numbers; start the processes with torchrun"
        ) from None
    if not 0 <= rank < world:
        raise UsageError(f"RANK {rank} is not one of 0..{world - 1} (WORLD_SIZE is {world})")
    return rank, world


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    # Of several processes, rank 0 alone prints: the output is one process's.
    speaks = "WORLD_SIZE" not in os.environ or os.environ.get("RANK") == "0"
    parser.quiet = not speaks
    args = parser.parse_args(argv)
    quiet = args.json or args.log_every == 0 or not speaks

    def log(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    def note(line: str) -> None:
        if speaks:
            print(f"{parser.prog}: {line}", file=sys.stderr, flush=True)

    def work() -> int:
        launch = launched()
        check_flags(args)
        progress = speaks and not args.json and sys.stderr.isatty()
        if launch is None:
            summary = train(args, check_inputs(args), log, note, progress)
        else:
            from .processes import Together

            device = resolve_device(args.device, args.dtype)
            with Together(*launch, device, args.dist_timeout) as together:
                table = together.read(args.data, read_options(args))
                summary = train(args, table, log, note, progress, together)
        if summary["converged"] is False:
            advice = "train longer (--epochs) or try another --lr"
            if not args.standardize:
                advice += ", or leave out --no-standardize"
            run = summary["epochs_run"]
            note(
                f"warning: did not converge in {run} epoch{'s' * (run != 1)}: the gradient's "
                f"norm is {_ratio(summary):.3g} of its first value, above --tol "
                f"{summary['tol']:g}; {advice}"
            )
        if speaks and args.json:
            print(json.dumps(summary))
        elif speaks:  # after the progress lines, if any, a blank line
            print(report(summary) if quiet else f"\n{report(summary)}")
        return 0

    return run_reporting_errors(parser.prog, work, speaks)


if __name__ == "__main__":
    run_as_program(main)
