"""A practitioner's whole workflow at the command line: every row trained on or a test file of
their own, balanced class weights, a report with F1 and averages that suits the size of the
data, notes on stderr whatever the verbosity, and predictions written in the format their file
name asks for.

Each claim is checked against a second computation: the same run by other flags, the library's
own training, scikit-learn's class weights and scores, pandas' reading of what was written.
"""

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from conftest import run_main
from sklearn import datasets
from sklearn.metrics import precision_recall_fscore_support
from sklearn.utils.class_weight import compute_class_weight

import iris_torch
from iris_torch.cli.predict import main as predict_main
from iris_torch.cli.train import FULL_WEIGHT_TABLE, TOP_WEIGHTS, build_parser
from iris_torch.cli.train import main as train_main
from iris_torch.data.read import iris_path

QUIET = ["--json", "--device", "cpu", "--log-every", "0"]
TRAIN = "python -m iris_torch.train"


def summary(capsys, *flags):
    code, out, err = run_main(train_main, [*QUIET, *flags], capsys)
    assert code == 0, err
    return json.loads(out), err


@pytest.fixture(scope="module")
def iris_files(tmp_path_factory):
    """The bundled Iris split by the user into two files: 120 rows to train on, 30 to test on,
    the test file's columns in another order and with a column of its own."""
    folder = tmp_path_factory.mktemp("split")
    flowers = pd.read_csv(iris_path()).drop(columns="Id")
    test = flowers.groupby("Species").sample(10, random_state=0)
    flowers.drop(test.index).to_csv(folder / "train.csv", index=False)
    test = test.assign(Garden="Kew")[["Species", "Garden", *reversed(flowers.columns[:-1])]]
    test.to_csv(folder / "test.csv", index=False)
    return folder


# -- which rows train and which test ------------------------------------------------------------


def test_test_size_zero_trains_on_every_row_the_model_the_library_trains(capsys):
    trained, _ = summary(capsys, "--test-size", "0", "--dtype", "float64", "--epochs", "200")
    assert (trained["n_train"], trained["n_test"]) == (150, 0)
    assert trained["test_loss"] is trained["test_accuracy"] is trained["perplexity"] is None
    assert trained["scored_on"] == "train" and sum(map(sum, trained["confusion_matrix"])) == 150

    data = iris_torch.load_iris(dtype="float64")  # every row, standardised with their statistics
    scaler = iris_torch.Standardizer.fit(data.X)
    model = iris_torch.make_backend("autograd", 4, 3, dtype=torch.float64)
    iris_torch.fit(model, scaler.transform(data.X), data.y, epochs=200, tol=0.01)
    torch.testing.assert_close(
        torch.tensor(trained["weight"], dtype=torch.float64),
        model.get_params()["weight"],
        rtol=1e-10,
        atol=1e-12,  # the rows in another order: sums in another order
    )


def test_test_size_zero_says_so_in_the_report(capsys):
    code, out, err = run_main(train_main, ["--test-size", "0", "--epochs", "20"], capsys)
    assert code == 0, err
    assert "150 training rows, no test rows (--test-size 0)" in out
    assert "No test set (--test-size 0): every row trained the model" in out
    assert "Per class on the training set (no test set):" in out
    assert "Test set:" not in out and "Test loss" not in out


def test_a_count_of_test_rows_is_the_share_that_holds_as_many(capsys):
    by_count, _ = summary(capsys, "--test-size", "30", "--epochs", "50")
    by_share, _ = summary(capsys, "--test-size", "0.2", "--epochs", "50")
    assert by_count.pop("test_size") == 30 and by_share.pop("test_size") == 0.2
    assert by_count == by_share


def test_test_data_evaluates_on_the_users_file_as_predict_scores_it(iris_files, capsys):
    model = iris_files / "model.pt"
    trained, _ = summary(
        capsys,
        *("--data", str(iris_files / "train.csv"), "--test-data", str(iris_files / "test.csv")),
        *("--save", str(model), "--epochs", "300"),
    )
    assert (trained["n_train"], trained["n_test"]) == (120, 30)
    assert trained["test_data"] == str(iris_files / "test.csv") and trained["test_size"] == 0
    code, out, err = run_main(
        predict_main,
        ["--model", str(model), "--csv", str(iris_files / "test.csv"), "--json"],
        capsys,
    )
    assert code == 0, err
    assert trained["test_accuracy"] == json.loads(out)["accuracy"]
    assert sum(map(sum, trained["confusion_matrix"])) == 30


