"""How a file is read, as the user says it is written: --decimal , for Excel's decimal commas,
--no-header for a file of rows only, --dropna in predict; and what the reader refuses, each in
one line that names every problem of its kind: a header that is a row of data, labels that are
a measurement, --drop or --keep of the target, a spreadsheet workbook instead of a CSV.

Files are written as people write them (pandas' to_csv with sep=";" and decimal=",", or
header=False); what is read is compared with pandas' own reading of the same file, or with the
model the plain CSV trains. Runs call the command's main() in this process.
"""

import importlib.util
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from conftest import run_main
from sklearn import datasets

from iris_torch.cli.predict import build_parser as predict_parser
from iris_torch.cli.predict import main as predict_main
from iris_torch.cli.predict import read_rows
from iris_torch.cli.train import main as train_main
from iris_torch.data import read
from iris_torch.data.read import DataError, read_table

TRAIN = ["--json", "--epochs", "50", "--device", "cpu", "--log-every", "0"]


@pytest.fixture(scope="module")
def wine():
    """scikit-learn's wine data as a frame: 178 rows, 13 features, labels 0, 1, 2."""
    return datasets.load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})


def trained(capsys, path, *flags, target="cultivar"):
    argv = [*TRAIN, "--data", str(path), "--target", target, *flags]
    code, out, err = run_main(train_main, argv, capsys)
    assert code == 0, err
    return json.loads(out)


def refused(main, capsys, *argv):
    """The one line a command says on stderr as it refuses argv (exit 2, nothing on stdout)."""
    code, out, err = run_main(main, list(argv), capsys)
    assert (code, out) == (2, ""), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def refused_training(capsys, path, *flags, target="cultivar"):
    return refused(train_main, capsys, *TRAIN, "--data", str(path), "--target", target, *flags)


def model_of(summary):
    return summary["class_names"], summary["weight"], summary["bias"]


# -- --decimal ----------------------------------------------------------------------------------


def test_decimal_comma_reads_the_numbers_pandas_reads(wine, tmp_path, capsys):
    path = tmp_path / "excel.csv"
    wine.to_csv(path, index=False, sep=";", decimal=",")  # Excel's CSV in most of Europe
    table = read_table(path, target="cultivar", decimal=",", dtype="float64")
    theirs = pd.read_csv(path, sep=";", decimal=",").drop(columns="cultivar")
    assert table.feature_names == tuple(theirs.columns)
    np.testing.assert_array_equal(table.features, theirs.to_numpy(np.float64))
    wine.to_csv(tmp_path / "plain.csv", index=False)
    plain = trained(capsys, tmp_path / "plain.csv")
    assert model_of(trained(capsys, path, "--decimal", ",")) == model_of(plain)


def test_a_good_decimal_comma_file_is_parsed_once(wine, tmp_path, monkeypatch):
    """pandas' parser reads the decimal commas itself: the second reading, cell by cell as
    text, is only for a file with a problem to name (and would cost a good one its speed)."""
    wine.to_csv(tmp_path / "excel.csv", index=False, sep=";", decimal=",")

    def second_reading(*args):
        raise AssertionError("a good file was read a second time, as text")

    monkeypatch.setattr(read, "_cells_as_text", second_reading)
    table = read_table(tmp_path / "excel.csv", target="cultivar", decimal=",")
    assert table.features.shape == (len(wine), 13)


def test_without_decimal_every_column_of_decimal_commas_is_named_once(wine, tmp_path, capsys):
    """The first few columns with their first cell, then the others by name: one line that a
    terminal can show."""
    path = tmp_path / "excel.csv"
    wine.to_csv(path, index=False, sep=";", decimal=",")
    err = refused_training(capsys, path)
    # pandas, read with a decimal point: the columns that are then not numbers
    as_text = pd.read_csv(path, sep=";").drop(columns="cultivar").select_dtypes(exclude="number")
    shown, rest = as_text.columns[: read.SHOWN_COLUMNS], as_text.columns[read.SHOWN_COLUMNS :]
    assert len(rest) > 1
    for name in shown:
        cell = as_text[name].iloc[0]
        assert f"line 2, column {name!r} is {cell!r}, not a number (and 177 more" in err
    assert err.count("line 2, column") == len(shown)
    named = ", ".join(map(repr, rest))
    assert f"; cells that cannot be features in {len(rest)} more columns too: {named};" in err
    assert len(err) < 700
    assert err.rstrip().endswith("; these numbers have a decimal comma: read them with --decimal ,")
    assert "--drop" not in err


