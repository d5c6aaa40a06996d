"""The files people bring, written by pandas the ways people write them: each shape is read to
the same numbers, and so trains the same model, as the plain CSV of the same data; what cannot
be used is named in one line with the flag that gets past it; predictions go to a CSV file that
pandas reads back.

Most runs call the command's main() in this process; standard input and a missing pyarrow need
a process of their own.
"""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import run_main
from sklearn import datasets

from iris_torch import load_csv
from iris_torch.cli.predict import main as predict_main
from iris_torch.cli.train import main as train_main

HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None
TRAIN = ["--json", "--epochs", "50", "--target", "cultivar", "--device", "cpu"]


@pytest.fixture(scope="module")
def wine():
    """scikit-learn's wine data as a frame: 178 rows, 13 features, labels 0, 1, 2."""
    frame = datasets.load_wine(as_frame=True).frame
    return frame.rename(columns={"target": "cultivar"})


def trained(capsys, path, *flags):
    code, out, err = run_main(train_main, [*TRAIN, "--data", str(path), *flags], capsys)
    assert code == 0, err
    return json.loads(out)


def refused(capsys, path, *flags):
    code, out, err = run_main(train_main, [*TRAIN, "--data", str(path), *flags], capsys)
    assert (code, out) == (2, ""), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def model_of(summary):
    return summary["feature_names"], summary["class_names"], summary["weight"], summary["bias"]


SHAPES = {
    "gzip": ("wine.csv.gz", {}),
    "bz2": ("wine.csv.bz2", {}),
    "xz": ("wine.csv.xz", {}),
    "zip": ("wine.zip", {}),
    "gzip named .csv": ("wine_gz.csv", {"compression": "gzip"}),
    "semicolon": ("wine_semicolon.csv", {"sep": ";"}),
    "tab": ("wine.tsv", {"sep": "\t"}),
    "crlf line ends": ("wine_crlf.csv", {"lineterminator": "\r\n"}),
    "quoted everything": ("wine_quoted.csv", {"quoting": 1}),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_trains_the_model_of_the_plain_csv(shape, wine, tmp_path, capsys):
    wine.to_csv(tmp_path / "plain.csv", index=False)
    name, options = SHAPES[shape]
    wine.to_csv(tmp_path / name, index=False, **options)
    plain = trained(capsys, tmp_path / "plain.csv")
    assert model_of(trained(capsys, tmp_path / name)) == model_of(plain)


def test_spaces_around_the_values_are_not_part_of_them(wine, tmp_path, capsys):
    wine.to_csv(tmp_path / "plain.csv", index=False)
    spaced = (tmp_path / "plain.csv").read_text().replace(",", " , ").replace("\n", " \n")
    (tmp_path / "spaced.csv").write_text(spaced)
    plain = trained(capsys, tmp_path / "plain.csv")
    assert model_of(trained(capsys, tmp_path / "spaced.csv")) == model_of(plain)


def test_a_separator_given_with_sep_wins_over_the_one_found(wine, tmp_path, capsys):
    # Every value holds a '.', none a ';': the header alone would suggest a comma.
    wine.to_csv(tmp_path / "semi.csv", index=False, sep=";")
    wine.to_csv(tmp_path / "plain.csv", index=False)
    plain = trained(capsys, tmp_path / "plain.csv")
    assert model_of(trained(capsys, tmp_path / "semi.csv", "--sep", "semicolon")) == model_of(plain)
    err = refused(capsys, tmp_path / "semi.csv", "--sep", ",")
    assert "no target column 'cultivar'" in err


@pytest.mark.skipif(not HAS_PYARROW, reason="pyarrow is not installed (pip install pyarrow)")
def test_a_parquet_file_trains_the_model_of_the_plain_csv(wine, tmp_path, capsys):
    wine.to_csv(tmp_path / "plain.csv", index=False)
    wine.to_parquet(tmp_path / "wine.parquet")
    plain = trained(capsys, tmp_path / "plain.csv")
    assert model_of(trained(capsys, tmp_path / "wine.parquet")) == model_of(plain)


def test_without_pyarrow_a_parquet_file_gets_one_line_saying_how_to_read_it(tmp_path):
    (tmp_path / "wine.parquet").write_bytes(b"PAR1" + bytes(64) + b"PAR1")
    script = (
        "import sys; sys.modules['pyarrow'] = None\n"  # import pyarrow now fails
        "from iris_torch.cli.train import main\n"
        f"sys.exit(main(['--data', {str(tmp_path / 'wine.parquet')!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert "is a Parquet file; reading it needs pyarrow: pip install pyarrow" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_standard_input_trains_the_model_of_the_file(wine, tmp_path, capsys):
    wine.to_csv(tmp_path / "plain.csv", index=False)
    plain = trained(capsys, tmp_path / "plain.csv")
    result = subprocess.run(
        [sys.executable, "-m", "iris_torch.train", *TRAIN, "--data", "-"],
        input=(tmp_path / "plain.csv").read_bytes(),
        capture_output=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr.decode()
    # Another process, so compared to float32 precision rather than bit for bit: the in-process
    # run has its own thread count.
    summary = json.loads(result.stdout)
    assert summary["data"] == "-"
    np.testing.assert_allclose(summary["weight"], plain["weight"], rtol=1e-4, atol=1e-6)


def test_features_are_the_numbers_pandas_reads(tmp_path):
    """An independent reading of the same file: pandas' own, column by column."""
    digits = datasets.load_digits(as_frame=True).frame  # 1797 rows, 64 features
    digits.insert(3, "noise", np.random.default_rng(0).normal(size=len(digits)))
    digits.to_csv(tmp_path / "digits.csv", index=False)
    data = load_csv(tmp_path / "digits.csv", target="target")
    expected = pd.read_csv(tmp_path / "digits.csv").drop(columns="target")
    assert data.feature_names == tuple(expected.columns)
    assert data.X.is_contiguous() and data.X.dtype == torch.float32
    np.testing.assert_array_equal(data.X.numpy(), expected.to_numpy(np.float32))
    data64 = load_csv(tmp_path / "digits.csv", target="target", dtype="float64")
    np.testing.assert_array_equal(data64.X.numpy(), expected.to_numpy(np.float64))
    assert [data.class_names[j] for j in data.y.tolist()] == [
        str(v) for v in pd.read_csv(tmp_path / "digits.csv")["target"]
    ]


def test_labels_that_are_numbers_are_compared_as_numbers(tmp_path):
    (tmp_path / "l.csv").write_text("x,label\n1,1.50\n2,007\n3,1.5\n4,7\n5,2\n6, 2.0 \n")
    data = load_csv(tmp_path / "l.csv", target="label")
    assert data.class_names == ("1.5", "2", "7")  # numeric order, each number written one way
    assert data.y.tolist() == [0, 2, 0, 2, 1, 1]


def test_booleans_are_read_as_0_and_1(tmp_path):
    frame = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5], "flag": [True, False, True, True]})
    frame["label"] = ["a", "b", "a", "b"]
    frame.to_csv(tmp_path / "b.csv", index=False)
    data = load_csv(tmp_path / "b.csv", target="label")
    assert data.X[:, 1].tolist() == [1.0, 0.0, 1.0, 1.0]


