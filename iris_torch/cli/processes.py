"""The training command in one process, or as one of several that train one model together.

Several: torchrun (or any launcher that sets torch.distributed's environment: RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT) starts the command once per process. Then each process reads its part
of the data: its share of the files when there are at least as many files as processes (each
file read by one process only), otherwise every file, keeping a contiguous share of the rows.
Between them they agree on the columns and the classes, every process draws the split one
process would draw (from every row's label, gathered), the standardiser's statistics are summed
over them, and each trains on its own training rows with iris_torch.distributed.DataParallel:
the model of one process, to rounding. Rank 0 alone prints and writes files.

A problem in one process's data is raised in every process (the first, by rank), so that none
is left waiting; a process that dies, hangs or never arrives ends the others' collectives
within the timeout (--dist-timeout) with a GroupError.
"""

import os
import re
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ..data.prepare import Dataset, dataset_from_table, one_process, split_rows, train_test_split
from ..data.read import (
    Table,
    check_classes,
    check_not_continuous,
    check_split,
    data_files,
    merged_classes,
    read_bundled_iris,
    read_files,
    with_classes,
)
from ..distributed import DataParallel, share
from ..errors import DataError, GroupError, Stopped, UsageError
from ..training import Shard
from . import ignore_further_signals

Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, Shard | None]


class Alone:
    """One process: the whole data (read by train.check_inputs), no one to agree with."""

    rank, world, speaks = 0, 1, True
    summed = largest = staticmethod(one_process)

    def split(self, table: Table, test_size: float, seed: int) -> tuple[Dataset, Split]:
        dataset = dataset_from_table(table)
        return dataset, (*train_test_split(dataset.X, dataset.y, test_size, seed), None)

    def notes(self, table: Table) -> tuple[str, ...]:
        return table.notes

    def agreed(self, work: Callable[[], Any]) -> Any:
        return work()

    def wrap(self, model):
        return model


