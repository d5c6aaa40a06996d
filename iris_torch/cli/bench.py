"""Benchmark: what the package's interface costs, how close a step gets to the memory floor,
and how long the command line takes. Ratios are measured in one run, alternating the things
compared, and reported as medians.

    python -m iris_torch.bench                      # the full run (several minutes on 2 cores)
    python -m iris_torch.bench --output bench.md    # also write the table to a file
    python -m iris_torch.bench --quick              # small sizes: a smoke test
    python -m iris_torch.bench --device cuda        # the scale case on a GPU

Sections:
  overhead  each backend's step() on Iris (120 x 4, float32, full batch) against a bare loop
            of the same math written inline below (no classes, no methods);
  scale     one full-batch step() of every backend on synthetic data, 1,000,000 x 64 x 10,
            float32, against the memory floor of an epoch, reading X twice (once for the
            logits, once for the gradient), timed as X.sum(0) twice, and against the loop a
            PyTorch user would write (nn.Linear, F.cross_entropy, SGD, zero_grad); and the
            memory a step needs beyond its inputs. Targets for the fast backend only: the
            textbook backends are reported, not tuned;
  cli       `python -m iris_torch.train --backend autograd` end to end, against
            `python -c "import torch"`;
  data      your own data: a CSV of 1,000,000 x 32 float32 features and 10 classes, written by
            pandas into a temporary folder; each command run as a whole process, timed and its
            peak memory taken, against what a user would run instead: training (--backend fast,
            10 epochs) against pandas.read_csv + 10 full-batch steps of the idiomatic loop;
            reading, checking, splitting and standardising against a bare pandas.read_csv
            (the work alone, after the imports, and as whole processes); predicting every row
            into a CSV file against pandas.read_csv + softmax + DataFrame.to_csv;
  parallel  the training command as 1, 2, ... (--processes) processes on this machine, started
            as torchrun starts them, on 1,000,000 x 64 x 10 float32 written as one CSV file per
            process: seconds per epoch, speed-up, bytes all-reduced per step, peak memory per
            process against one process holding everything.
"""

import argparse
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .. import BACKENDS
from ..backends import make_backend
from ..backends.fast import rows_per_block
from ..backends.memory import keep_freed_memory, release_freed_memory
from ..data.prepare import Standardizer, load_iris, train_test_split
from ..files import atomic_path
from . import run_as_program

TARGETS = {"overhead": 1.2, "floor": 2.5, "idiomatic": 0.5, "cli": 1.5}
TUNED = "fast"  # the backend the scale targets are for
SECTIONS = ("overhead", "scale", "cli", "data", "parallel")


# -- the bare loops: each backend's step, written out inline -----------------------------------
# Each returns (step, params): step() does one update and returns the loss before it; params()
# returns the current {"weight", "bias"}. tests/test_bench.py checks that each follows its
# backend step for step, so that the comparison is between the same math.


def bare_manual(X, y, start, lr, l2):
    W, b = start["weight"].clone(), start["bias"].clone()
    m, k = X.shape[0], b.shape[0]
    rows = torch.arange(m)

    def step():
        Z = torch.mm(X, W) + b  # loss() and gradients() each compute the logits
        S = Z - Z.amax(dim=1, keepdim=True)
        loss = -(S - S.exp().sum(dim=1, keepdim=True).log())[rows, y].mean() + l2 * (W**2).sum()
        Z = torch.mm(X, W) + b
        E = (Z - Z.amax(dim=1, keepdim=True)).exp()
        A = E / E.sum(dim=1, keepdim=True)
        Y = torch.zeros(m, k, dtype=X.dtype).scatter_(1, y.unsqueeze(1), 1)
        dZ = (A - Y) / m
        W.sub_(lr * (torch.mm(X.T, dZ) + 2 * l2 * W))
        b.sub_(lr * dZ.sum(dim=0))
        return loss

    return step, lambda: {"weight": W, "bias": b}


def bare_autograd(X, y, start, lr, l2):
    W = start["weight"].clone().requires_grad_()
    b = start["bias"].clone().requires_grad_()
    rows = torch.arange(X.shape[0])

    def step():
        W.grad = b.grad = None
        Z = X @ W + b
        S = Z - Z.amax(dim=1, keepdim=True)
        loss = -(S - S.exp().sum(dim=1, keepdim=True).log())[rows, y].mean() + l2 * (W**2).sum()
        loss.backward()
        with torch.no_grad():
            W.sub_(lr * W.grad)
            b.sub_(lr * b.grad)
        return loss.detach()

    return step, lambda: {"weight": W.detach(), "bias": b.detach()}