def test_test_data_that_is_the_training_file_says_so(iris_files, capsys):
    train = iris_files / "train.csv"
    flags = ["--data", str(train), "--epochs", "20"]
    trained, err = summary(capsys, *flags, "--test-data", str(iris_files / "." / "train.csv"))
    said = f"--test-data {iris_files / '.' / 'train.csv'} is the --data file: every row of it"
    assert [note for note in trained["notes"] if note.startswith(said)]
    assert f"note: {said}" in err
    apart, _ = summary(capsys, *flags, "--test-data", str(iris_files / "test.csv"))
    assert not any("is the --data file" in note for note in apart["notes"])


def test_test_data_rows_of_an_unknown_class_are_counted_and_left_out(iris_files, capsys):
    test = pd.read_csv(iris_files / "test.csv")
    test.loc[:4, "Species"] = "Iris-nova"
    test.to_csv(iris_files / "test_nova.csv", index=False)
    flags = ["--data", str(iris_files / "train.csv"), "--epochs", "20"]
    trained, err = summary(capsys, *flags, "--test-data", str(iris_files / "test_nova.csv"))
    assert trained["n_test"] == 25
    nova = iris_files / "test_nova.csv"
    unknown = "5 rows have labels the model does not know ('Iris-nova' 5 rows)"
    assert f"note: --test-data {nova}: {unknown}" in err
    assert trained["notes"] == [f"--test-data {nova}: {unknown}; accuracy is over the other 25"]


def test_test_data_without_a_feature_column_is_one_line(iris_files, capsys):
    pd.read_csv(iris_files / "test.csv").drop(columns="PetalWidthCm").to_csv(
        iris_files / "test_short.csv", index=False
    )
    flags = ["--data", str(iris_files / "train.csv"), "--test-data"]
    code, out, err = run_main(train_main, [*flags, str(iris_files / "test_short.csv")], capsys)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and "'PetalWidthCm'" in err, err


# -- class weights ------------------------------------------------------------------------------


def imbalanced(folder):
    """A 94 / 5 / 1 % three-class table, as scikit-learn makes one, written with pandas."""
    X, y = datasets.make_classification(
        2000, 5, n_informative=4, n_redundant=0, n_classes=3, weights=[0.94, 0.05, 0.01],
        random_state=0, class_sep=1.5,
    )  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(5)]).assign(kind=y)
    frame.to_csv(folder / "imbalanced.csv", index=False)
    return folder / "imbalanced.csv"


def test_balanced_class_weights_are_scikit_learns_on_the_training_rows(tmp_path, capsys):
    path = imbalanced(tmp_path)
    flags = ["--data", str(path), "--target", "kind", "--epochs", "30"]
    assert summary(capsys, *flags)[0]["class_weights"] is None
    balanced, _ = summary(capsys, *flags, "--class-weight", "balanced")
    assert balanced["class_weight"] == "balanced"

    # The training rows are the split's: the test rows' labels and the confusion matrix of the
    # test set give the training set's counts as the file's counts less the test set's.
    labels = pd.read_csv(path)["kind"].to_numpy()
    counts = np.bincount(labels) - np.array(balanced["confusion_matrix"]).sum(axis=1)
    training_labels = np.repeat(np.arange(3), counts)
    expected = compute_class_weight("balanced", classes=np.arange(3), y=training_labels)
    np.testing.assert_allclose(balanced["class_weights"], expected, rtol=1e-12)

    # and the text report says them, as the JSON does
    code, out, _ = run_main(train_main, [*flags, "--class-weight", "balanced"], capsys)
    (line,) = [line for line in out.splitlines() if line.startswith("Class weights")]
    assert line.startswith("Class weights in the loss (--class-weight balanced): 0 ")
    printed = [float(part.split()[-1]) for part in line.split(": ", 1)[1].split(", ")]
    np.testing.assert_allclose(printed, expected, rtol=5e-4)  # 4 significant digits
    plain = run_main(train_main, flags, capsys)[1]
    assert code == 0 and "Class weights" not in plain


def test_balanced_class_weights_find_more_of_the_rarest_class(tmp_path, capsys):
    path = imbalanced(tmp_path)  # scored on all 2000 rows, 20 of them of the rarest class
    flags = ["--data", str(path), "--target", "kind", "--epochs", "300", "--test-size", "0"]
    plain, _ = summary(capsys, *flags)
    balanced, _ = summary(capsys, *flags, "--class-weight", "balanced")
    assert balanced["per_class"][2]["recall"] > plain["per_class"][2]["recall"] + 0.2


