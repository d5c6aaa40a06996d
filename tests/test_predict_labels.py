"""predict reads a file's labels as training read the model's: numbers as numbers (1, 1.0 and
001 are one class), text as text. Labels the model does not know are named on stderr and left
out of the accuracy; numeric classes come out as numbers, in --json and in --out's CSV, so that
pandas compares them with the file's labels.

Each accuracy here is checked against a second computation (another writing of the same
labels, or pandas on the files), never against a pasted number.
"""

import json

import pandas as pd
import pytest
import torch
from conftest import run_main
from sklearn import datasets

from iris_torch import CheckpointError, checkpoint, load_csv
from iris_torch.cli.predict import main as predict_main
from iris_torch.cli.train import main as train_main
from iris_torch.data.read import codes_for, iris_path

TRAIN = ["--json", "--epochs", "50", "--device", "cpu"]
WRITINGS = ("int", "float", "padded")  # the wine cultivars 1, 2, 3 as 1, as 1.0, as 001


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Wine with its cultivar written as 1/2/3, 1.0/2.0/3.0, 001/002/003 and 0.5/1.5/-2.25;
    Iris as it comes; a model trained on each but the padded one."""
    folder = tmp_path_factory.mktemp("labels")
    wine = datasets.load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    cultivar = wine.cultivar + 1
    wine.assign(cultivar=cultivar).to_csv(folder / "int.csv", index=False)
    wine.assign(cultivar=cultivar.astype(float)).to_csv(folder / "float.csv", index=False)
    wine.assign(cultivar=cultivar.map("{:03d}".format)).to_csv(folder / "padded.csv", index=False)
    fractions = wine.cultivar.map({0: 0.5, 1: 1.5, 2: -2.25})
    wine.assign(cultivar=fractions).to_csv(folder / "fraction.csv", index=False)
    pd.read_csv(iris_path()).drop(columns="Id").to_csv(folder / "iris.csv", index=False)
    targets = {"int": "cultivar", "float": "cultivar", "fraction": "cultivar", "iris": "Species"}
    for name, target in targets.items():
        data = ["--data", str(folder / f"{name}.csv"), "--target", target]
        assert train_main([*TRAIN, *data, "--save", str(folder / f"{name}.pt")]) == 0
    return folder


def predicted(capsys, model, data, *flags):
    """predict --json on a file: (its JSON result, its stderr)."""
    argv = ["--model", str(model), "--csv", str(data), "--json", *flags]
    code, out, err = run_main(predict_main, argv, capsys)
    assert code == 0, err
    return json.loads(out), err


def test_labels_written_1_and_1_0_train_the_same_model(folder):
    ints, floats = checkpoint.load(folder / "int.pt"), checkpoint.load(folder / "float.pt")
    assert ints.class_names == floats.class_names == ("1", "2", "3")
    assert ints.numeric_classes and floats.numeric_classes
    torch.testing.assert_close(ints.weight, floats.weight, rtol=0, atol=0)


@pytest.mark.parametrize("trained_on", ["int", "float"])
def test_a_model_scores_every_writing_of_its_labels_alike(trained_on, folder, capsys):
    model = folder / f"{trained_on}.pt"
    same, err = predicted(capsys, model, folder / f"{trained_on}.csv")
    assert same["accuracy"] > 0.9 and err == ""
    for other in WRITINGS:
        result, err = predicted(capsys, model, folder / f"{other}.csv")
        assert result["accuracy"] == same["accuracy"], other
        assert err == "" and "unknown_labels" not in result, other


def test_007_and_7_are_one_class(tmp_path):
    (tmp_path / "l.csv").write_text("x,label\n1,007\n2,7\n3, 7 \n4,7.0\n5,2\n6,02\n7,2e0\n")
    data = load_csv(tmp_path / "l.csv", target="label")
    assert data.class_names == ("2", "7")
    assert data.y.tolist() == [1, 1, 1, 1, 0, 0, 0]
    labels = pd.Series(["007", " 7.00", "2", "x", None, "7_0"], dtype=object)
    assert codes_for(labels, data.class_names, numeric=True).tolist() == [1, 1, 0, -1, -1, -1]


def test_a_label_with_an_underscore_is_a_name(tmp_path):
    (tmp_path / "u.csv").write_text("x,label\n1,1_0\n2,2_0\n3,10\n")
    data = load_csv(tmp_path / "u.csv", target="label")
    assert data.class_names == ("10", "1_0", "2_0")  # text, sorted as text
    assert codes_for(pd.Series(["1_0", "10"]), ("1", "10"), numeric=True).tolist() == [-1, 1]


def unknown_labels_file(folder, labels: dict[int, str]):
    """int.csv with the labels of the given rows replaced (None: blank)."""
    frame = pd.read_csv(folder / "int.csv", dtype={"cultivar": object})
    for row, label in labels.items():
        frame.loc[row, "cultivar"] = label
    path = folder / f"unknown_{len(labels)}.csv"
    frame.to_csv(path, index=False)
    return path


def test_unknown_labels_are_named_and_left_out_of_the_accuracy(folder, capsys):
    replaced = {0: "x", 1: "x", 2: " x", 3: "y", 4: None, 5: " ", 6: "9", 7: "1.5", 8: "inf"}
    path = unknown_labels_file(folder, {**replaced, 9: "z"})
    result, err = predicted(capsys, folder / "int.pt", path, "--out", str(folder / "p.csv"))

    # pandas, on its own: which rows are 1, 2 or 3, what the others say, the accuracy on the rest.
    written = pd.read_csv(path, dtype={"cultivar": str}, keep_default_na=False).cultivar
    written = written.str.strip()
    known = written.isin(["1", "2", "3"])
    expected = written[~known].value_counts()
    assert result["unknown_labels"] == expected.to_dict()
    out = pd.read_csv(folder / "p.csv")
    accuracy = (out.predicted[known] == written[known].astype(int)).mean()
    assert result["accuracy"] == pytest.approx(accuracy, abs=1e-15)

    note = (
        f"python -m iris_torch.predict: note: {expected.sum()} rows have labels the model does "
        "not know ('x' 3 rows, '' 2 rows, '1.5' 1 row, '9' 1 row, 'inf' 1 row, ...); "
        f"accuracy is over the other {known.sum()}"
    )
    wrote = f"python -m iris_torch.predict: wrote 178 predictions to {folder / 'p.csv'}"
    assert err.splitlines() == [note, wrote]
    code, report, err_again = run_main(
        predict_main, ["--model", str(folder / "int.pt"), "--csv", str(path)], capsys
    )
    assert (code, err_again) == (0, note + "\n")
    assert report.endswith(f"Accuracy against the file's labels: {accuracy:.1%}\n")


def test_one_unknown_label_is_one_row(folder, capsys):
    result, err = predicted(capsys, folder / "int.pt", unknown_labels_file(folder, {0: "x"}))
    assert result["unknown_labels"] == {"x": 1}
    assert "note: 1 row has a label the model does not know ('x' 1 row); accuracy is " in err


@pytest.mark.parametrize("labels", ["shifted", "blank"])
def test_with_no_known_label_there_is_no_accuracy(labels, folder, capsys):
    frame = pd.read_csv(folder / "int.csv")
    frame["cultivar"] = frame.cultivar + 10 if labels == "shifted" else None
    frame.to_csv(folder / f"{labels}.csv", index=False)
    result, err = predicted(capsys, folder / "int.pt", folder / f"{labels}.csv")
    assert result["accuracy"] is None
    assert sum(result["unknown_labels"].values()) == len(frame)
    assert len(err.splitlines()) == 1
    assert err.rstrip().endswith("no row has a label the model knows, so there is no accuracy")
    argv = ["--model", str(folder / "int.pt"), "--csv", str(folder / f"{labels}.csv")]
    code, report, _ = run_main(predict_main, argv, capsys)
    assert code == 0 and "Accuracy" not in report


TYPED = {  # model and data -> the type of every class in --json
    "int": ("int.csv", "cultivar", int),
    "float": ("float.csv", "cultivar", int),  # 1.0 is the integer 1
    "fraction": ("fraction.csv", "cultivar", float),
    "iris": ("iris.csv", "Species", str),
}


@pytest.mark.parametrize("model", TYPED)
def test_json_classes_are_numbers_for_a_numeric_target_and_text_otherwise(model, folder, capsys):
    data, target, kind = TYPED[model]
    result, _ = predicted(capsys, folder / f"{model}.pt", folder / data)
    names = result["class_names"]
    assert names == sorted(pd.read_csv(folder / data)[target].unique())
    assert {type(name) for name in names} == {kind}
    assert {type(p["predicted"]) for p in result["predictions"]} == {kind}
    assert {p["predicted"] for p in result["predictions"]} <= set(names)
    keys = list(checkpoint.load(folder / f"{model}.pt").class_names)
    assert keys == [str(name) for name in names]  # probabilities keyed by the names as text
    assert all(list(p["probabilities"]) == keys for p in result["predictions"])


@pytest.mark.parametrize("model", ["int", "fraction"])
def test_the_report_shows_numeric_classes_as_json_gives_them(model, folder, capsys):
    data = folder / TYPED[model][0]
    result, _ = predicted(capsys, folder / f"{model}.pt", data)
    code, report, err = run_main(
        predict_main, ["--model", str(folder / f"{model}.pt"), "--csv", str(data)], capsys
    )
    assert code == 0, err
    rows = [line.split() for line in report.splitlines() if line.startswith("row ")]
    assert [row[2] for row in rows] == [str(p["predicted"]) for p in result["predictions"]]


@pytest.mark.parametrize(
    ("model", "data", "dtype"),
    [
        ("int", "int", "int64"),
        ("int", "float", "int64"),
        ("float", "int", "int64"),
        ("float", "padded", "int64"),
        ("fraction", "fraction", "float64"),
        ("iris", "iris", "text"),
    ],
)
def test_out_csv_compares_with_the_files_labels_in_pandas(model, data, dtype, folder, capsys):
    out = folder / f"p_{model}_{data}.csv"
    result, _ = predicted(capsys, folder / f"{model}.pt", folder / f"{data}.csv", "--out", str(out))
    target = "Species" if data == "iris" else "cultivar"
    predictions, labels = pd.read_csv(out).predicted, pd.read_csv(folder / f"{data}.csv")[target]
    text = pd.api.types.is_string_dtype(predictions)  # object or str, by pandas' version
    assert ("text" if text else str(predictions.dtype)) == dtype
    assert (predictions == labels).mean() == pytest.approx(result["accuracy"], abs=1e-15)
    assert result["accuracy"] > 0.8  # so not 0 == 0: the labels did match


def test_a_checkpoint_saved_before_numeric_classes_loads_as_text(folder, capsys):
    record = torch.load(folder / "int.pt", weights_only=True)
    assert record["numeric_classes"] is True
    del record["numeric_classes"]
    torch.save(record, folder / "old.pt")
    assert checkpoint.load(folder / "old.pt").numeric_classes is False
    result, _ = predicted(capsys, folder / "old.pt", folder / "int.csv")
    assert result["class_names"] == ["1", "2", "3"]  # as before: text
    torch.save({**record, "numeric_classes": "yes"}, folder / "odd.pt")
    with pytest.raises(CheckpointError, match="numeric_classes should be True or False"):
        checkpoint.load(folder / "odd.pt")