def test_a_comma_cannot_separate_values_and_mark_decimals(wine, tmp_path, capsys):
    wine.to_csv(tmp_path / "plain.csv", index=False)
    wine.to_csv(tmp_path / "excel.csv", index=False, sep=";", decimal=",")
    err = refused_training(capsys, tmp_path / "excel.csv", "--decimal", ",", "--sep", ",")
    assert (
        "error: --sep , and --decimal , name the same character: it cannot both separate values "
        "and mark decimals; a file with decimal commas separates its values with ';' or a tab\n"
    ) in err
    err = refused_training(capsys, tmp_path / "plain.csv", "--decimal", ",")
    assert "plain.csv: with --decimal , its values must be separated by ';' or a tab" in err
    assert "leave out --decimal ," in err


def test_with_decimal_comma_the_bad_cells_are_still_found_and_no_others(wine, tmp_path, capsys):
    """The slow path that names bad cells reads numbers with the decimal mark too: with
    --decimal , it names the text, the decimal point and the blank, and no decimal comma."""
    wine.to_csv(tmp_path / "bad.csv", index=False, sep=";", decimal=",")
    cells = pd.read_csv(tmp_path / "bad.csv", sep=";", dtype=str)  # then edited by hand:
    cells.loc[4, "ash"] = "abc"  # line 6
    cells.loc[9, "hue"] = "0.57"  # a decimal point among decimal commas: line 11
    cells.to_csv(tmp_path / "bad.csv", index=False, sep=";")
    err = refused_training(capsys, tmp_path / "bad.csv", "--decimal", ",")
    assert (
        "bad.csv, line 6, column 'ash' is 'abc', not a number; "
        "line 11, column 'hue' is '0.57', not a number; "
        "with --decimal , numbers take a decimal comma, and these have a point; "
        "if it is not a feature, leave it out with --drop ash"
    ) in err
    blank = wine.copy()
    blank.loc[[2, 30], "hue"] = np.nan  # lines 4 and 32
    blank.to_csv(tmp_path / "blank.csv", index=False, sep=";", decimal=",")
    err = refused_training(capsys, tmp_path / "blank.csv", "--decimal", ",")
    assert "blank.csv: 2 missing values in 'hue' (lines 4, 32); leave those rows out" in err
    wine.drop(index=[2, 30]).to_csv(tmp_path / "complete.csv", index=False)
    dropped = trained(capsys, tmp_path / "blank.csv", "--decimal", ",", "--dropna")
    assert dropped["notes"] == ["left out 2 rows with missing values (--dropna)"]
    assert model_of(dropped) == model_of(trained(capsys, tmp_path / "complete.csv"))


def test_a_quoted_decimal_comma_in_a_comma_separated_file_is_told_what_is_right(tmp_path, capsys):
    frame = pd.DataFrame({"x": ["1,5", "2,5", "3,5", "4,5"], "label": ["a", "b", "a", "b"]})
    frame.to_csv(tmp_path / "quoted.csv", index=False)  # pandas quotes the commas
    err = refused_training(capsys, tmp_path / "quoted.csv", target="label")
    assert "line 2, column 'x' is '1,5', not a number (and 3 more in that column)" in err
    assert (
        "these numbers have a decimal comma, in a file whose values are separated by commas: "
        "write them with decimal points, or save the file with ';' between values and read it "
        "with --decimal ,"
    ) in err


# -- --no-header --------------------------------------------------------------------------------


