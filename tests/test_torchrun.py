"""The training command as several processes: under torchrun, it trains the model one process
trains, reads sharded files into the same model as the whole file, and ends cleanly when a
process dies, hangs or never arrives.

Real processes on 127.0.0.1 with gloo, each bounded in time (a hang fails its test instead of
holding up the suite). The fault cases start the ranks by hand with torchrun's environment
(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), so that one of them can be killed or stopped.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iris_torch.checkpoint import load
from iris_torch.cli.bench import free_port, torchrun_env
from iris_torch.cli.train import main

IRIS = Path(__file__).parent.parent / "data" / "Iris.csv"
BOUND_S = 180  # no case here takes a tenth of this; a run past it has hung
COMMON = ["--dtype", "float64", "--json", "--epochs", "30"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def torchrun(nproc: int, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", str(nproc), "-m", "iris_torch.train", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BOUND_S, cwd=cwd, env=ENV
    )


def alone(args: list[str], capsys) -> dict:
    """The single-process run's JSON, run in this process."""
    capsys.readouterr()
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def assert_same_model(got: dict, expected: dict) -> None:
    for key in ("weight", "bias"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-10, atol=1e-12)
    assert got["epochs_run"] == expected["epochs_run"]
    assert got["test_accuracy"] == expected["test_accuracy"]
    assert got["confusion_matrix"] == expected["confusion_matrix"]
    assert (got["n_train"], got["n_test"]) == (expected["n_train"], expected["n_test"])
    assert got["notes"] == expected["notes"]  # what every process's reader said


# Each launch of three processes takes about 13 s on a 2-core machine, nearly all of it each
# process importing torch; so three cases here, and every backend and both kinds of batches in
# test_distributed.py, which trains through the same DataParallel in one start of processes.
CASES = {
    "manual, full batch": ["--backend", "manual"],
    "fast, batches of 16": ["--backend", "fast", "--batch-size", "16"],
    "nn_module, batches of 16": ["--backend", "nn_module", "--batch-size", "16"],
}


@pytest.mark.parametrize("case", CASES)
def test_three_processes_train_the_model_of_one(case, tmp_path, capsys):
    args = [*CASES[case], *COMMON, "--save", str(tmp_path / "model.pt")]
    result = torchrun(3, args, tmp_path)
    assert result.returncode == 0, result.stderr
    together = json.loads(result.stdout)  # one JSON object: rank 0's, and no one else's
    expected = alone([*CASES[case], *COMMON], capsys)
    assert_same_model(together, expected)
    assert (together["world_size"], expected["world_size"]) == (3, 1)
    assert result.stderr.count("did not converge") == 1  # said once, by rank 0
    saved = load(tmp_path / "model.pt")  # written once, by rank 0
    np.testing.assert_array_equal(saved.weight.numpy(), together["weight"])


def test_class_weights_and_a_test_file_of_ones_own_in_two_processes(tmp_path, capsys):
    """--class-weight balanced counts every process's training rows, and --test-data is shared
    out among the processes for evaluation: the model and scores of one process."""
    frame = pd.read_csv(IRIS)
    test = frame.groupby("Species").sample(10, random_state=0)
    frame.drop(test.index).to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    args = [
        *("--data", str(tmp_path / "train.csv"), "--test-data", str(tmp_path / "test.csv")),
        *("--class-weight", "balanced", "--batch-size", "16", *COMMON),
    ]
    result = torchrun(2, args, tmp_path)
    assert result.returncode == 0, result.stderr
    together, expected = json.loads(result.stdout), alone(args, capsys)
    assert_same_model(together, expected)
    assert together["class_weights"] == expected["class_weights"] != None  # noqa: E711
    assert (together["n_train"], together["n_test"]) == (120, 30)


def write_parts(folder: Path, cuts: list[int], frame: pd.DataFrame | None = None) -> None:
    """Iris (or `frame`) as several CSV files, cut at the given rows, written as pandas writes
    them."""
    frame = pd.read_csv(IRIS) if frame is None else frame
    for index, (start, stop) in enumerate(zip([0, *cuts], [*cuts, len(frame)], strict=True)):
        frame.iloc[start:stop].to_csv(folder / f"part-{index}.csv", index=False)