def bare_nn_module(X, y, start, lr, l2):
    n, k = start["weight"].shape
    linear = nn.Linear(n, k, dtype=X.dtype)
    with torch.no_grad():
        linear.weight.copy_(start["weight"].T)
        linear.bias.copy_(start["bias"])
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        [
            {"params": [linear.weight], "weight_decay": 2 * l2},
            {"params": [linear.bias], "weight_decay": 0.0},
        ],
        lr=lr,
    )

    def step():
        optimizer.zero_grad()
        cross_entropy = criterion(linear(X), y)
        cross_entropy.backward()
        loss = cross_entropy.detach() + l2 * linear.weight.detach().pow(2).sum()
        optimizer.step()
        return loss

    return step, lambda: {"weight": linear.weight.detach().T, "bias": linear.bias.detach()}


def bare_functional(X, y, start, lr, l2):
    params = {"weight": start["weight"].clone(), "bias": start["bias"].clone()}
    rows = torch.arange(X.shape[0])

    def loss_fn(params, X, y):
        Z = X @ params["weight"] + params["bias"]
        S = Z - Z.amax(dim=1, keepdim=True)
        cross_entropy = -(S - S.exp().sum(dim=1, keepdim=True).log())[rows, y].mean()
        return cross_entropy + l2 * (params["weight"] ** 2).sum()

    gradient_and_loss = torch.func.grad_and_value(loss_fn)

    def step():
        nonlocal params
        gradients, loss = gradient_and_loss(params, X, y)
        params = {key: params[key] - lr * gradients[key] for key in params}
        return loss

    return step, lambda: params


def bare_fast(X, y, start, lr, l2):
    W_t, b = start["weight"].T.contiguous(), start["bias"].clone()
    m, k = X.shape[0], b.shape[0]
    rows = rows_per_block(X)

    def step():
        losses = X.new_empty(m)
        dW_t, db = torch.zeros_like(W_t), torch.zeros_like(b)
        buffer = X.new_empty(k * rows)
        minus_ones = X.new_full((1, rows), -1.0)
        for first, X_block, y_block in zip(
            range(0, m, rows), X.split(rows), y.split(rows), strict=True
        ):
            B = X_block.shape[0]
            labels = y_block.unsqueeze(0)
            Z_t = torch.addmm(b.unsqueeze(1), W_t, X_block.T, out=buffer[: k * B].view(k, B))
            Z_t -= Z_t.amax(dim=0)
            label_logit = Z_t.gather(0, labels)
            Z_t.exp_()
            norm = Z_t.sum(dim=0, keepdim=True)
            torch.sub(norm.log(), label_logit, out=losses[first : first + B].view(1, B))
            Z_t /= norm
            Z_t.scatter_add_(0, labels, minus_ones[:, :B])
            dW_t.addmm_(Z_t, X_block)
            db += Z_t.sum(dim=1)
        loss = losses.mean() + l2 * W_t.pow(2).sum()
        W_t.sub_(lr * (dW_t / m + 2 * l2 * W_t))
        b.sub_(lr * db / m)
        return loss

    return step, lambda: {"weight": W_t.T, "bias": b}


BARE: dict[str, Callable] = {
    "manual": bare_manual,
    "autograd": bare_autograd,
    "nn_module": bare_nn_module,
    "functional": bare_functional,
    "fast": bare_fast,
}


# -- measuring ----------------------------------------------------------------------------------


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def alternate(
    contenders: dict[str, Callable[[], object]], repeats: int, device: torch.device
) -> dict[str, float]:
    """Median seconds of each contender, timed in turn, `repeats` rounds, after a warm-up."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for work in contenders.values():
        work()
    for _ in range(repeats):
        for name, work in contenders.items():
            sync(device)
            start = time.perf_counter()
            work()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def iris_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """The CLI's training rows: standardised Iris, 120 x 4, float32."""
    data = load_iris()
    X_train, _, y_train, _ = train_test_split(data.X, data.y)
    return Standardizer.fit(X_train).transform(X_train), y_train