def test_no_header_names_columns_by_position_and_trains_the_plain_model(wine, tmp_path, capsys):
    path = tmp_path / "rows.csv"
    wine.to_csv(path, index=False, header=False)
    table = read_table(path, target="13", header=False, dtype="float64")
    theirs = pd.read_csv(path, header=None).drop(columns=13)
    assert table.feature_names == tuple(str(j) for j in theirs.columns)
    np.testing.assert_array_equal(table.features, theirs.to_numpy(np.float64))
    wine.to_csv(tmp_path / "plain.csv", index=False)
    summary = trained(capsys, path, "--no-header", target="13")
    assert summary["feature_names"] == [str(j) for j in range(13)]
    assert model_of(summary) == model_of(trained(capsys, tmp_path / "plain.csv"))
    without_alcohol = trained(capsys, path, "--no-header", "--drop", "0", target="13")
    assert model_of(without_alcohol) == model_of(
        trained(capsys, tmp_path / "plain.csv", "--drop", "alcohol")
    )


def test_no_header_with_decimal_commas_finds_the_semicolon(wine, tmp_path, capsys):
    """With no header, the separator is found in a row of data: there a decimal comma is as
    common as the semicolon, and must not be taken for the separator."""
    path = tmp_path / "rows.csv"
    wine.to_csv(path, index=False, header=False, sep=";", decimal=",")
    first = path.read_text().splitlines()[0]
    assert first.count(",") >= first.count(";")
    wine.to_csv(tmp_path / "plain.csv", index=False)
    summary = trained(capsys, path, "--no-header", "--decimal", ",", target="13")
    assert model_of(summary) == model_of(trained(capsys, tmp_path / "plain.csv"))


def test_no_header_lines_are_the_files_lines(wine, tmp_path, capsys):
    frame = wine.astype({"ash": object})
    frame.loc[4, "ash"] = "abc"
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False, header=False)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "abc" in text)
    err = refused_training(capsys, path, "--no-header", target="13")
    assert f"rows.csv, line {line}, column '2' is 'abc', not a number" in err
    assert "leave it out with --drop 2" in err


@pytest.mark.parametrize("row", ["5,6", "5,6,a,9"], ids=["short", "long"])
def test_no_header_a_ragged_row_is_measured_against_the_first(row, tmp_path, capsys):
    rows = [f"{i},{i % 3},{'ab'[i % 2]}" for i in range(12)]
    rows.insert(6, row)  # line 7
    (tmp_path / "rows.csv").write_text("\n".join(rows) + "\n")
    err = refused_training(capsys, tmp_path / "rows.csv", "--no-header", target="2")
    values = len(row.split(","))
    assert f"rows.csv, line 7: {values} values, but the first row has 3; every row needs" in err


def test_a_header_of_numbers_looks_like_data_and_no_header_is_suggested(wine, tmp_path, capsys):
    path = tmp_path / "rows.csv"
    wine.to_csv(path, index=False, header=False)
    first = path.read_text().splitlines()[0].split(",")
    err = refused_training(capsys, path)  # before "no target column 'cultivar'"
    assert (
        f"rows.csv: its header line ({', '.join(first[:5])}, ..., {first[-1]}) holds only "
        "numbers: it looks like a row of data; if the file has no header line, give --no-header; "
        "--target, --drop and --keep then name columns by position, 0 to 13"
    ) in err


def test_a_header_with_some_numbers_or_pandas_positions_is_a_header(wine, tmp_path, capsys):
    # a year among named columns is a name
    (tmp_path / "year.csv").write_text("x,2020,label\n1,2,a\n2,3,b\n3,5,a\n4,4,b\n")
    assert read_table(tmp_path / "year.csv", target="label").feature_names == ("x", "2020")
    # pandas names the columns of a frame made from an array 0, 1, ...: a header
    array = pd.DataFrame(wine.to_numpy())
    array.to_csv(tmp_path / "array.csv", index=False)
    wine.to_csv(tmp_path / "plain.csv", index=False)
    assert model_of(trained(capsys, tmp_path / "array.csv", target="13")) == model_of(
        trained(capsys, tmp_path / "plain.csv")
    )


