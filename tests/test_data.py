"""The data module: the bundled file, loading, one-hot, the split and the standardiser."""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import datasets as sklearn_datasets
from sklearn import model_selection
from sklearn.preprocessing import StandardScaler

import iris_torch
from iris_torch.data.prepare import DataError, Standardizer, load_csv, one_hot, train_test_split

ROOT = Path(__file__).resolve().parents[1]
IRIS_CSV = ROOT / "data" / "Iris.csv"

# Pinned in data/README.md as well: any edit to the file has to be deliberate.
IRIS_SHA256 = "aebd964609a8dadd05b0bc146f034767475b1e038022408fc671b0ea2a5105d0"


# -- the bundled file -------------------------------------------------------------------------


def test_iris_file_checksum():
    assert hashlib.sha256(IRIS_CSV.read_bytes()).hexdigest() == IRIS_SHA256


def test_iris_header_and_species_spelling():
    lines = IRIS_CSV.read_text().splitlines()
    assert lines[0] == "Id,SepalLengthCm,SepalWidthCm,PetalLengthCm,PetalWidthCm,Species"
    assert len(lines) == 151
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} == {
        "Iris-setosa",
        "Iris-versicolor",
        "Iris-virginica",
    }


def test_iris_values_are_fishers_as_in_scikit_learn():
    """Value by value against an independent copy (scikit-learn's, which follows Fisher and R)."""
    ours = iris_torch.load_iris()
    theirs = sklearn_datasets.load_iris()
    np.testing.assert_array_equal(ours.X.numpy(), theirs.data.astype(np.float32))
    np.testing.assert_array_equal(ours.y.numpy(), theirs.target)
    assert ours.class_names == tuple(f"Iris-{name}" for name in theirs.target_names)
    assert ours.feature_names == (
        "SepalLengthCm",
        "SepalWidthCm",
        "PetalLengthCm",
        "PetalWidthCm",
    )


def test_iris_rows_35_and_38_are_not_the_uci_misprints():
    X = iris_torch.load_iris().X
    assert X[34].tolist() != pytest.approx([4.9, 3.1, 1.5, 0.1])  # UCI row 35
    assert X[37].tolist() != pytest.approx([4.9, 3.1, 1.5, 0.1])  # UCI row 38