# -- the report ---------------------------------------------------------------------------------


def test_report_scores_are_scikit_learns_from_the_same_predictions(capsys):
    trained, _ = summary(capsys, "--epochs", "30")
    confusion = np.array(trained["confusion_matrix"])
    true = np.repeat(np.arange(3), confusion.sum(axis=1))
    predicted = np.concatenate([np.repeat(np.arange(3), row) for row in confusion])
    for average in ("macro", "weighted"):
        expected = precision_recall_fscore_support(true, predicted, average=average)[:3]
        got = trained["averages"][average]
        np.testing.assert_allclose([got["precision"], got["recall"], got["f1"]], expected)
    f1 = precision_recall_fscore_support(true, predicted)[2]
    np.testing.assert_allclose([c["f1"] for c in trained["per_class"]], f1)

    code, out, _ = run_main(train_main, ["--epochs", "30"], capsys)
    assert code == 0
    for average in ("macro", "weighted"):
        (line,) = [line for line in out.splitlines() if line.startswith(f"{average} average ")]
        scores = trained["averages"][average]
        shown = [f"{scores[score]:.3f}" for score in ("precision", "recall", "f1")]
        assert line.split()[2:] == [*shown, "30"], line


def test_a_wide_model_shows_each_class_s_largest_weights_not_every_one(tmp_path, capsys):
    digits = datasets.load_digits(as_frame=True).frame
    digits.to_csv(tmp_path / "digits.csv", index=False)
    flags = ["--data", str(tmp_path / "digits.csv"), "--target", "target", "--epochs", "10"]
    code, out, err = run_main(train_main, [*flags, "--log-every", "0"], capsys)
    assert code == 0, err
    trained, _ = summary(capsys, *flags)
    assert len(trained["feature_names"]) > FULL_WEIGHT_TABLE
    assert "(--json gives them all)" in out and "Learned weights" not in out
    assert len(out.splitlines()) < 60
    # Each class's line names its largest weights, from the full set that --json gives.
    weight = np.array(trained["weight"])
    line = next(line for line in out.splitlines() if line.startswith("  7: "))
    largest = np.argsort(-np.abs(weight[:, 7]), kind="stable")[:TOP_WEIGHTS]
    names = [trained["feature_names"][i] for i in largest]
    assert [part.split()[0] for part in line[len("  7: ") :].split(";")[0].split(", ")] == names


def test_iris_shows_every_weight():
    assert len(iris_torch.load_iris().feature_names) <= FULL_WEIGHT_TABLE


def test_the_l2_help_gives_scikit_learns_c():
    (action,) = [a for a in build_parser()._actions if "--l2" in a.option_strings]
    assert "l2 = 1/(2*C*m)" in action.help


def test_the_keep_that_the_unnamed_index_note_gives_keeps_it(tmp_path, capsys):
    datasets.load_wine(as_frame=True).frame.to_csv(tmp_path / "wine.csv")  # pandas' index
    flags = ["--data", str(tmp_path / "wine.csv"), "--target", "target", "--epochs", "5"]
    kept, err = summary(capsys, *flags, "--keep", "")
    assert kept["feature_names"][0] == "" and len(kept["feature_names"]) == 14
    assert "unnamed" not in err


# -- what goes where ----------------------------------------------------------------------------


def test_notes_go_to_stderr_whatever_the_verbosity(tmp_path, capsys):
    wine = datasets.load_wine(as_frame=True).frame
    wine.iloc[3, 0] = np.nan
    wine.to_csv(tmp_path / "wine.csv")  # with pandas' unnamed index column
    flags = ["--data", str(tmp_path / "wine.csv"), "--target", "target", "--dropna"]
    for verbosity in (["--log-every", "0"], ["--json"], []):
        code, out, err = run_main(train_main, [*flags, "--epochs", "5", *verbosity], capsys)
        assert code == 0, err
        assert f"{TRAIN}: note: the unnamed column looks like a row index" in err
        assert "not a feature (--keep '' to use it)" in err
        assert f"{TRAIN}: note: left out 1 row with missing values (--dropna)" in err
        if "--json" in verbosity:  # stdout: the JSON alone, which lists them too
            assert len(json.loads(out)["notes"]) == 2
        else:
            assert "note" not in out


def test_the_bundled_iris_drops_its_own_id_without_a_note(capsys):
    trained, err = summary(capsys)  # converges: no warning either
    assert "Id" not in trained["feature_names"] and trained["notes"] == [] and err == ""
    kept, _ = summary(capsys, "--epochs", "5", "--keep", "Id")
    assert kept["feature_names"][0] == "Id"