def test_no_header_on_a_file_with_a_header_says_so(wine, tmp_path, capsys):
    wine.to_csv(tmp_path / "plain.csv", index=False)
    err = refused_training(capsys, tmp_path / "plain.csv", "--no-header", target="13")
    assert "plain.csv, line 1, column '0' is 'alcohol', not a number; " in err
    assert err.rstrip().endswith("; line 1 looks like a header: leave out --no-header")


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="needs pyarrow")
def test_a_parquet_file_has_names_and_no_header_says_so(wine, tmp_path, capsys):
    wine.to_parquet(tmp_path / "wine.parquet")
    err = refused_training(capsys, tmp_path / "wine.parquet", "--no-header", target="13")
    assert "wine.parquet is a Parquet file, whose columns have names; --no-header is for" in err


# -- labels that are a measurement ----------------------------------------------------------------


def test_a_continuous_target_is_named_as_such(wine, tmp_path, capsys):
    frame = wine.assign(f0=np.random.default_rng(0).normal(size=len(wine)) * 3)
    frame.to_csv(tmp_path / "wine.csv", index=False)
    written = pd.read_csv(tmp_path / "wine.csv").f0
    err = refused_training(capsys, tmp_path / "wine.csv", target="f0")
    shown = ", ".join(f"{value:.4g}" for value in written[:3])
    assert (
        f"wine.csv: column 'f0' looks continuous ({written.nunique()} distinct numbers in "
        f"{len(written)} rows, such as {shown}); a classifier needs a column of classes: "
        "choose the label column with --target"
    ) in err