def test_wheel_carries_the_data_and_loads_it_without_the_repository(tmp_path):
    """Build a wheel, unpack it into an empty folder, and load Iris from there, in a process
    whose working directory is not the repository: the data ships inside the package."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("iris_torch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("iris_torch/_data/Iris.csv") == IRIS_CSV.read_bytes()
        archive.extractall(tmp_path / "site")
    script = (
        "import iris_torch, pathlib; "
        "print(pathlib.Path(iris_torch.__file__).parent.parent); "
        "print(iris_torch.load_iris().X.sum().item())"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, 'site'); {script}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    location, total = result.stdout.split()
    assert Path(location) == tmp_path / "site"
    assert float(total) == pytest.approx(iris_torch.load_iris().X.sum().item())


def test_parsed_numbers_checksum():
    """The parsed table, not only the bytes: measurements in tenths of a cm, then the labels."""
    data = iris_torch.load_iris()
    tenths = torch.round(data.X.double() * 10).to(torch.int64)
    numbers = np.concatenate([tenths.numpy().ravel(), data.y.numpy()]).astype("<i8")
    digest = hashlib.sha256(numbers.tobytes()).hexdigest()
    assert digest == "f122387381834f430a25234f9b1d2a38bb35e426d617c6b98b2402bcc4200edf"


# -- load_csv ---------------------------------------------------------------------------------


def write_csv(path, text):
    path.write_text(text)
    return path


def test_labels_numbered_in_sorted_order_not_first_appearance(tmp_path):
    csv = write_csv(tmp_path / "t.csv", "ID,a,b,kind\n1,0.5,1,zebra\n2,1.5,2,ant\n3,2.5,3,moth\n")
    data = load_csv(csv, target="kind")
    assert data.class_names == ("ant", "moth", "zebra")
    assert data.y.tolist() == [2, 0, 1]
    assert data.feature_names == ("a", "b")  # the ID column is an index, not a feature
    assert data.X.dtype == torch.float32 and data.y.dtype == torch.int64
    assert data.X.tolist() == [[0.5, 1.0], [1.5, 2.0], [2.5, 3.0]]


def test_integer_labels_sort_as_numbers(tmp_path):
    csv = write_csv(tmp_path / "t.csv", "x,label\n0.1,10\n0.2,2\n0.3,2\n")
    data = load_csv(csv, target="label")
    assert data.class_names == ("2", "10")
    assert data.y.tolist() == [1, 0, 0]


def test_drop_removes_named_columns(tmp_path):
    csv = write_csv(tmp_path / "t.csv", "x,note,y,label\n1,5,2,a\n3,6,4,b\n")
    assert load_csv(csv, target="label", drop=("note",)).feature_names == ("x", "y")


def test_missing_target_column_is_a_data_error(tmp_path):
    csv = write_csv(tmp_path / "t.csv", "x,label\n1,a\n")
    with pytest.raises(DataError, match=r"no target column 'Species'.*x, label"):
        load_csv(csv)


# -- one_hot ----------------------------------------------------------------------------------


def test_one_hot_of_the_learning_path_example():
    y = torch.tensor([1, 2, 1, 0, 2, 0])
    expected = torch.nn.functional.one_hot(y, 3).float()
    assert torch.equal(one_hot(y, 3), expected)


@given(
    labels=st.lists(st.integers(0, 5), min_size=1, max_size=40),
    extra_classes=st.integers(0, 3),
)
@settings(max_examples=40, deadline=None)
def test_one_hot_matches_torch_even_when_classes_are_absent(labels, extra_classes):
    y = torch.tensor(labels)
    n_classes = max(labels) + 1 + extra_classes  # some classes never occur in y
    ours = one_hot(y, n_classes, dtype=torch.float64)
    assert ours.shape == (len(labels), n_classes)
    assert torch.equal(ours, torch.nn.functional.one_hot(y, n_classes).double())


# -- train_test_split -------------------------------------------------------------------------


def row_ids(m):
    """A one-column X whose value is the row number, so a split can be traced back to rows."""
    return torch.arange(m, dtype=torch.float32).unsqueeze(1)


@pytest.mark.parametrize("stratify", [True, False])
def test_split_is_disjoint_complete_and_consistent(stratify):
    y = iris_torch.load_iris().y
    X_train, X_test, y_train, y_test = train_test_split(row_ids(150), y, stratify=stratify)
    train, test = X_train.flatten().long(), X_test.flatten().long()
    assert len(test) == 30 and len(train) == 120
    assert set(train.tolist()).isdisjoint(test.tolist())
    assert sorted(train.tolist() + test.tolist()) == list(range(150))
    assert torch.equal(y_train, y[train]) and torch.equal(y_test, y[test])


def test_split_is_reproducible_and_depends_on_the_seed():
    y = iris_torch.load_iris().y
    first = train_test_split(row_ids(150), y, seed=3)
    again = train_test_split(row_ids(150), y, seed=3)
    other = train_test_split(row_ids(150), y, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[1], other[1])


def test_split_is_not_ordered_by_class():
    _, _, y_train, y_test = train_test_split(row_ids(150), iris_torch.load_iris().y)
    for part in (y_train, y_test):
        assert not torch.equal(part, part.sort().values)


@given(
    sizes=st.lists(st.integers(2, 30), min_size=2, max_size=5),
    test_size=st.floats(0.1, 0.5) | st.integers(1, 40),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=40, deadline=None)
def test_stratified_split_gives_each_class_its_share(sizes, test_size, seed):
    m, k = sum(sizes), len(sizes)
    assume(test_size < m)
    # as many test rows as scikit-learn's own split holds out for that test_size
    n_test = len(model_selection.train_test_split(np.arange(m), test_size=test_size)[1])
    assume(k <= n_test <= m - k)  # otherwise no split has every class in both sets (see below)
    y = torch.cat([torch.full((size,), c) for c, size in enumerate(sizes)])
    y = y[torch.randperm(m, generator=torch.Generator().manual_seed(seed))]
    _, _, _, y_test = train_test_split(row_ids(m), y, test_size=test_size, seed=seed)
    assert len(y_test) == n_test
    counts = torch.bincount(y_test, minlength=k).tolist()
    shares = [n_test * size / m for size in sizes]
    for count, size in zip(counts, sizes, strict=True):
        assert 1 <= count <= size - 1  # every class in both sets
    if all(1 <= share <= size - 1 for share, size in zip(shares, sizes, strict=True)):
        for count, share in zip(counts, shares, strict=True):
            assert abs(count - share) < 1  # the share, rounded up or down


def test_small_classes_still_get_a_test_row():
    """A class of 2 among 100: its share of 10 test rows is 0.2, but it still gets one."""
    y = torch.cat([torch.zeros(100, dtype=torch.long), torch.ones(2, dtype=torch.long)])
    _, _, y_train, y_test = train_test_split(row_ids(102), y, test_size=10)
    assert torch.bincount(y_test).tolist() == [9, 1]
    assert torch.bincount(y_train).tolist() == [91, 1]


@pytest.mark.parametrize(
    ("sizes", "test_size", "message"),
    [
        ([5, 1], 0.5, "class '1' has only 1 row"),
        ([10, 10, 10], 0.05, "puts 2 of 30 rows in the test set"),
        ([10, 10, 10], 0.95, "puts 29 of 30 rows in the test set"),
    ],
)
def test_impossible_stratified_split_is_a_data_error(sizes, test_size, message):
    y = torch.cat([torch.full((size,), c) for c, size in enumerate(sizes)])
    with pytest.raises(DataError, match=message):
        train_test_split(row_ids(len(y)), y, test_size=test_size)


# -- Standardizer -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standardizer_agrees_with_scikit_learn_fitted_on_training_rows(dtype):
    data = iris_torch.load_iris(dtype)
    X_train, X_test, _, _ = train_test_split(data.X, data.y)
    before = X_train.clone()
    ours = Standardizer.fit(X_train)
    assert torch.equal(X_train, before)  # fitting reads the rows; it once changed float64 ones
    scaler = StandardScaler().fit(X_train.double().numpy())
    np.testing.assert_allclose(ours.mean.numpy(), scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.std.numpy(), scaler.scale_, rtol=1e-12)
    for X in (X_train, X_test):
        np.testing.assert_allclose(
            ours.transform(X.double()).numpy(), scaler.transform(X.double().numpy()), rtol=1e-12
        )
    # Fitted on the training rows only: the statistics of all rows would be different.
    assert not torch.allclose(ours.mean, Standardizer.fit(data.X).mean)


def test_standardizer_keeps_dtype_and_handles_a_constant_column():
    X = torch.tensor([[1.0, 0.1], [2.0, 0.1], [4.0, 0.1]])
    standardizer = Standardizer.fit(X)
    Z = standardizer.transform(X)
    assert Z.dtype == torch.float32
    assert torch.isfinite(Z).all()
    assert torch.equal(Z[:, 1], torch.zeros(3))
    assert Z[:, 0].mean().abs() < 1e-6 and (Z[:, 0].std(correction=0) - 1).abs() < 1e-6


def test_reading_needs_no_torch_and_importing_the_package_reads_nothing():
    """The command line checks its input before loading torch; pandas is imported only when
    data are read, never by `import iris_torch` itself."""
    script = (
        "import sys; import iris_torch; before = {'torch', 'pandas'} & set(sys.modules); "
        "from iris_torch.data.read import read_bundled_iris; read_bundled_iris(); "
        "print(sorted(before), sorted({'torch', 'pandas'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] ['pandas']"