def overhead(steps: int, repeats: int) -> list[dict]:
    """Per-step time of each backend's step() and of its bare loop, on Iris."""
    X, y = iris_tensors()
    rows = []
    for name in BACKENDS:
        model = make_backend(name, X.shape[1], 3)
        step, _ = BARE[name](X, y, model.get_params(), model.lr, model.l2)

        def run_model(model=model):
            for _ in range(steps):
                model.step(X, y)

        def run_bare(step=step):
            for _ in range(steps):
                step()

        seconds = alternate({"step": run_model, "bare": run_bare}, repeats, torch.device("cpu"))
        rows.append(
            {
                "backend": name,
                "step_us": seconds["step"] / steps * 1e6,
                "bare_us": seconds["bare"] / steps * 1e6,
                "ratio": seconds["step"] / seconds["bare"],
            }
        )
    return rows


def _proc_status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def extra_memory(work: Callable[[], object], device: torch.device) -> int | None:
    """Peak memory during work() beyond what was in use before it, in bytes.

    CUDA: the caching allocator's peak. CPU: the peak resident set size (Linux only), reset
    through /proc/self/clear_refs; buffers of this size (tens of MB) are mapped and unmapped
    by the C allocator directly, so the peak sees each of them.
    """
    if device.type == "cuda":
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        work()
        torch.cuda.synchronize()
        return max(0, torch.cuda.max_memory_allocated() - before)
    clear_refs = Path("/proc/self/clear_refs")
    if not clear_refs.exists():
        return None
    clear_refs.write_text("5")
    before = _proc_status("VmRSS")
    work()
    return max(0, _proc_status("VmHWM") - before)  # pages given back can make it negative


