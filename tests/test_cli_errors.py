"""Bad input, through the real command line: one line on stderr, the right exit code, no
traceback, nothing written. Then the paths that must work: awkward but valid data, other real
datasets, train -> save -> predict, plots, and a checkpoint that would run code.

Every bad-input case is its own process, as a user would run it; they run side by side, one
per core and one thread each. Most are answered before torch is imported, so each costs well
under a second. Runs that are expected to succeed call the same main() in this process.
"""

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_main
from sklearn import datasets

from iris_torch.cli.predict import main as predict_main
from iris_torch.cli.train import main as train_main

TRAIN = [sys.executable, "-m", "iris_torch.train"]
PREDICT = [sys.executable, "-m", "iris_torch.predict"]
IRIS = Path(__file__).resolve().parents[1] / "data" / "Iris.csv"
HEADER = "Id,SepalLengthCm,SepalWidthCm,PetalLengthCm,PetalWidthCm,Species\n"
ROWS = "".join(
    f"{i},{5 + i / 10},{3 + i / 20},{1 + i / 5},{i / 10},{'ab'[i % 2]}\n" for i in range(1, 13)
)


class Evil:
    """Unpickling this runs a shell command: what a malicious checkpoint would do."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def two_files_zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", HEADER + ROWS)
        archive.writestr("b.csv", HEADER + ROWS)
    return buffer.getvalue()


def write_inputs(folder: Path) -> None:
    """The input files the cases below refer to, all in `folder`."""
    files = {
        "empty.csv": "",
        "header_only.csv": HEADER,
        "binary.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01",
        "latin1.csv": "x,label\n1,caf\xe9\n2,th\xe9\n".encode("latin-1"),
        "long_row.csv": HEADER + ROWS + "13,1,2,3,4,a,extra\n",
        "short_row.csv": HEADER + "1,5.1,3.5,1.4\n" + ROWS,
        "text_feature.csv": HEADER + ROWS.replace("1,5.1,", "1,abc,", 1),
        "blank_cell.csv": HEADER + ROWS.replace("2,5.2,", "2,,", 1),
        "inf_cell.csv": HEADER + ROWS.replace("3,5.3,", "3,inf,", 1),
        "nan_cell.csv": HEADER + ROWS.replace("3,5.3,", "3,NaN,", 1),
        "blank_label.csv": HEADER + ROWS.replace(",a\n", ", \n", 1),
        "one_class.csv": HEADER + ROWS.replace(",b\n", ",a\n"),
        "lonely_class.csv": HEADER + ROWS + "13,1,2,3,4,c\n",
        "only_target.csv": "Id,Species\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(9)),
        "good.csv": HEADER + ROWS,
        "huge_value.csv": HEADER + ROWS.replace("3,5.3,", "3,1e39,", 1),
        # Python's float() reads digit groups; a CSV reader must not
        "grouped_digits.csv": HEADER + ROWS.replace("2,5.2,", "2,5_2,", 1),
        "open_quote.csv": HEADER + '1,"5.1,3.5,1.4,0.2,a\n' + ROWS,
        "utf16.csv": HEADER.encode("utf-16"),
        "damaged.csv.gz": b"\x1f\x8b\x08\x00" + bytes(range(40)),
        "two_files.zip": two_files_zipped(),
        # valid but awkward: must train
        "constant_column.csv": IRIS.read_text()
        .replace(",Iris-", ",1.0,Iris-")
        .replace("PetalWidthCm,", "PetalWidthCm,Constant,"),
        "integer_labels.csv": IRIS.read_text()
        .replace("Iris-setosa", "10")
        .replace("Iris-versicolor", "2")
        .replace("Iris-virginica", "3"),
        "spaced_labels.csv": IRIS.read_text().replace("Iris-", "Iris "),
    }
    for name, content in files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(folder / name, mode) as handle:
            handle.write(content)
    (folder / "a_directory").mkdir()
    # good.csv by other names: writing to either would destroy it
    (folder / "link.csv").symlink_to("good.csv")
    os.link(folder / "good.csv", folder / "hard.csv")
    torch.save({"weight": torch.zeros(3, 4)}, folder / "foreign.pt")
    torch.save({"format": "iris_torch checkpoint", "payload": Evil()}, folder / "evil.pt")
    with open(folder / "evil.pkl", "wb") as handle:
        pickle.dump(Evil(), handle)


# (case id, command, exit code, what stderr must say)
ERRORS = [
    # data
    ("missing file", [*TRAIN, "--data", "nowhere.csv"], 2, "data file not found: nowhere.csv"),
    ("directory", [*TRAIN, "--data", "a_directory"], 2, "a_directory is a directory"),
    ("empty file", [*TRAIN, "--data", "empty.csv"], 2, "empty.csv is empty"),
    ("header only", [*TRAIN, "--data", "header_only.csv"], 2, "has a header but no rows"),
    ("binary", [*TRAIN, "--data", "binary.csv"], 2, "binary.csv is not a text file"),
    ("not utf-8", [*TRAIN, "--data", "latin1.csv", "--target", "label"], 2, "is not UTF-8"),
    (
        "long row",
        [*TRAIN, "--data", "long_row.csv"],
        2,
        "long_row.csv, line 14: 7 values, but the header names 6 columns",
    ),
    (
        "short row",
        [*TRAIN, "--data", "short_row.csv"],
        2,
        "short_row.csv, line 2: 4 values, but the header names 6 columns",
    ),
    ("no target", [*TRAIN, "--data", "good.csv", "--target", "Kind"], 2, "no target column 'Kind'"),
    (
        "wrong separator",
        [*TRAIN, "--data", "good.csv", "--sep", "|"],
        2,
        "no target column 'Species'; the header is read as one column, "
        "'Id,SepalLengthCm,SepalWidthCm,PetalLengthCm,PetalWidthCm,Species': if its names are "
        "separated by another character, name it with --sep",
    ),
    (
        "text feature",
        [*TRAIN, "--data", "text_feature.csv"],
        2,
        "line 2, column 'SepalLengthCm' is 'abc', not a number",
    ),
    (
        "blank cell",
        [*TRAIN, "--data", "blank_cell.csv"],
        2,
        "blank_cell.csv: 1 missing value in 'SepalLengthCm' (line 3); leave those rows out with "
        "--dropna",
    ),
    ("inf", [*TRAIN, "--data", "inf_cell.csv"], 2, "line 4, column 'SepalLengthCm' is 'inf'"),
    (
        "nan",
        [*TRAIN, "--data", "nan_cell.csv"],
        2,
        "1 missing value in 'SepalLengthCm' (line 4: 'NaN')",
    ),
    (
        "blank label",
        [*TRAIN, "--data", "blank_label.csv"],
        2,
        "blank_label.csv: 1 missing label in 'Species' (line 3)",
    ),
    ("one class", [*TRAIN, "--data", "one_class.csv"], 2, "holds one class only ('a')"),
    ("lonely class", [*TRAIN, "--data", "lonely_class.csv"], 2, "class 'c' has only 1 row"),
    ("no features", [*TRAIN, "--data", "only_target.csv"], 2, "no feature columns"),
    (
        "beyond float32",
        [*TRAIN, "--data", "huge_value.csv"],
        2,
        "line 4, column 'SepalLengthCm' is '1e39', beyond float32's range",
    ),
    (
        "digit groups",
        [*TRAIN, "--data", "grouped_digits.csv"],
        2,
        "line 3, column 'SepalLengthCm' is '5_2', not a number",
    ),
    ("open quote", [*TRAIN, "--data", "open_quote.csv"], 2, "open_quote.csv, line"),
    ("utf-16", [*TRAIN, "--data", "utf16.csv"], 2, "utf16.csv is UTF-16 text"),
    ("damaged gzip", [*TRAIN, "--data", "damaged.csv.gz"], 2, "cannot decompress it as gzip"),
    ("zip of two", [*TRAIN, "--data", "two_files.zip"], 2, "holds 2 files; expected one CSV"),
    ("sep", [*TRAIN, "--sep", "ab"], 2, "--sep: 'ab' is not a separator"),
    (
        "seed too big",
        [*TRAIN, "--seed", "99999999999999999999"],
        2,
        "--seed: '99999999999999999999' must be an integer from 0",
    ),
    ("seed negative", [*TRAIN, "--seed", "-1"], 2, "--seed: '-1' must be an integer from 0"),
    ("bad drop", [*TRAIN, "--drop", "Colour"], 2, "no column to drop 'Colour'"),
    ("tiny test set", [*TRAIN, "--test-size", "0.01"], 2, "puts 2 of 150 rows in the test set"),
    ("tinier test set", [*TRAIN, "--test-size", "0.001"], 2, "puts 1 of 150 rows in the test set"),
    # flags
    ("test size 1.0", [*TRAIN, "--test-size", "1.0"], 2, "--test-size: '1.0' must be a share"),
    ("test size -1", [*TRAIN, "--test-size", "-1"], 2, "--test-size: '-1' must be a share"),
    ("test size text", [*TRAIN, "--test-size", "most"], 2, "--test-size: 'most' is not a number"),
    ("test size 1 row", [*TRAIN, "--test-size", "1"], 2, "--test-size 1 puts 1 of 150 rows"),
    (
        "test size and test data",
        [*TRAIN, "--test-size", "0.3", "--test-data", "good.csv"],
        2,
        "give --test-size or --test-data, not both",
    ),
    ("epochs 1.5", [*TRAIN, "--epochs", "1.5"], 2, "--epochs: '1.5' is not a whole number"),
    # an output that would destroy an input, or another output
    (
        "save over the data",
        [*TRAIN, "--data", "good.csv", "--save", "good.csv"],
        2,
        "--save good.csv would overwrite good.csv, which --data reads",
    ),
    (
        "save over a hard link to the data",
        [*TRAIN, "--data", "good.csv", "--save", "hard.csv"],
        2,
        "--save hard.csv would overwrite good.csv (the same file), which --data reads",
    ),
    (
        "plot over the data through a symbolic link",
        [*TRAIN, "--data", "good.csv", "--plot", "link.csv"],
        2,
        "--plot link.csv would overwrite good.csv (the same file), which --data reads",
    ),
    (
        "save over a file of a pattern",
        [*TRAIN, "--data", "goo*.csv", "--save", "good.csv"],
        2,
        "--save good.csv would overwrite good.csv, which --data reads",
    ),
    (
        "save over the test data",
        [*TRAIN, "--data", "good.csv", "--test-data", "link.csv", "--save", "good.csv"],
        2,
        "--save good.csv would overwrite good.csv, which --data reads; --save good.csv would "
        "overwrite link.csv (the same file), which --test-data reads",
    ),
    (
        "save and plot to one file",
        [*TRAIN, "--save", "run.png", "--plot", "./run.png"],
        2,
        "--save and --plot both write ./run.png",
    ),
    (
        "save to standard output",
        [*TRAIN, "--save", "-"],
        2,
        "--save writes a file, not standard output: give a file name",
    ),
    (
        "save name too long",
        [*TRAIN, "--save", "m" * 300 + ".pt"],
        2,
        "--save: the file name mmmm",  # ... is longer than the 255 bytes its file system allows
    ),
    ("data name too long", [*TRAIN, "--data", "d" * 300 + ".csv"], 2, "cannot read dddd"),
    ("lr 0", [*TRAIN, "--lr", "0"], 2, "--lr: '0' must be a finite number > 0"),
    ("lr negative", [*TRAIN, "--lr", "-1"], 2, "--lr: '-1' must be a finite number > 0"),
    ("lr nan", [*TRAIN, "--lr", "nan"], 2, "--lr: 'nan' must be a finite number > 0"),
    ("lr inf", [*TRAIN, "--lr", "inf"], 2, "--lr: 'inf' must be a finite number > 0"),
    ("lr text", [*TRAIN, "--lr", "fast"], 2, "--lr: 'fast' is not a number"),
    ("l2 negative", [*TRAIN, "--l2", "-0.1"], 2, "--l2: '-0.1' must be a finite number >= 0"),
    ("epochs 0", [*TRAIN, "--epochs", "0"], 2, "--epochs: '0' must be an integer of at least 1"),
    ("batch 0", [*TRAIN, "--batch-size", "0"], 2, "--batch-size: '0' must be an integer of"),
    ("backend", [*TRAIN, "--backend", "jax"], 2, "argument --backend: invalid choice: 'jax'"),
    ("dtype", [*TRAIN, "--dtype", "float16"], 2, "argument --dtype: invalid choice: 'float16'"),
    ("device", [*TRAIN, "--device", "tpu"], 2, "argument --device: invalid choice: 'tpu'"),
    (
        "save dir missing",
        [*TRAIN, "--save", "no/such/dir/m.pt"],
        2,
        "the directory 'no/such/dir' does not exist",
    ),
    (
        "save to a directory",
        [*TRAIN, "--save", "a_directory"],
        2,
        "--save a_directory is a directory",
    ),
    (
        "plot dir missing",
        [*TRAIN, "--plot", "no/such/plot.png"],
        2,
        "the directory 'no/such' does not exist",
    ),
    # a run that starts, then fails
    (
        "diverges",
        [*TRAIN, "--lr", "1000", "--no-standardize", "--save", "model.pt", "--plot", "p.png"],
        1,
        "training diverged: the loss rose from",
    ),
    (
        "diverges by the penalty",
        [*TRAIN, "--l2", "100"],
        1,
        "with --l2 100 the penalty alone makes every step overshoot unless --lr is below 1/l2 "
        "= 0.01 (it was 0.1); try a smaller --lr or --l2",
    ),
    # predict
    (
        "predict no model",
        [*PREDICT, "--model", "nothing.pt", "1", "2", "3", "4"],
        2,
        "model file not found: nothing.pt",
    ),
    (
        "predict a csv as model",
        [*PREDICT, "--model", "good.csv", "1", "2", "3", "4"],
        2,
        "not an iris_torch model file",
    ),
    (
        "predict foreign torch file",
        [*PREDICT, "--model", "foreign.pt", "1", "2", "3", "4"],
        2,
        "a PyTorch file, but not an iris_torch model file",
    ),
    (
        "predict malicious checkpoint",
        [*PREDICT, "--model", "evil.pt", "1", "2", "3", "4"],
        2,
        "refused to load evil.pt: it holds Python objects",
    ),
    (
        "predict malicious pickle",
        [*PREDICT, "--model", "evil.pkl", "1", "2", "3", "4"],
        2,
        "refused to load evil.pkl",
    ),
    (
        "predict no model flag",
        [*PREDICT, "1", "2"],
        2,
        "the following arguments are required: --model",
    ),
    ("predict text value", [*PREDICT, "--model", "x.pt", "1", "two"], 2, "'two' is not a number"),
    (
        "predict json where the predictions go",
        [*PREDICT, "--model", "x.pt", "--csv", "good.csv", "--out", "-", "--json"],
        2,
        "--out - writes the predictions to standard output, where --json would print",
    ),
    (
        "predict out of unknown kind",
        [*PREDICT, "--model", "x.pt", "--csv", "good.csv", "--out", "p.txt"],
        2,
        "--out p.txt: predict writes files named by their kind: .csv, .tsv, .csv.gz",
    ),
    (
        "predict model name too long",
        [*PREDICT, "--model", "m" * 300 + ".pt", "1", "2", "3", "4"],
        2,
        "cannot read mmmm",
    ),
    (
        "predict out name too long",
        [*PREDICT, "--model", "x.pt", "--csv", "good.csv", "--out", "p" * 300 + ".csv"],
        2,
        "--out: the file name pppp",
    ),
    (
        "predict inf value",
        [*PREDICT, "--model", "x.pt", "1", "inf"],
        2,
        "'inf' must be a finite number",
    ),
]
# A device this machine lacks (CI has no GPU; on a machine with one, that case is left out).
ERRORS += [
    (f"no {device}", [*TRAIN, "--device", device], 2, f"--device {device} is not available")
    for device, present in [
        ("cuda", torch.cuda.is_available()),
        ("mps", torch.backends.mps.is_available()),
    ]
    if not present
]
NEEDS_MODEL = [
    (
        "predict too few values",
        [*PREDICT, "--model", "model.pt", "5.1", "3.5", "1.4"],
        2,
        "the model takes 4 feature values (SepalLengthCm, SepalWidthCm, PetalLengthCm, "
        "PetalWidthCm); got 3",
    ),
    (
        "predict nothing",
        [*PREDICT, "--model", "model.pt"],
        2,
        "give the feature values of a row, or --csv PATH",
    ),
    (
        "predict both",
        [*PREDICT, "--model", "model.pt", "--csv", "good.csv", "1", "2", "3", "4"],
        2,
        "not both",
    ),
    (
        "predict csv missing column",
        [*PREDICT, "--model", "model.pt", "--csv", "only_target.csv"],
        2,
        "no columns 'SepalLengthCm', 'SepalWidthCm', 'PetalLengthCm', 'PetalWidthCm'; the "
        "model needs",
    ),
    (
        "predict out over its csv",
        [*PREDICT, "--model", "model.pt", "--csv", "good.csv", "--out", "good.csv"],
        2,
        "--out good.csv would overwrite good.csv, which --csv reads",
    ),
    (
        "predict out over the model",
        [*PREDICT, "--model", "model.pt", "--csv", "good.csv", "--out", "model.pt"],
        2,
        "--out model.pt would overwrite model.pt, which --model reads",
    ),
    (
        "predict out over its csv through a symbolic link",
        [*PREDICT, "--model", "model.pt", "--csv", "link.csv", "--out", "hard.csv"],
        2,
        "--out hard.csv would overwrite link.csv (the same file), which --csv reads",
    ),
    (
        "predict value beyond float32",
        [*PREDICT, "--model", "model.pt", "1e39", "3.5", "1.4", "0.2"],
        2,
        "a feature value is beyond the range of the model's torch.float32",
    ),
    (
        "predict csv bad cell",
        [*PREDICT, "--model", "model.pt", "--csv", "inf_cell.csv"],
        2,
        "line 4, column 'SepalLengthCm' is 'inf'",
    ),
]
AWKWARD = {
    "constant column": ["--data", "constant_column.csv"],
    "integer labels": ["--data", "integer_labels.csv"],
    "labels with spaces": ["--data", "spaced_labels.csv"],
}


def run_all(commands: dict, cwd: Path) -> dict:
    """Run every command in `cwd`, as many at a time as there are cores, one thread each."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run(command):
        result = subprocess.run(
            command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
        )
        return result.returncode, result.stdout, result.stderr

    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        results = pool.map(run, commands.values())
        return dict(zip(commands, results, strict=True))


def listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every case's (exit code, stdout, stderr), and the files before and after."""
    folder = tmp_path_factory.mktemp("cli")
    write_inputs(folder)
    before = listing(folder)
    first = run_all(
        {
            **{case: command for case, command, _, _ in ERRORS},
            "train and save": [*TRAIN, "--json", "--save", "model.pt", "--log-every", "0"],
        },
        folder,
    )
    assert first["train and save"][0] == 0, first["train and save"][2]
    second = run_all(
        {
            **{case: command for case, command, _, _ in NEEDS_MODEL},
            "predict one": [*PREDICT, "--model", "model.pt", "--json", "5.1", "3.5", "1.4", "0.2"],
        },
        folder,
    )
    return {**first, **second}, folder, before


@pytest.mark.parametrize(
    ("case", "expected_code", "message"),
    [(case, code, message) for case, _, code, message in ERRORS + NEEDS_MODEL],
    ids=[case for case, *_ in ERRORS + NEEDS_MODEL],
)
def test_bad_input_is_one_clear_line(case, expected_code, message, runs):
    results, _, _ = runs
    code, stdout, stderr = results[case]
    assert code == expected_code, stderr
    if expected_code == 2:  # refused before starting: nothing on stdout
        assert stdout == ""
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert message in stderr, stderr