def test_a_text_column_is_named_with_the_flag_that_drops_it(wine, tmp_path, capsys):
    frame = wine.assign(region=np.where(np.arange(len(wine)) % 2, "east", "west"))
    frame.to_csv(tmp_path / "text.csv", index=False)
    err = refused(capsys, tmp_path / "text.csv")
    assert "text.csv, line 2, column 'region' is 'west', not a number (and 177 more" in err
    assert "leave it out with --drop region" in err
    wine.to_csv(tmp_path / "plain.csv", index=False)
    assert model_of(trained(capsys, tmp_path / "text.csv", "--drop", "region")) == model_of(
        trained(capsys, tmp_path / "plain.csv")
    )


def test_a_decimal_comma_is_named_as_such(wine, tmp_path, capsys):
    wine.to_csv(tmp_path / "comma.csv", index=False, sep=";", decimal=",")
    err = refused(capsys, tmp_path / "comma.csv")
    assert "line 2, column 'alcohol' is '14,23', not a number" in err
    assert "these numbers have a decimal comma: read them with --decimal ," in err


def test_missing_values_are_counted_and_dropna_trains_on_the_other_rows(wine, tmp_path, capsys):
    frame = wine.copy()
    frame.loc[[0, 15, 38], "alcalinity_of_ash"] = np.nan  # lines 2, 17 and 40 of the file
    frame.loc[60, "hue"] = np.nan
    frame.to_csv(tmp_path / "missing.csv", index=False)
    err = refused(capsys, tmp_path / "missing.csv")
    assert (
        "missing.csv: 3 missing values in 'alcalinity_of_ash' (lines 2, 17, 40); "
        "1 missing value in 'hue' (line 62); leave those rows out with --dropna"
    ) in err
    wine.drop(index=[0, 15, 38, 60]).to_csv(tmp_path / "complete.csv", index=False)
    summary = trained(capsys, tmp_path / "missing.csv", "--dropna")
    assert summary["notes"] == ["left out 4 rows with missing values (--dropna)"]
    assert model_of(summary) == model_of(trained(capsys, tmp_path / "complete.csv"))


