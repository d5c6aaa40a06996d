"""The command line: in a subprocess where the process matters (exit codes, reproducibility
across runs, the console script), in-process through main() elsewhere, to keep the suite fast.
"""

import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest
import torch
from conftest import run_main

from iris_torch import BACKENDS
from iris_torch.cli.train import main

TRAIN = [sys.executable, "-m", "iris_torch.train"]
# Runs whose outputs are compared byte for byte use one thread alike: with another thread count,
# torch may sum in another order (on data larger than Iris), and the last bits may differ.
# One thread also keeps several processes started together from crowding two cores.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


def run(args, cwd=None, env=None):
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@contextlib.contextmanager
def one_thread():
    """torch in this process on one thread, as in the ONE_THREAD subprocesses."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_json(*flags):
    result = run([*TRAIN, "--json", *flags], env=ONE_THREAD)
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads(result.stdout)  # the whole of stdout is one JSON object


def call(capsys, *argv):
    return run_main(main, argv, capsys)


@pytest.fixture(scope="module")
def summaries():
    """One default run per backend, as separate processes started together, on one thread each."""
    processes = {
        name: subprocess.Popen(
            [*TRAIN, "--json", "--backend", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ONE_THREAD,
        )
        for name in BACKENDS
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        results[name] = stdout, json.loads(stdout)  # the whole of stdout is one JSON object
    return results


@pytest.mark.parametrize("name", BACKENDS)
def test_defaults_train_every_backend_to_90_percent(name, summaries):
    _, summary = summaries[name]
    assert summary["backend"] == name
    assert summary["test_accuracy"] >= 0.9
    assert summary["class_names"] == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    assert summary["feature_names"] == [
        "SepalLengthCm",
        "SepalWidthCm",
        "PetalLengthCm",
        "PetalWidthCm",
    ]
    assert (summary["n_train"], summary["n_test"]) == (120, 30)
    assert len(summary["weight"]) == 4 and all(len(row) == 3 for row in summary["weight"])
    assert len(summary["bias"]) == 3
    # Perplexity is exp of the cross-entropy in nats, never 2 ** (a loss in nats).
    assert summary["perplexity"] == pytest.approx(math.exp(summary["test_loss"]))
    # The reported training loss includes the penalty on top of the cross-entropy.
    penalty = summary["l2"] * sum(w * w for row in summary["weight"] for w in row)
    assert summary["train_loss"] == pytest.approx(summary["train_cross_entropy"] + penalty)


def test_backends_report_the_same_model(summaries):
    reference = summaries["manual"][1]
    for name in BACKENDS[1:]:
        summary = summaries[name][1]
        for row, expected in zip(summary["weight"], reference["weight"], strict=True):
            assert row == pytest.approx(expected, abs=1e-5)
        assert summary["bias"] == pytest.approx(reference["bias"], abs=1e-5)
        assert summary["test_accuracy"] == reference["test_accuracy"]


def test_same_seed_same_output_other_seed_other_output(summaries, capsys):
    stdout, _ = summaries["autograd"]
    assert train_json("--backend", "autograd")[0] == stdout  # another process, same bytes
    with one_thread():
        assert call(capsys, "--json") == (0, stdout, "")  # main() in this process, same bytes
    code, other, _ = call(capsys, "--json", "--seed", "1")
    assert code == 0 and other != stdout


def console_script():
    """`iris-torch` as installed for the python running the suite, whatever PATH holds.

    Looked up in the interpreter's own scripts folder (a venv's bin/ or Scripts\\), so that it is
    found from `.venv/bin/python -m pytest` without activating the venv, and is never another
    environment's copy that PATH happens to reach first.
    """
    script = shutil.which("iris-torch", path=sysconfig.get_path("scripts"))
    if script is None:
        pytest.skip(f"iris-torch is not installed in {sysconfig.get_path('scripts')}")
    return script


def test_console_script_is_the_module(summaries):
    result = run([console_script(), "train", "--json"], env=ONE_THREAD)
    assert result.returncode == 0, result.stderr
    assert result.stdout == summaries["autograd"][0]


def section(out, heading):
    """The lines of the table that follows the line starting with `heading`."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading)) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


CLASSES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]


def test_human_output_names_features_and_classes(capsys):
    code, out, _ = call(capsys, "--epochs", "200", "--log-every", "50")
    assert code == 0
    assert "Train Epoch: 50/200" in out and "Train Epoch: 200/200" in out
    assert "Test set: cross-entropy" in out and "perplexity" in out
    header, *rows = section(out, "Learned weights")
    assert header.split() == CLASSES
    assert [row.split()[0] for row in rows] == [
        "SepalLengthCm",
        "SepalWidthCm",
        "PetalLengthCm",
        "PetalWidthCm",
        "(bias)",
    ]
    assert all(len(row.split()) == 4 for row in rows)
    header, *rows = section(out, "Confusion matrix")
    assert header.split() == CLASSES
    assert [row.split()[0] for row in rows] == CLASSES
    assert sum(int(n) for row in rows for n in row.split()[1:]) == 30
    header, *rows = section(out, "Per class")
    assert header.split() == ["precision", "recall", "f1", "rows"]
    assert [row.split()[0] for row in rows] == [*CLASSES, "macro", "weighted"]


def test_own_csv_with_another_target_column(tmp_path, capsys):
    """Rows shuffled and the label column renamed: same classes, same numbering."""
    from iris_torch.data.prepare import iris_path

    header, *rows = iris_path().read_text().splitlines()
    rows.sort(key=lambda row: row.split(",")[3])  # any order but the original
    csv = tmp_path / "flowers.csv"
    csv.write_text("\n".join([header.replace("Species", "kind"), *rows]) + "\n")
    code, out, _ = call(
        capsys,
        "--json",
        "--data",
        str(csv),
        "--target",
        "kind",
        "--batch-size",
        "16",
        "--epochs",
        "300",
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["class_names"] == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    assert summary["test_accuracy"] >= 0.9


def assert_clean_error(code, out, err, *fragments):
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_missing_data_file_is_one_line_and_exit_2(tmp_path):
    result = run([*TRAIN, "--data", "no-such.csv"], cwd=tmp_path)
    assert_clean_error(result.returncode, result.stdout, result.stderr, "not found: no-such.csv")
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_target_column_is_one_line_and_exit_2(tmp_path, capsys):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,x\n2,y\n")
    code, out, err = call(capsys, "--data", str(csv))
    assert_clean_error(code, out, err, "no target column 'Species'")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--lr", "0"], "--lr: '0' must be a finite number > 0"),
        (["--lr", "nan"], "--lr: 'nan' must be a finite number > 0"),
        (["--epochs", "0"], "--epochs: '0' must be an integer of at least 1"),
        (["--test-size", "1.5"], "--test-size: '1.5' must be a share strictly between 0 and 1"),
        (["--l2", "-0.1"], "--l2: '-0.1' must be a finite number >= 0"),
        (["--backend", "jax"], "invalid choice: 'jax'"),
    ],
)
def test_bad_flags_exit_2(flags, message, capsys):
    assert_clean_error(*call(capsys, *flags), message)