def test_nothing_is_written_by_a_failed_run_and_no_code_ran(runs):
    _, folder, before = runs
    # The only new file is the one model saved on purpose: no partial files, no temporary
    # files, no plot or model from the run that diverged, and no trace of the evil payload.
    assert listing(folder) - before == {"model.pt"}


@pytest.mark.parametrize("case", AWKWARD)
def test_awkward_but_valid_data_trains(case, runs, capsys, monkeypatch):
    """In this process (the same main() as the command), as nothing here is about exiting."""
    _, folder, _ = runs
    monkeypatch.chdir(folder)
    code, stdout, stderr = run_main(train_main, ["--json", *AWKWARD[case]], capsys)
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["test_accuracy"] >= 0.9
    expected = {
        "constant column": ["Iris-setosa", "Iris-versicolor", "Iris-virginica"],
        "integer labels": [2, 3, 10],  # sorted as numbers, and numbers in the JSON
        "labels with spaces": ["Iris setosa", "Iris versicolor", "Iris virginica"],
    }[case]
    assert summary["class_names"] == expected
    assert [c["class"] for c in summary["per_class"]] == expected
    if case == "constant column":
        assert "Constant" in summary["feature_names"]
        assert all(np.isfinite(summary["weight"]).ravel())


def probabilities_by_hand(summary, checkpoint_path, row):
    """The model's probabilities for one raw row, computed here from the saved numbers."""
    record = torch.load(checkpoint_path, weights_only=True)
    x = (np.array(row) - record["mean"].numpy()) / record["std"].numpy()
    np.testing.assert_allclose(record["weight"].numpy(), summary["weight"], rtol=1e-6)
    z = x @ record["weight"].double().numpy() + record["bias"].double().numpy()
    e = np.exp(z - z.max())
    return e / e.sum()


