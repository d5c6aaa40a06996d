"""The README tells the truth: its example runs, its sample output and flag table match."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from printed import same_text

import iris_torch
from iris_torch.cli.predict import main as predict_main
from iris_torch.cli.train import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def fenced_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_api_example_runs_and_its_assertion_holds():
    (example,) = [
        block
        for block in fenced_blocks("python")
        if "predictions.csv" not in block and "torchrun" not in block
    ]
    exec(compile(example, "README.md", "exec"), {})


def test_torchrun_example_trains_the_model_of_one_process(tmp_path):
    """The README's data-parallel script, run as it says (torchrun's module, 2 processes),
    prints the final loss and accuracy that the same training prints in one process."""
    (example,) = [block for block in fenced_blocks("python") if "torchrun" in block]
    (tmp_path / "ddp_iris.py").write_text(example)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    result = subprocess.run(
        [*torchrun, "--nproc-per-node", "2", "ddp_iris.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    loss, accuracy = map(float, result.stdout.split())

    data = iris_torch.load_iris()
    X_train, X_test, y_train, y_test = iris_torch.train_test_split(data.X, data.y, seed=0)
    scaler = iris_torch.Standardizer.fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = iris_torch.make_backend("autograd", data.n_features, data.n_classes, seed=0)
    history = iris_torch.fit(model, X_train, y_train, epochs=500)
    assert loss == pytest.approx(history.loss[-1], rel=1e-5)  # float32: sums split in two
    assert accuracy == iris_torch.evaluate(model, X_test, y_test).accuracy


def test_predictions_example_reads_back_what_predict_scored(tmp_path, monkeypatch, capsys):
    """The README's commands, then its pandas lines, in a folder with the repository's data."""
    (example,) = [block for block in fenced_blocks("python") if "predictions.csv" in block]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "Iris.csv").symlink_to(ROOT / "data" / "Iris.csv")
    assert main(["--save", "model.pt", "--log-every", "0", "--json"]) == 0
    flags = ["--model", "model.pt", "--csv", "data/Iris.csv", "--json"]
    assert predict_main([*flags, "--out", "predictions.csv"]) == 0
    capsys.readouterr()
    assert predict_main(flags) == 0
    accuracy = json.loads(capsys.readouterr().out)["accuracy"]
    exec(compile(example, "README.md", "exec"), {})
    assert float(capsys.readouterr().out) == pytest.approx(accuracy, abs=1e-15)


def test_sample_output_is_what_the_main_command_prints(capsys):
    sample = next(block for block in fenced_blocks("text") if "Train Epoch" in block)
    assert main(["--backend", "autograd"]) == 0
    printed = capsys.readouterr().out.splitlines()

    # The same words, numbers close to the last printed digit (they may vary with the CPU).
    for line in sample.splitlines():
        if line != "...":
            assert any(same_text(line, actual) for actual in printed), line


def test_flag_table_lists_every_flag_and_only_those():
    flags = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    documented = set(re.findall(r"^\| `(--[a-z0-9-]+)", README, flags=re.MULTILINE))
    assert documented == flags