def labelled(path, labels):
    """A file of one feature (not a row count) and the given labels."""
    rng = np.random.default_rng(1)
    pd.DataFrame({"x": rng.normal(size=len(labels)), "label": labels}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "labels",
    [
        [j // 2 for j in range(20)],  # 10 classes of 2 in 20 rows: half as many classes as rows
        list(range(19)),  # fewer than 20 rows: 1, 2, 3 may be classes
        [f"c{j}" for j in range(30)],  # names, not numbers
        [0, 1] * 6,  # 2 classes in 12 rows
    ],
    ids=["10 of 20", "19 rows", "names", "2 of 12"],
)
def test_labels_that_may_be_classes_are_read(labels, tmp_path):
    table = read_table(labelled(tmp_path / "l.csv", labels), target="label")
    assert len(table.class_names) == len(set(labels))


def test_more_distinct_numbers_than_half_the_rows_are_continuous(tmp_path):
    labels = [j // 2 for j in range(18)] + [9, 10]  # 11 classes in 20 rows
    with pytest.raises(DataError, match=r"looks continuous \(11 distinct numbers in 20 rows"):
        read_table(labelled(tmp_path / "l.csv", labels), target="label")


@pytest.mark.parametrize(
    ("loader", "target"),
    [(datasets.load_iris, "target"), (datasets.load_digits, "target")],
    ids=["iris 0..2", "digits 0..9"],
)
def test_real_numeric_labels_are_classes(loader, target, tmp_path):
    frame = loader(as_frame=True).frame
    frame.to_csv(tmp_path / "data.csv", index=False)
    table = read_table(tmp_path / "data.csv", target=target)
    assert table.class_names == tuple(str(c) for c in sorted(frame[target].unique()))


# -- the columns the flags name ---------------------------------------------------------------


def test_drop_or_keep_of_the_target_and_every_missing_name_in_one_line(wine, tmp_path, capsys):
    wine.to_csv(tmp_path / "wine.csv", index=False)
    columns = ", ".join(pd.read_csv(tmp_path / "wine.csv").columns)
    err = refused_training(capsys, tmp_path / "wine.csv", "--drop", "cultivar")
    assert "--drop cultivar names the target column, whose labels are never a feature" in err
    err = refused_training(capsys, tmp_path / "wine.csv", "--keep", "cultivar")
    assert "--keep cultivar names the target column" in err
    flags = ["--drop", "Colour", "--drop", "hue", "--keep", "Id", "--keep", "Kind"]
    err = refused_training(capsys, tmp_path / "wine.csv", *flags, target="Kind")
    assert (
        "wine.csv: --keep Kind names the target column, whose labels are never a feature; leave "
        "it out of --keep, or choose another --target; no target column 'Kind', no column to drop "
        f"'Colour', no column to keep 'Id', no column to keep 'Kind'; the columns are: {columns}\n"
    ) in err


def test_every_bad_column_is_named_with_its_first_cell_and_advice_once(wine, tmp_path, capsys):
    frame = wine.assign(region=np.where(np.arange(len(wine)) % 2, "east", "west"))
    frame = frame.astype({"ash": object, "hue": object, "proline": object})
    frame.loc[[3, 7, 9], "ash"] = "n/a?"
    frame.loc[5, "hue"] = "inf"
    frame.loc[[6, 8], "proline"] = "1e39"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    err = refused_training(capsys, tmp_path / "bad.csv")
    # pandas' own reading: the features it cannot read as numbers are the ones to --drop
    read = pd.read_csv(tmp_path / "bad.csv").drop(columns="cultivar")
    texts = read.select_dtypes(exclude="number").columns
    assert f"leave them out with {' '.join(f'--drop {c}' for c in texts)};" in err
    assert err.split(f"error: {tmp_path}/")[1].rstrip() == (
        "bad.csv, line 2, column 'region' is 'west', not a number (and 177 more in that column); "
        "line 5, column 'ash' is 'n/a?', not a number (and 2 more in that column); "
        "line 7, column 'hue' is 'inf', not finite; "
        "line 8, column 'proline' is '1e39', beyond float32's range (about ±3.4e38) (and 1 more "
        "in that column); "
        "if they are not features, leave them out with --drop ash --drop region; "
        "features must be finite numbers; rescale such values, or read them as --dtype float64"
    )


# -- spreadsheet workbooks --------------------------------------------------------------------


def workbook(kind: str) -> bytes:
    """The parts an .xlsx or .ods archive holds (as Excel and LibreOffice write them), empty of
    cells: the reader knows them by these."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if kind == "xlsx":
            archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
            archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
            archive.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
            archive.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet/>')
        else:  # the OpenDocument rule: mimetype first, stored uncompressed
            mimetype = "application/vnd.oasis.opendocument.spreadsheet"
            archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
            archive.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>')
            archive.writestr("content.xml", '<?xml version="1.0"?><document-content/>')
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "kind", "said"),
    [
        ("book.xlsx", "xlsx", "is an Excel workbook, not a CSV; save it as CSV (Excel: File > "),
        ("book.csv", "xlsx", "is an Excel workbook, not a CSV"),  # by its content, not its name
        ("book.ods", "ods", "is an OpenDocument spreadsheet, not a CSV; save it as CSV"),
    ],
)
def test_a_workbook_is_told_to_be_saved_as_csv(name, kind, said, tmp_path, capsys):
    (tmp_path / name).write_bytes(workbook(kind))
    err = refused_training(capsys, tmp_path / name)
    assert f"{tmp_path / name} {said}" in err
    written = "book_sheet1.csv" if name == "book.csv" else "book.csv"
    assert f".to_csv('{tmp_path / written}', index=False)" in err


# -- predict --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(tmp_path_factory, wine):
    """A model trained on wine (its rows indexed by sample_id), and one on the same rows in a
    file with no header."""
    folder = tmp_path_factory.mktemp("predict")
    wine.rename_axis("sample_id").to_csv(folder / "wine.csv")
    wine.to_csv(folder / "rows.csv", index=False, header=False)
    data = {"model.pt": ["wine.csv", "--target", "cultivar"]}
    data["rows.pt"] = ["rows.csv", "--target", "13", "--no-header"]
    for name, (path, *flags) in data.items():
        argv = [*TRAIN, "--data", str(folder / path), *flags, "--save", str(folder / name)]
        assert train_main(argv) == 0
    return folder


def predictions(capsys, folder, model_file, data, *flags):
    """predict --out on a file: the predictions as pandas reads them back."""
    out = folder / f"p_{data.name}_{len(flags)}.csv"
    argv = ["--model", str(folder / model_file), "--csv", str(data), "--out", str(out), *flags]
    code, _, err = run_main(predict_main, argv, capsys)
    assert code == 0, err
    return pd.read_csv(out)


def test_predict_dropna_leaves_out_the_rows_and_keeps_ids_aligned(model, wine, capsys):
    frame = wine.rename_axis("sample_id").copy()
    frame.loc[[0, 15, 38], "alcalinity_of_ash"] = np.nan
    frame.loc[60, "hue"] = np.nan
    frame.to_csv(model / "missing.csv")
    frame.dropna().to_csv(model / "complete.csv")
    argv = ["--model", str(model / "model.pt"), "--csv", str(model / "missing.csv")]
    err = refused(predict_main, capsys, *argv)
    assert "leave those rows out with --dropna" in err
    kept = predictions(capsys, model, "model.pt", model / "missing.csv", "--dropna")
    expected = predictions(capsys, model, "model.pt", model / "complete.csv")
    pd.testing.assert_frame_equal(kept, expected)
    assert kept.sample_id.tolist() == frame.dropna().index.tolist()
    _, with_dropna, _ = run_main(predict_main, [*argv, "--json", "--dropna"], capsys)
    argv[3] = str(model / "complete.csv")
    _, complete, _ = run_main(predict_main, [*argv, "--json"], capsys)
    assert json.loads(with_dropna)["accuracy"] == json.loads(complete)["accuracy"]


def test_read_rows_gives_the_note_of_the_rows_left_out(model, wine):
    frame = wine.rename_axis("sample_id").copy()
    frame.loc[[0, 15, 38], "alcalinity_of_ash"] = np.nan
    frame.to_csv(model / "missing3.csv")
    args = predict_parser().parse_args(
        ["--model", str(model / "model.pt"), "--csv", str(model / "missing3.csv"), "--dropna"]
    )
    notes = []
    rows, labels, ids = read_rows(args, tuple(wine.columns[:-1]), "cultivar", notes)
    assert notes == ["left out 3 rows with missing values (--dropna)"]
    complete = frame.dropna()
    np.testing.assert_array_equal(rows, complete.drop(columns="cultivar").to_numpy(np.float64))
    assert labels.astype(int).tolist() == complete.cultivar.tolist()
    assert ids[0] == "sample_id" and ids[1].astype(int).tolist() == complete.index.tolist()


def test_predict_reads_decimal_commas_and_files_without_a_header(model, wine, capsys):
    plain = predictions(capsys, model, "model.pt", model / "wine.csv")
    wine.rename_axis("sample_id").to_csv(model / "excel.csv", sep=";", decimal=",")
    excel = predictions(capsys, model, "model.pt", model / "excel.csv", "--decimal", ",")
    pd.testing.assert_frame_equal(excel, plain)
    rows = predictions(capsys, model, "rows.pt", model / "rows.csv", "--no-header")
    # the same rows, trained on by position: the same probabilities (no id column to carry)
    pd.testing.assert_frame_equal(rows, plain.drop(columns="sample_id"))
    argv = ["--model", str(model / "rows.pt"), "--csv", str(model / "rows.csv")]
    err = refused(predict_main, capsys, *argv)
    assert (
        "holds only numbers: it looks like a row of data; if the file has no header line, "
        "give --no-header\n"
    ) in err


def test_predict_names_every_missing_column(model, wine, capsys):
    wine.drop(columns=["ash", "hue"]).to_csv(model / "short.csv", index=False)
    argv = ["--model", str(model / "model.pt"), "--csv", str(model / "short.csv")]
    err = refused(predict_main, capsys, *argv)
    assert "short.csv: no columns 'ash', 'hue'; the model needs alcohol, malic_acid, ash," in err
    assert f"the columns are: {', '.join(pd.read_csv(model / 'short.csv').columns)}\n" in err