def test_sharded_files_train_the_model_of_the_whole_file(tmp_path, capsys):
    """Five files over two processes (three and two each), with batches: each process reads
    only its files, and the model is the one a single process trains on the whole file. The
    parts are cut so that one of them holds a single class, and the last has two blank cells
    that --dropna leaves out: rank 1 alone says so, and the run's notes still say it."""
    frame = pd.read_csv(IRIS)
    frame.loc[[130, 140], "PetalWidthCm"] = None
    frame.to_csv(tmp_path / "whole.csv", index=False)
    write_parts(tmp_path, [30, 45, 90, 120], frame)
    args = [*COMMON, "--batch-size", "16", "--dropna"]
    result = torchrun(2, ["--data", "part-*.csv", *args], tmp_path)
    assert result.returncode == 0, result.stderr
    expected = alone(["--data", str(tmp_path / "whole.csv"), *args], capsys)
    assert "left out 2 rows with missing values (--dropna)" in expected["notes"]
    assert_same_model(json.loads(result.stdout), expected)


# Data that one process would refuse, held by two: each problem found where it shows
FAULTY_PARTS = {
    "different columns": ([], "error: the processes read different columns"),
    "a continuous target": (
        ["--target", "SepalLengthCm", "--drop", "Species"],  # its values made all distinct
        "error: part-*.csv: column 'SepalLengthCm' looks continuous (150 distinct numbers in 150",
    ),
    "a class of one row": (
        ["--target", "Kind", "--drop", "Species"],
        "error: class 'lonely' has only 1 row;",
    ),
}


@pytest.mark.parametrize("case", FAULTY_PARTS)
def test_processes_given_faulty_parts_stop_with_one_line(case, tmp_path):
    write_parts(tmp_path, [75])
    for path in (tmp_path / "part-0.csv", tmp_path / "part-1.csv"):
        part = pd.read_csv(path)
        if case == "different columns" and path.name == "part-1.csv":
            part.insert(2, "extra", 1.0)
        if case == "a continuous target":
            part["SepalLengthCm"] += part["Id"] / 1000
        if case == "a class of one row":  # the name is the message's, not a class number
            part["Kind"] = np.where(part["Id"] == 150, "lonely", part["Species"])
        part.to_csv(path, index=False)
    flags, message = FAULTY_PARTS[case]
    result = torchrun(2, ["--data", "part-*.csv", *COMMON, *flags, "--save", "m.pt"], tmp_path)
    ours = [line for line in result.stderr.splitlines() if line.startswith("python -m iris_")]
    ours = [line for line in ours if ": note: " not in line]  # the Id column's note, on stderr
    assert len(ours) == 1, result.stderr
    assert message in ours[0]
    # The one traceback is torchrun's own, reporting that its processes failed (exit code 2).
    assert result.stderr.count("Traceback") == 1 and "ChildFailedError" in result.stderr
    assert not (tmp_path / "m.pt").exists()


# -- faults: ranks started by hand, as torchrun would start them ---------------------------------


def start_ranks(world: int, args: list[str], folder: Path, port: int, ranks=None) -> list:
    """Each rank's process, its stdout and stderr going to files in `folder`."""
    processes = []
    for rank in ranks if ranks is not None else range(world):
        env = {**ENV, **torchrun_env(rank, world, port)}
        command = [sys.executable, "-m", "iris_torch.train", *args]
        with open(folder / f"{rank}.out", "w") as out, open(folder / f"{rank}.err", "w") as err:
            processes.append(subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=folder))
    return processes


def wait_for_training(folder: Path) -> None:
    deadline = time.monotonic() + BOUND_S
    while "Train Epoch" not in (folder / "0.out").read_text():
        assert time.monotonic() < deadline, "rank 0 never started training"
        time.sleep(0.2)