class Together:
    """One of `world` processes training one model (see the module's docstring)."""

    def __init__(self, rank: int, world: int, device: torch.device, timeout_s: float) -> None:
        self.rank, self.world, self.speaks = rank, world, rank == 0
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":  # one GPU per process of this machine
            local = int(os.environ.get("LOCAL_RANK", "0"))
            here = int(os.environ.get("LOCAL_WORLD_SIZE", local + 1))
            gpus = torch.cuda.device_count()
            if max(here, local + 1) > gpus:
                raise UsageError(
                    f"--device cuda needs a GPU per process: {here} processes on this machine, "
                    f"{gpus} GPU{'s' * (gpus != 1)}; start at most {gpus} per machine "
                    "(--nproc-per-node), or train on the CPU with --device cpu"
                )
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        self.device = device  # where tensors must be for the collectives
        self.timeout_s = timeout_s
        where = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
        try:
            dist.init_process_group(
                backend, rank=rank, world_size=world, timeout=timedelta(seconds=timeout_s)
            )
        except (dist.DistError, RuntimeError, ValueError) as error:
            raise GroupError(
                f"the {world} processes could not meet at {where} within {timeout_s:g} s: "
                f"{first_line(error)}"
            ) from None
        # torchrun ends the others with SIGTERM when one fails: end as Ctrl-C would, cleanly.
        signal.signal(signal.SIGTERM, _terminated)

    def summed(self, tensor: torch.Tensor) -> torch.Tensor:
        return self._reduced(tensor, dist.ReduceOp.SUM)

    def largest(self, tensor: torch.Tensor) -> torch.Tensor:
        return self._reduced(tensor, dist.ReduceOp.MAX)

    def _reduced(self, tensor: torch.Tensor, op) -> torch.Tensor:
        combined = tensor.to(self.device, copy=True)
        dist.all_reduce(combined, op=op)
        return combined.to(tensor.device)

    def gathered(self, value: Any) -> list:
        """Every process's value (picklable), in rank order."""
        values = [None] * self.world
        dist.all_gather_object(values, value)
        return values

    def agreed(self, work: Callable[[], Any]) -> Any:
        """work()'s result; a DataError or UsageError in any process is raised in every one."""
        try:
            result, problem = work(), None
        except (DataError, UsageError) as error:
            result, problem = None, str(error)
        problems = [p for p in self.gathered(problem) if p is not None]
        if problems:
            raise DataError(problems[0])
        return result

    def read(self, path: str | None, options: dict) -> Table:
        """This process's rows: its files, or its share of the rows of every file."""

        def work() -> tuple[Table, bool]:
            if path == "-":
                raise UsageError("--data -: several processes cannot share standard input")
            if path is None:  # one file: every process reads it
                return read_bundled_iris(**options), True
            files = data_files(path)
            if len(files) >= self.world:
                return read_files(files[share(len(files), self.world, self.rank)], **options), False
            return read_files(files, **options), True

        self.name, self.target = path or "the bundled Iris.csv", options["target"]
        table, self.whole = self.agreed(work)
        return table

    def split(self, table: Table, test_size: float, seed: int) -> tuple[Dataset, Split]:
        """The split one process would draw, and this process's rows of each set."""
        parts = self.gathered(
            (table.feature_names, table.class_names, table.numeric_classes, len(table.labels))
        )
        for rank, (features, *_) in enumerate(parts):
            if features != parts[0][0]:
                raise DataError(
                    f"the processes read different columns: rank 0's features are "
                    f"{', '.join(parts[0][0])}, rank {rank}'s {', '.join(features)}; "
                    "every file needs the same columns"
                )
        classes, _ = merged_classes([(names, numeric) for _, names, numeric, _ in parts])
        table = with_classes(table, classes)
        check_classes(table, self.name, self.target)
        total = len(table.labels) if self.whole else sum(rows for *_, rows in parts)
        check_not_continuous(table, self.name, self.target, total)
        if self.whole:  # every process holds every row: it keeps a contiguous share
            labels = table.labels
            mine = share(len(labels), self.world, self.rank)
        else:  # the processes' rows one after the other, in rank order, as in their files
            labels = np.concatenate(self.gathered(table.labels))
            start = sum(rows for *_, rows in parts[: self.rank])
            mine = slice(start, start + len(table.labels))
        # checked here by the classes' names (split_rows knows them by number only)
        sizes = np.bincount(labels, minlength=len(table.class_names)).tolist()
        check_split(dict(zip(table.class_names, sizes, strict=True)), test_size)
        train_rows, test_rows = split_rows(torch.from_numpy(labels), test_size, seed)
        dataset = dataset_from_table(table)
        X, y = (dataset.X[mine], dataset.y[mine]) if self.whole else (dataset.X, dataset.y)

        def local(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Where in `rows` this process's rows are, and which of X's rows they are."""
            where = torch.nonzero((rows >= mine.start) & (rows < mine.stop)).flatten()
            return where, rows[where] - mine.start

        positions, train = local(train_rows)
        _, test = local(test_rows)
        split = (
            X.index_select(0, train),
            X.index_select(0, test),
            y.index_select(0, train),
            y.index_select(0, test),
            Shard(positions, len(train_rows), self.summed),
        )
        return dataset, split

    def notes(self, table: Table) -> tuple[str, ...]:
        """What every process's reader said, each thing once."""
        return tuple(dict.fromkeys(note for notes in self.gathered(table.notes) for note in notes))

    def wrap(self, model):
        return DataParallel(model)

    def __enter__(self) -> "Together":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """Leave the group; a collective that failed (a process died or stopped answering)
        becomes one GroupError."""
        dist.destroy_process_group()
        if lost_touch(error):
            raise GroupError(
                f"rank {self.rank} of {self.world}: another process died or did not answer "
                f"within --dist-timeout ({self.timeout_s:g} s): {first_sentence(error)}; "
                "nothing was saved"
            ) from None


def lost_touch(error: BaseException | None) -> bool:
    """Whether a collective failed: torch's DistError, or the RuntimeError that gloo and NCCL
    raise, whose message names its source (.../third_party/gloo/...). Any other error is a
    bug, and keeps its traceback."""
    if isinstance(error, dist.DistError):
        return True
    return isinstance(error, RuntimeError) and re.search(r"gloo|nccl", str(error), re.I) is not None


def first_line(error: BaseException) -> str:
    """The error's first line, less the source location gloo puts in front ([.../pair.cc:534])."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return re.sub(r"^\[[^\]]*\]\s*", "", lines[0]) if lines else type(error).__name__


def first_sentence(error: BaseException) -> str:
    """The first line, to its first full stop: gloo goes on with advice for its own developers."""
    return first_line(error).split(". ")[0].rstrip(".")


def _terminated(signum, frame) -> None:
    ignore_further_signals()
    raise Stopped("stopped by SIGTERM (torchrun stops every process when one fails)")