def idiomatic_loop(X: torch.Tensor, y: torch.Tensor, n: int, k: int) -> Callable[[], object]:
    """One step of the loop a PyTorch user would write, as its step() function.

    It minimises the cross-entropy alone, with no penalty: that only makes it faster.
    """
    model = nn.Linear(n, k, device=X.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def scale(m: int, n: int, k: int, repeats: int, device: torch.device) -> list[dict]:
    """One full-batch step per backend, and of the idiomatic loop, on synthetic data, against
    two reads of X.

    On the CPU everything is timed first with glibc's default malloc, which returns each freed
    block over 32 MB to the system (so a step's large buffers arrive as fresh pages, one page
    fault per 4 KB), and then, once all are done, keeping freed memory, as the command line
    runs (see backends/memory.py): that order keeps memory kept for one contender out of
    another's default-malloc figures. The extra memory is measured with the default, where it
    is visible.
    """
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(m, n, generator=generator).to(device)
    y = torch.randint(0, k, (m,), generator=generator).to(device)
    models = {name: make_backend(name, n, k, device=device) for name in BACKENDS}
    steps = {name: (lambda model=model: model.step(X, y)) for name, model in models.items()}
    steps["idiomatic"] = idiomatic_loop(X, y, n, k)

    def timed(step):
        return alternate({"step": step, "floor": lambda: (X.sum(0), X.sum(0))}, repeats, device)

    release_freed_memory()
    default = {name: timed(step) for name, step in steps.items()}
    extra = {name: extra_memory(step, device) for name, step in steps.items()}
    kept = None
    if device.type == "cpu" and keep_freed_memory():
        kept = {name: timed(step) for name, step in steps.items()}
        release_freed_memory()
    rows = []
    for name in steps:
        floor = default[name]["floor"]  # allocates nothing: one measurement serves both
        rows.append(
            {
                "contender": name,
                "floor_ms": floor * 1e3,
                "step_ms": default[name]["step"] * 1e3,
                "ratio": default[name]["step"] / floor,
                "vs_idiomatic": default[name]["step"] / default["idiomatic"]["step"],
                "kept_step_ms": None if kept is None else kept[name]["step"] * 1e3,
                "kept_ratio": None if kept is None else kept[name]["step"] / floor,
                "kept_vs_idiomatic": (
                    None if kept is None else kept[name]["step"] / kept["idiomatic"]["step"]
                ),
                "extra_mb": None if extra[name] is None else extra[name] / 2**20,
                "extra_buffers": None if extra[name] is None else extra[name] / (m * k * 4),
            }
        )
    return rows


def cli_latency(repeats: int) -> dict:
    """End-to-end seconds of the training command and of importing torch, alternated."""

    def command(*args: str) -> Callable[[], None]:
        return lambda: subprocess.run(
            [sys.executable, *args], stdout=subprocess.DEVNULL, check=True
        )

    seconds = alternate(
        {
            "train": command("-m", "iris_torch.train", "--backend", "autograd"),
            "import": command("-c", "import torch"),
        },
        repeats,
        torch.device("cpu"),
    )
    return {"train_s": seconds["train"], "import_s": seconds["import"]}


# Processes of the data section: ours, and what a user would run instead. Each script gets the
# CSV's path as its first argument; those that print a number print the seconds their work
# took after the imports.
PANDAS_READ = """
import sys, time, pandas
start = time.perf_counter()
pandas.read_csv(sys.argv[1])
print(time.perf_counter() - start)
"""
PANDAS_AND_LOOP = """
import sys, numpy, pandas, torch
from torch.nn import functional as F
frame = pandas.read_csv(sys.argv[1])
classes, y = numpy.unique(frame.pop("label").to_numpy(), return_inverse=True)
X = torch.from_numpy(frame.to_numpy(numpy.float32))
y = torch.from_numpy(y)
model = torch.nn.Linear(X.shape[1], len(classes))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(10):
    optimizer.zero_grad()
    F.cross_entropy(model(X), y).backward()
    optimizer.step()
"""
PANDAS_PREDICT = """
import sys, numpy, pandas, torch
frame = pandas.read_csv(sys.argv[1])
X = torch.from_numpy(frame.drop(columns="label").to_numpy(numpy.float32))
model = torch.nn.Linear(X.shape[1], int(sys.argv[3]))
with torch.no_grad():
    P = torch.softmax(model(X), dim=1).numpy()
table = pandas.DataFrame(P, columns=[f"p_{j}" for j in range(P.shape[1])])
table.insert(0, "predicted", P.argmax(axis=1))
table.to_csv(sys.argv[2], index=False)
"""
OURS_PREPARE = """
import sys, time
from iris_torch import Standardizer, load_csv, train_test_split  # torch and pandas with them
start = time.perf_counter()
data = load_csv(sys.argv[1], target="label")
X_train, X_test, y_train, y_test = train_test_split(data.X, data.y)
scaler = Standardizer.fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(time.perf_counter() - start)
"""
# (ours, instead, which seconds, our words, their words, time target, memory target): the
# rows of the data section's table. "work" seconds are those a script printed.
DATA_ROWS = [
    (
        "train",
        "pandas_and_loop",
        "seconds",
        "`train --backend fast --epochs 10`",
        "pandas.read_csv + 10 steps of the idiomatic loop",
        2.0,
        1.5,
    ),
    (
        "prepare",
        "pandas_read",
        "work",
        "`load_csv` + `train_test_split` + `Standardizer`, after the imports",
        "pandas.read_csv, after the import",
        1.5,
        None,
    ),
    (
        "prepare",
        "pandas_read",
        "seconds",
        "the same, as a whole process (importing torch too)",
        "pandas.read_csv, as a whole process",
        None,
        None,
    ),
    (
        "predict",
        "pandas_predict",
        "seconds",
        "`predict --csv ... --out predictions.csv`",
        "pandas.read_csv + softmax + DataFrame.to_csv",
        2.0,
        None,
    ),
]


def write_data_csv(path: Path, m: int, n: int, k: int, parts: int = 1) -> None:
    """m rows of n float32 features f0, f1, ... and an integer label of k classes, that a linear
    model can learn, written by pandas as people write their files: to `path`, or with parts,
    cut into that many files path-0, path-1, ... (before the suffix)."""
    import pandas

    generator = torch.Generator().manual_seed(0)
    X = torch.randn(m, n, generator=generator)
    y = (X @ torch.randn(n, k, generator=generator)).argmax(dim=1)
    frame = pandas.DataFrame(X.numpy(), columns=[f"f{i}" for i in range(n)])
    frame["label"] = y.numpy()
    if parts == 1:
        frame.to_csv(path, index=False)
        return
    for part in range(parts):
        rows = slice(part * m // parts, (part + 1) * m // parts)
        frame.iloc[rows].to_csv(path.with_stem(f"{path.stem}-{part}"), index=False)


# Runs a command and prints its wall seconds and peak resident memory. Linux reports a child's
# peak as at least its parent's memory at the fork, so the commands are started from this small
# process, not from the benchmark, which holds hundreds of MB by then.
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True, check=True).stdout.split()
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, out[-1] if out else "nan")
"""


def run_process(args: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak resident memory (bytes, Linux) of one process run to its end, and the
    last number it printed (nan if none)."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, check=True
    )
    seconds, kilobytes, printed = result.stdout.split()
    try:
        work = float(printed)
    except ValueError:  # train --json prints JSON; only the scripts above print seconds
        work = float("nan")
    return float(seconds), int(kilobytes) * 1024, work


def own_data(m: int, n: int, k: int, repeats: int) -> dict:
    """Each process run `repeats` times in turn on one generated CSV; medians."""
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        path, model, out = (str(Path(folder) / name) for name in ("data.csv", "m.pt", "p.csv"))
        write_data_csv(Path(path), m, n, k)
        commands = {  # in this order: predict needs the model train saves
            "train": [
                *(python, "-m", "iris_torch.train", "--data", path, "--target", "label"),
                *("--epochs", "10", "--backend", TUNED, "--json", "--save", model),
            ],
            "pandas_and_loop": [python, "-c", PANDAS_AND_LOOP, path],
            "prepare": [python, "-c", OURS_PREPARE, path],
            "pandas_read": [python, "-c", PANDAS_READ, path],
            "predict": [
                *(python, "-m", "iris_torch.predict", "--model", model, "--csv", path),
                *("--out", out),
            ],
            "pandas_predict": [python, "-c", PANDAS_PREDICT, path, out, str(k)],
        }
        runs: dict[str, list[tuple[float, int, float]]] = {name: [] for name in commands}
        for _ in range(repeats):
            for name, args in commands.items():
                runs[name].append(run_process(args))
        size = Path(path).stat().st_size
    return {
        "file_mb": size / 2**20,
        **{
            name: {
                "seconds": statistics.median(t for t, _, _ in values),
                "peak_mb": statistics.median(b for _, b, _ in values) / 2**20,
                "work": statistics.median(w for _, _, w in values),
            }
            for name, values in runs.items()
        },
    }


# The data-parallel section starts each process of the training command itself, with the
# environment torchrun would give it, from this small script: it reports the process's peak
# memory (see MEASURE) and, from rank 0's log, the seconds per epoch, taken between the first
# and the last epoch's line, so that neither reading the data nor starting counts.
RANK = """
import resource, subprocess, sys, time
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, text=True)
times = [time.perf_counter() for line in process.stdout if line.startswith("Train Epoch")]
assert process.wait() == 0
per_epoch = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else float("nan")
print(per_epoch, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (the tests start processes on it too)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun_env(rank: int, world: int, port: int) -> dict[str, str]:
    """The environment torchrun gives one of `world` processes on this machine (the tests start
    processes with it too)."""
    return {
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "WORLD_SIZE": str(world),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }


def data_parallel(m: int, n: int, k: int, epochs: int, worlds: tuple[int, ...]) -> dict:
    """The training command on one set of CSV files (as many as the most processes), in 1, 2,
    ... processes: each process reads its own files. Seconds per epoch and peak memory."""
    import os

    cores = os.cpu_count() or 1
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        write_data_csv(Path(folder) / "part.csv", m, n, k, parts=max(worlds))
        pattern = str(Path(folder) / "part-*.csv")
        train = [*(sys.executable, "-m", "iris_torch.train", "--data", pattern, "--target")]
        train += ["label", "--backend", TUNED, "--epochs", str(epochs), "--tol", "0"]
        train += ["--log-every", "1", "--device", "cpu", "--dist-timeout", "120"]
        size = sum(path.stat().st_size for path in Path(folder).iterdir())
        for world in worlds:
            port, ranks = free_port(), []
            for rank in range(world):
                env = {**os.environ, "OMP_NUM_THREADS": str(max(cores // world, 1))}
                if world > 1:  # one process runs alone
                    env |= torchrun_env(rank, world, port)
                ranks.append(
                    subprocess.Popen(
                        [sys.executable, "-c", RANK, *train],
                        stdout=subprocess.PIPE,
                        text=True,
                        env=env,
                    )
                )
            reports = [process.communicate()[0].split() for process in ranks]
            if any(process.returncode for process in ranks):
                raise RuntimeError(f"the data-parallel run of {world} processes failed")
            runs[world] = {
                "epoch_s": float(reports[0][0]),
                "peak_mb": max(int(report[1]) for report in reports) / 1024,
            }
    return {"file_mb": size / 2**20, "runs": runs, "allreduce_bytes": 8 * (k * (n + 1) + 2)}


def parallel_table(data: dict, sizes: dict) -> list[str]:
    runs = data["runs"]
    one = runs[1]
    lines = [
        f"### Data-parallel: the training command in 1 and more processes on this machine "
        f"({sizes['parallel']}, float32, {sizes['parallel_parts']} CSV files of "
        f"{data['file_mb']:.0f} MB in all, each process reading its own; --backend {TUNED}, "
        f"full batch, {sizes['parallel_epochs']} epochs)",
        "",
        f"Each step all-reduces {data['allreduce_bytes']:,} bytes (the loss, the weight and "
        "bias gradients and the row count, float64), one epoch's evaluation 24 more. Peak "
        "memory is the largest of the processes'.",
        "",
        "| processes | seconds per epoch | speed-up | peak memory per process (MB) "
        "| x one process's |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for world, run in runs.items():
        lines.append(
            f"| {world} | {run['epoch_s']:.3g} | {one['epoch_s'] / run['epoch_s']:.2f} "
            f"| {run['peak_mb']:.0f} | {run['peak_mb'] / one['peak_mb']:.2f} |"
        )
    return [*lines, ""]


# -- reporting ----------------------------------------------------------------------------------


def machine(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    text = (
        f"{cpu}, {torch.get_num_threads()} threads; Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )
    if device.type == "cuda":
        text += f"; GPU: {torch.cuda.get_device_name(device)}"
    return text


def _verdict(met: bool) -> str:
    return "yes" if met else "**no**"


def _check(ratio: float, target: float) -> str:
    return _verdict(ratio <= target)


def scale_targets_met(row: dict) -> str:
    """Both scale targets, under both allocator settings measured."""
    settings = [("ratio", "vs_idiomatic"), ("kept_ratio", "kept_vs_idiomatic")]
    met = all(
        row[floor] <= TARGETS["floor"] and row[idiomatic] <= TARGETS["idiomatic"]
        for floor, idiomatic in settings
        if row[floor] is not None
    )
    return _verdict(met)


def data_table(data: dict, sizes: dict) -> list[str]:
    lines = [
        f"### Your own data: whole processes on a CSV of {sizes['data']} float32 "
        f"({data['file_mb']:.0f} MB, written by pandas; median of {sizes['data_repeats']})",
        "",
        "| ours | seconds | peak memory (MB) | instead | seconds | peak memory (MB) "
        "| x time | target | x memory | target | met |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for ours, theirs, seconds, our_name, their_name, time_target, memory_target in DATA_ROWS:
        a, b = data[ours], data[theirs]
        time_ratio, memory_ratio = a[seconds] / b[seconds], a["peak_mb"] / b["peak_mb"]
        targets = ((time_ratio, time_target), (memory_ratio, memory_target))
        met = "" if time_target is None else _verdict(all(t is None or r <= t for r, t in targets))
        lines.append(
            f"| {our_name} | {a[seconds]:.2f} | {a['peak_mb']:.0f} | {their_name} "
            f"| {b[seconds]:.2f} | {b['peak_mb']:.0f} | {time_ratio:.2f} "
            f"| {_target(time_target)} | {memory_ratio:.2f} | {_target(memory_target)} | {met} |"
        )
    return [*lines, ""]


def _target(target: float | None) -> str:
    return "" if target is None else f"≤ {target}"


def table(results: dict, device: torch.device, sizes: dict) -> str:
    lines = [f"Machine: {machine(device)}.", ""]
    if "overhead" in results:
        target = TARGETS["overhead"]
        lines += [
            f"### Overhead: step() against a bare loop (Iris, {sizes['iris']}, float32, "
            f"full batch, CPU; median of {sizes['overhead_repeats']} rounds of "
            f"{sizes['steps']} steps)",
            "",
            "| backend | step() (µs) | bare loop (µs) | ratio | target | met |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        lines += [
            f"| {r['backend']} | {r['step_us']:.1f} | {r['bare_us']:.1f} | {r['ratio']:.2f} "
            f"| ≤ {target} | {_check(r['ratio'], target)} |"
            for r in results["overhead"]
        ]
        lines.append("")
    if "scale" in results:
        lines += [
            f"### Scale: one full-batch step against two reads of X and against the idiomatic "
            f"loop ({sizes['scale']}, float32, {device.type}; median of "
            f"{sizes['scale_repeats']})",
            "",
            "Targets, for the fast backend: at most "
            f"{TARGETS['floor']}x two reads of X, and at most {TARGETS['idiomatic']}x the time "
            "of the loop a PyTorch user would write (nn.Linear, F.cross_entropy, SGD, zero_grad; "
            "no penalty). The textbook backends are reported, not tuned. Each is timed with "
            "glibc's default malloc, as a script of your own runs, and keeping freed memory, as "
            "the command line runs (see iris_torch/backends/memory.py); the target must hold in "
            "both.",
            "",
            "| contender | 2 reads of X (ms) | step, default malloc (ms) | x floor | x idiomatic "
            "| step, keeping freed memory (ms) | x floor | x idiomatic | met "
            "| extra memory (MB) | in m x k buffers |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
        ]
        for r in results["scale"]:
            kept = (
                "n/a | n/a | n/a"
                if r["kept_ratio"] is None
                else f"{r['kept_step_ms']:.1f} | {r['kept_ratio']:.2f} "
                f"| {r['kept_vs_idiomatic']:.2f}"
            )
            met = scale_targets_met(r) if r["contender"] == TUNED else ""
            memory = (
                "n/a | n/a"
                if r["extra_mb"] is None
                else f"{r['extra_mb']:.0f} | {r['extra_buffers']:.1f}"
            )
            lines.append(
                f"| {r['contender']} | {r['floor_ms']:.1f} | {r['step_ms']:.1f} "
                f"| {r['ratio']:.2f} | {r['vs_idiomatic']:.2f} | {kept} | {met} | {memory} |"
            )
        lines.append("")
    if "cli" in results:
        target = TARGETS["cli"]
        cli = results["cli"]
        ratio = cli["train_s"] / cli["import_s"]
        lines += [
            f"### Command line (median of {sizes['cli_repeats']} runs each)",
            "",
            "| command | seconds | ratio | target | met |",
            "| --- | ---: | ---: | ---: | --- |",
            f"| `python -m iris_torch.train --backend autograd` | {cli['train_s']:.2f} "
            f"| {ratio:.2f} | ≤ {target} | {_check(ratio, target)} |",
            f'| `python -c "import torch"` | {cli["import_s"]:.2f} | 1.00 | | |',
            "",
        ]
    if "data" in results:
        lines += data_table(results["data"], sizes)
    if "parallel" in results:
        lines += parallel_table(results["parallel"], sizes)
    lines.append("Reproduce: `python -m iris_torch.bench` (add `--output FILE` to keep the table).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m iris_torch.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the docstring as laid out
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="scale case")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated, of {', '.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="parallel: 1 to this many processes (2)"
    )
    parser.add_argument("--output", metavar="PATH", help="also write the table here")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; choose from {', '.join(SECTIONS)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device on this machine")
    device = torch.device(args.device)

    m, n, k = (100_000, 64, 10) if args.quick else (1_000_000, 64, 10)
    worlds = tuple(range(1, args.processes + 1))
    parallel_m = 20_000 if args.quick else m
    data_m, data_n, data_k = (2_000, 32, 10) if args.quick else (1_000_000, 32, 10)
    sizes = {
        "iris": "120 x 4",
        "steps": 20 if args.quick else 500,
        "overhead_repeats": 2 if args.quick else 21,
        "scale": f"{m:,} x {n} x {k}",
        "scale_repeats": 2 if args.quick else 11,
        "cli_repeats": 1 if args.quick else 7,
        "data": f"{data_m:,} x {data_n} x {data_k}",
        "data_repeats": 1 if args.quick else 3,
        "parallel": f"{parallel_m:,} x {n} x {k}",
        "parallel_parts": max(worlds),
        "parallel_epochs": 3 if args.quick else 21,
    }
    results: dict = {}
    if "overhead" in sections:
        results["overhead"] = overhead(sizes["steps"], sizes["overhead_repeats"])
    if "scale" in sections:
        results["scale"] = scale(m, n, k, sizes["scale_repeats"], device)
    if "cli" in sections:
        results["cli"] = cli_latency(sizes["cli_repeats"])
    if "data" in sections:
        results["data"] = own_data(data_m, data_n, data_k, sizes["data_repeats"])
    if "parallel" in sections:
        results["parallel"] = data_parallel(parallel_m, n, k, sizes["parallel_epochs"], worlds)
    text = table(results, device, sizes)
    print(text)
    if args.output:
        with atomic_path(args.output) as temporary:
            temporary.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    run_as_program(main)