# -- predictions in the format the file name asks for -------------------------------------------


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("out")
    assert train_main([*QUIET, "--save", str(folder / "model.pt"), "--epochs", "50"]) == 0
    return folder


SUFFIXES = [".csv", ".tsv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".tsv.gz", ".parquet"]
SUFFIXES += [".CSV"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_out_writes_what_its_suffix_says(suffix, model, capsys):
    args = ["--model", str(model / "model.pt"), "--csv", str(iris_path())]
    code, expected, told = run_main(predict_main, [*args, "--out", "-"], capsys)
    assert code == 0
    path = model / f"predictions{suffix}"
    code, out, err = run_main(predict_main, [*args, "--out", str(path)], capsys)
    assert code == 0, err
    assert err == f"python -m iris_torch.predict: wrote 150 predictions to {path}\n"
    assert out.startswith("Accuracy against the file's labels: ")
    assert told == f"python -m iris_torch.predict: {out}"  # stdout held the table
    if suffix.endswith(".gz"):  # the name gzip keeps in its header (FNAME), for gunzip -N
        header = path.read_bytes()[:100]
        assert header[3] & 0x08 and header[10:].split(b"\0")[0] == path.stem.encode()
    # pandas, told nothing but the name, reads back what --out - printed
    printed = pd.read_csv(io.StringIO(expected))
    if suffix == ".parquet":  # typed: the probabilities stay the model's float32
        written = pd.read_parquet(path)
        assert (written.dtypes.iloc[2:] == np.float32).all()
        pd.testing.assert_frame_equal(written, printed, check_dtype=False, rtol=1e-6)
    else:
        written = pd.read_csv(path, sep="\t" if suffix.startswith(".tsv") else ",")
        pd.testing.assert_frame_equal(written, printed)


@pytest.mark.parametrize("rows", ["all", "every third", "shuffled"])
def test_a_parquet_files_named_index_is_carried_into_the_predictions(rows, model, capsys):
    """pandas stores an index Id of 1, 2, ..., 150 (or 1, 4, 7, ...) in a Parquet file's
    metadata alone, as a range; shuffled, as a column. Either way pandas reads it back as the
    index, and predict's --out carries it, as it carries a CSV's Id column."""
    frame = pd.read_csv(iris_path()).set_index("Id")
    frame = {
        "all": frame,
        "every third": frame.iloc[::3],
        "shuffled": frame.sample(60, random_state=0),
    }[rows]
    path = model / f"indexed {rows}.parquet"
    frame.to_parquet(path)
    stored = pq.read_schema(path).names
    assert ("Id" in stored) == (rows == "shuffled")
    out = model / f"indexed {rows}.csv"
    args = ["--model", str(model / "model.pt"), "--csv", str(path)]
    assert run_main(predict_main, [*args, "--out", str(out)], capsys)[0] == 0
    written = pd.read_csv(out)
    assert list(written.columns[:2]) == ["Id", "predicted"]
    assert written["Id"].tolist() == pd.read_parquet(path).index.tolist()


def test_out_of_an_unknown_kind_is_refused_before_the_model_is_read(model):
    result = subprocess.run(
        [sys.executable, "-m", "iris_torch.predict", "--model", "none.pt", "--out", "p.json", "1"],
        cwd=model,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "none.pt" not in result.stderr, result.stderr
    assert "--out p.json: predict writes files named by their kind" in result.stderr


# -- smaller things -----------------------------------------------------------------------------


def test_bench_help_shows_its_examples_one_to_a_line():
    result = subprocess.run(
        [sys.executable, "-m", "iris_torch.bench", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "\n    python -m iris_torch.bench --quick " in result.stdout


def test_the_package_exports_no_module_it_merely_uses():
    modules = [getattr(iris_torch, name) for name in dir(iris_torch)]
    foreign = [m.__name__ for m in modules if isinstance(m, type(sys))]
    assert all(name.startswith("iris_torch.") for name in foreign), foreign


def test_one_prediction_is_one(model, capsys):
    one = model / "one.csv"
    pd.read_csv(iris_path()).head(1).to_csv(one, index=False)
    args = ["--model", str(model / "model.pt"), "--csv", str(one), "--out", str(model / "1.csv")]
    code, _, err = run_main(predict_main, args, capsys)
    assert (code, err) == (
        0,
        f"python -m iris_torch.predict: wrote 1 prediction to {model}/1.csv\n",
    )