def test_train_save_predict_round_trip(runs):
    results, folder, _ = runs
    summary = json.loads(results["train and save"][1])
    code, stdout, stderr = results["predict one"]
    assert code == 0, stderr
    prediction = json.loads(stdout)
    assert prediction["class_names"] == summary["class_names"]
    assert prediction["feature_names"] == summary["feature_names"]
    (only,) = prediction["predictions"]
    expected = probabilities_by_hand(summary, folder / "model.pt", [5.1, 3.5, 1.4, 0.2])
    got = [only["probabilities"][name] for name in summary["class_names"]]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert only["predicted"] == "Iris-setosa"


def test_predict_a_csv_with_labels_reports_accuracy(runs, capsys):
    _, folder, _ = runs
    argv = ["--model", str(folder / "model.pt"), "--json", "--csv", str(IRIS)]
    code, stdout, stderr = run_main(predict_main, argv, capsys)
    assert code == 0, stderr
    prediction = json.loads(stdout)
    assert len(prediction["predictions"]) == 150
    assert prediction["accuracy"] >= 0.9


def test_predict_human_output_names_the_classes(runs, capsys):
    _, folder, _ = runs
    argv = ["--model", str(folder / "model.pt"), "6.3", "2.9", "5.6", "1.8"]
    code, stdout, stderr = run_main(predict_main, argv, capsys)
    assert code == 0, stderr
    assert stdout.startswith("Predicted class: Iris-virginica")
    for name in ("Iris-setosa", "Iris-versicolor", "Iris-virginica"):
        assert name in stdout