LONG_RUN = ["--epochs", "10000000", "--tol", "0", "--log-every", "1000", "--save", "model.pt"]


@pytest.mark.parametrize("how", ["killed", "stopped"])
def test_a_rank_that_dies_or_hangs_ends_the_run_with_one_line(how, tmp_path):
    """Rank 1 of 3 is killed (SIGKILL) or stopped (SIGSTOP, as a process that hangs) during
    training: ranks 0 and 2 end within the timeout, exit code 1, one line each naming what
    happened, and no model file."""
    timeout = 3
    ranks = start_ranks(3, [*LONG_RUN, "--dist-timeout", str(timeout)], tmp_path, free_port())
    try:
        wait_for_training(tmp_path)
        started = time.monotonic()
        ranks[1].send_signal(signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        codes = [ranks[r].wait(timeout=BOUND_S) for r in (0, 2)]
        took = time.monotonic() - started
    finally:
        for process in ranks:
            process.kill()
            process.wait()
    assert codes == [1, 1]
    assert took < timeout + 30
    for rank in (0, 2):
        lines = (tmp_path / f"{rank}.err").read_text().splitlines()
        assert len(lines) == 1, lines
        assert f"error: rank {rank} of 3: another process died or did not answer" in lines[0]
    assert not any(path.name.startswith("model") for path in tmp_path.iterdir())


def test_sigterm_from_torchrun_ends_a_rank_cleanly(tmp_path):
    """torchrun stops the other processes with SIGTERM when one fails: a rank so ended says so
    in one line and writes nothing, though --save-on-interrupt was not asked for."""
    ranks = start_ranks(2, LONG_RUN, tmp_path, free_port())
    try:
        wait_for_training(tmp_path)
        ranks[0].send_signal(signal.SIGTERM)
        code = ranks[0].wait(timeout=BOUND_S)
        ranks[1].wait(timeout=BOUND_S)
    finally:
        for process in ranks:
            process.kill()
            process.wait()
    assert code == 143  # 128 + SIGTERM, as a shell reports it
    (line,) = (tmp_path / "0.err").read_text().splitlines()
    assert line.startswith("python -m iris_torch.train: stopped by SIGTERM (torchrun stops")
    assert line.endswith("; nothing was saved")
    assert not any(path.name.startswith("model") for path in tmp_path.iterdir())


def test_a_rank_that_never_arrives_is_one_line_after_the_timeout(tmp_path):
    (rank0,) = start_ranks(2, ["--dist-timeout", "2"], tmp_path, free_port(), ranks=[0])
    assert rank0.wait(timeout=BOUND_S) == 1
    (line,) = (tmp_path / "0.err").read_text().splitlines()
    assert "error: the 2 processes could not meet at 127.0.0.1:" in line
    assert "1/2 clients joined" in line


def test_a_busy_port_is_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (rank0,) = start_ranks(2, ["--dist-timeout", "2"], tmp_path, port, ranks=[0])
        assert rank0.wait(timeout=BOUND_S) == 1
    (line,) = (tmp_path / "0.err").read_text().splitlines()
    assert f"could not meet at 127.0.0.1:{port}" in line and "address already in use" in line


def test_bad_flags_are_refused_before_any_group_by_rank_0_alone(tmp_path):
    """No process waits for the others: each refuses at once; rank 0 alone says why."""
    ranks = start_ranks(2, ["--lr", "-1"], tmp_path, free_port())
    assert [process.wait(timeout=BOUND_S) for process in ranks] == [2, 2]
    assert "argument --lr: '-1' must be a finite number > 0" in (tmp_path / "0.err").read_text()
    assert (tmp_path / "1.err").read_text() == ""


def test_one_process_reads_a_pattern_of_files_as_the_whole_file(tmp_path, capsys):
    write_parts(tmp_path, [50, 100])
    args = [*COMMON, "--batch-size", "16"]
    parts = alone(["--data", str(tmp_path / "part-*.csv"), *args], capsys)
    assert_same_model(parts, alone(["--data", str(IRIS), *args], capsys))