def test_a_short_row_is_not_taken_for_missing_values(tmp_path, capsys):
    """pandas fills a short row with blanks; even with --dropna it is an error."""
    lines = ["a,b,label", *(f"{i},{i % 3},{'xy'[i % 2]}" for i in range(20))]
    lines.insert(6, "")  # a blank line: the lines below it keep their numbers
    lines.insert(9, "7,1")
    (tmp_path / "short.csv").write_text("\n".join(lines) + "\n")
    err = refused(capsys, tmp_path / "short.csv", "--target", "label", "--dropna")
    assert "short.csv, line 10: 2 values, but the header names 3 columns" in err


@pytest.mark.parametrize(
    ("write", "column"),
    [
        (lambda frame, path: frame.rename_axis("sample_id").to_csv(path), "sample_id"),
        (lambda frame, path: frame.to_csv(path), None),  # pandas' unnamed index
        (lambda frame, path: frame.assign(row=range(len(frame))).to_csv(path, index=False), "row"),
    ],
    ids=["named *_id", "unnamed", "counts the rows"],
)
def test_an_index_column_is_not_a_feature_and_keep_makes_it_one(
    write, column, wine, tmp_path, capsys
):
    write(wine, tmp_path / "indexed.csv")
    wine.to_csv(tmp_path / "plain.csv", index=False)
    summary = trained(capsys, tmp_path / "indexed.csv")
    assert model_of(summary) == model_of(trained(capsys, tmp_path / "plain.csv"))
    assert len(summary["notes"]) == 1 and "not a feature" in summary["notes"][0]
    if column is not None:
        assert f"--keep {column}" in summary["notes"][0]
        kept = trained(capsys, tmp_path / "indexed.csv", "--keep", column)
        assert column in kept["feature_names"] and kept["notes"] == []


@pytest.fixture(scope="module")
def model(tmp_path_factory, wine):
    folder = tmp_path_factory.mktemp("predict")
    wine.rename_axis("sample_id").to_csv(folder / "wine.csv")
    args = [*TRAIN, "--log-every", "0", "--data", str(folder / "wine.csv")]
    assert train_main([*args, "--save", str(folder / "model.pt")]) == 0
    return folder


def test_predictions_file_reads_back_with_pandas(model, capsys):
    args = ["--model", str(model / "model.pt"), "--csv", str(model / "wine.csv")]
    code, out, err = run_main(predict_main, [*args, "--out", str(model / "p.csv")], capsys)
    assert code == 0, err
    assert f"predict: wrote 178 predictions to {model / 'p.csv'}\n" in err
    # stdout: the accuracy alone (the predictions are in the file)
    assert out.startswith("Accuracy against the file's labels: ") and out.count("\n") == 1
    written = pd.read_csv(model / "p.csv")
    code, out, err = run_main(predict_main, [*args, "--json"], capsys)
    expected = json.loads(out)
    assert expected["accuracy"] > 0.9  # the file's labels, 0, 1 and 2, matched as numbers
    names = [str(c) for c in expected["class_names"]]  # 0, 1, 2: the columns' and keys' text
    assert list(written.columns) == ["sample_id", "predicted", *(f"p_{c}" for c in names)]
    assert written["sample_id"].tolist() == list(range(178))
    assert written["predicted"].tolist() == [p["predicted"] for p in expected["predictions"]]
    probabilities = [[p["probabilities"][c] for c in names] for p in expected["predictions"]]
    # Full precision: float32 probabilities written with every digit they need read back equal.
    np.testing.assert_array_equal(
        written[[f"p_{c}" for c in names]].to_numpy(np.float32),
        np.array(probabilities, dtype=np.float32),
    )


def test_predictions_to_standard_output_are_the_same_csv(model, capsys):
    args = ["--model", str(model / "model.pt"), "--csv", str(model / "wine.csv")]
    assert run_main(predict_main, [*args, "--out", str(model / "p2.csv")], capsys)[0] == 0
    code, out, err = run_main(predict_main, [*args, "--out", "-"], capsys)
    assert code == 0, err
    assert out == (model / "p2.csv").read_text()