def test_malicious_checkpoint_is_refused_in_process_too(runs):
    from iris_torch import CheckpointError
    from iris_torch.checkpoint import load

    _, folder, _ = runs
    with pytest.raises(CheckpointError, match="refused"):
        load(folder / "evil.pt")
    assert not (folder / "PWNED").exists()


@pytest.mark.parametrize(
    ("loader", "target"),
    [(datasets.load_wine, "cultivar"), (datasets.load_breast_cancer, "diagnosis")],
)
def test_other_real_datasets_train_through_data_and_target(loader, target, tmp_path, capsys):
    """Datasets nobody here prepared, written as CSVs with their own names and labels."""
    bunch = loader(as_frame=True)
    frame = bunch.frame.rename(columns={"target": target})
    frame[target] = [bunch.target_names[i] for i in frame[target]]
    frame.insert(0, "id", range(len(frame)))
    frame.to_csv(tmp_path / "data.csv", index=False)
    argv = ["--json", "--data", str(tmp_path / "data.csv"), "--target", target]
    code, stdout, stderr = run_main(train_main, argv, capsys)
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["class_names"] == sorted(bunch.target_names)
    assert summary["feature_names"] == list(bunch.feature_names)  # "id" is not a feature
    assert summary["test_accuracy"] >= 0.9


def test_plot_writes_a_png(tmp_path):
    import matplotlib.image

    assert (
        train_main(["--epochs", "50", "--log-every", "0", "--plot", str(tmp_path / "run.png")]) == 0
    )
    image = matplotlib.image.imread(tmp_path / "run.png")
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert listing(tmp_path) == {"run.png"}


def test_a_reader_that_stops_early_gets_no_traceback():
    """`python -m iris_torch.train | head -1`: the pipe closes while we still print."""
    process = subprocess.Popen(
        [*TRAIN, "--epochs", "3000", "--log-every", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
