"""The command line's smaller promises: the figure is written in the file type its suffix
names, files get the permissions the user's umask asks for, every entry point answers
--version, and `iris-torch` names a command it does not know.
"""

import os
import re
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from conftest import run_main
from test_cli import console_script

import iris_torch
from iris_torch.cli import check_plot_path
from iris_torch.cli import main as cli_main
from iris_torch.cli.predict import main as predict_main
from iris_torch.cli.train import main as train_main
from iris_torch.data.read import iris_path
from iris_torch.errors import UsageError
from iris_torch.files import atomic_path, name_max
from iris_torch.plots import save_training_figure
from iris_torch.training import History

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--epochs", "3", "--log-every", "0"]
VERSION_LINE = f"iris-torch {iris_torch.__version__}\n"
UMASKS = [(0o022, 0o644), (0o002, 0o664)]  # (umask, the mode of a new file)
UNIX = pytest.mark.skipif(sys.platform == "win32", reason="Windows has no umask or mode bits")


def file_type(data: bytes) -> str:
    """What the bytes are, by their first bytes (magic number), whatever the file is called."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"<?xml") and b"<svg" in data[:1000]:
        return "svg"
    return "unknown"


def listing(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


@pytest.mark.parametrize(
    "name, expected",
    [("run.png", "png"), ("run.pdf", "pdf"), ("run.svg", "svg"), ("RUN.PDF", "pdf")],
)
def test_the_figure_is_written_in_the_type_its_suffix_names(tmp_path, name, expected):
    history = History(loss=[1.0, 0.6, 0.4], val_loss=[1.1, 0.7, 0.5])
    confusion = torch.tensor([[5, 0, 0], [0, 4, 1], [0, 1, 4]])
    save_training_figure(tmp_path / name, history, confusion, ("a", "b", "c"), "three epochs")
    assert file_type((tmp_path / name).read_bytes()) == expected
    assert listing(tmp_path) == {name}


def test_train_plot_pdf_writes_a_pdf(tmp_path, capsys):
    plot = tmp_path / "run.pdf"
    code, _, err = run_main(train_main, [*QUICK, "--plot", str(plot)], capsys)
    assert code == 0 and f"python -m iris_torch.train: wrote the figure to {plot}\n" in err
    assert file_type(plot.read_bytes()) == "pdf"


@pytest.mark.parametrize("name", ["run.jpg", "run", "run.png.bak", ".png"])
def test_check_plot_path_refuses_other_suffixes_in_one_line(tmp_path, name):
    path = f"{tmp_path}/{name}"
    with pytest.raises(UsageError) as refusal:
        check_plot_path(path, "--plot")
    assert str(refusal.value) == f"--plot {path}: the figure can be written as .png, .pdf or .svg"


def test_check_plot_path_accepts_the_suffixes_in_any_case(tmp_path):
    for name in ("a.png", "b.PDF", "c.Svg"):
        check_plot_path(str(tmp_path / name), "--plot")
    assert listing(tmp_path) == set()


def test_check_plot_path_also_checks_the_folder_and_matplotlib(tmp_path, monkeypatch):
    missing = str(tmp_path / "no" / "run.png")
    with pytest.raises(UsageError, match="does not exist"):
        check_plot_path(missing, "--plot")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(UsageError, match="--plot needs matplotlib"):
        check_plot_path(str(tmp_path / "run.png"), "--plot")


def test_train_refuses_a_plot_suffix_before_any_work(tmp_path, capsys):
    plot = tmp_path / "run.jpg"
    code, out, err = run_main(train_main, [*QUICK, "--plot", str(plot), "--json"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"python -m iris_torch.train: error: --plot {plot}: "
        "the figure can be written as .png, .pdf or .svg\n"
    )
    assert listing(tmp_path) == set()


@contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@UNIX
@pytest.mark.parametrize("mask, expected", UMASKS, ids=["umask 022", "umask 002"])
def test_atomic_path_gives_a_new_file_the_mode_open_gives(tmp_path, mask, expected):
    with umask(mask):
        with atomic_path(tmp_path / "atomic.txt") as temporary:
            temporary.write_text("written\n")
        with open(tmp_path / "plain.txt", "w") as plain:
            plain.write("written\n")
    assert mode(tmp_path / "atomic.txt") == mode(tmp_path / "plain.txt") == expected
    assert listing(tmp_path) == {"atomic.txt", "plain.txt"}


@UNIX
@pytest.mark.parametrize("existing", [0o640, 0o444])
def test_atomic_path_keeps_the_mode_of_a_file_it_replaces(tmp_path, existing):
    target = tmp_path / "model.pt"
    target.write_text("old\n")
    target.chmod(existing)
    with umask(0o002):
        with atomic_path(target) as temporary:
            temporary.write_text("new\n")
    assert (target.read_text(), mode(target)) == ("new\n", existing)
    assert listing(tmp_path) == {"model.pt"}


@UNIX
def test_atomic_path_writes_through_a_symbolic_link_as_open_does(tmp_path):
    """open(link, "w") writes the file the link names and leaves the link; so must a model
    saved to a link, whether its file exists yet or not."""
    (tmp_path / "real").mkdir()
    for name in ("old.pt", "new.pt"):
        (tmp_path / name).symlink_to(Path("real") / name)
    (tmp_path / "real" / "old.pt").write_text("old\n")
    for name in ("old.pt", "new.pt"):
        with atomic_path(tmp_path / name) as temporary:
            temporary.write_text("written\n")
        assert (tmp_path / name).is_symlink()
        assert (tmp_path / "real" / name).read_text() == "written\n"
    assert listing(tmp_path) == {"old.pt", "new.pt", "real"}
    assert listing(tmp_path / "real") == {"old.pt", "new.pt"}


def test_atomic_path_writes_a_name_as_long_as_the_file_system_allows(tmp_path):
    """The temporary file beside it must fit too, its name cut short where needed."""
    longest = name_max(tmp_path)
    for name in ("é" * ((longest - 3) // 2) + ".pt", "m" * (longest - 3) + ".pt"):
        with atomic_path(tmp_path / name) as temporary:
            assert len(os.fsencode(temporary.name)) <= longest
            temporary.write_text("written\n")
        assert (tmp_path / name).read_text() == "written\n"
    assert len(listing(tmp_path)) == 2


@UNIX
@pytest.mark.parametrize("mask, expected", UMASKS, ids=["umask 022", "umask 002"])
def test_train_writes_model_and_plot_with_the_umask(tmp_path, capsys, mask, expected):
    model, plot = tmp_path / "model.pt", tmp_path / "run.png"
    with umask(mask):
        code, _, err = run_main(
            train_main, [*QUICK, "--save", str(model), "--plot", str(plot)], capsys
        )
    assert code == 0
    for what, path in (("model", model), ("figure", plot)):  # each named where it was written
        assert f"python -m iris_torch.train: wrote the {what} to {path}\n" in err
    assert mode(model) == mode(plot) == expected


def command(tool: str, *flags: str, stdin=None, stdout=subprocess.PIPE, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", f"iris_torch.{tool}", *flags],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_no_output_is_the_file_standard_input_reads(tmp_path):
    """--data - < v.csv and --save v.csv: the file is the input, by another way in."""
    data = tmp_path / "v.csv"
    data.write_bytes(iris_path().read_bytes())
    assert command("train", *QUICK, "--save", str(tmp_path / "m.pt"), cwd=tmp_path).returncode == 0
    before = data.read_bytes()
    runs = {
        "train": ["--data", "-", *QUICK, "--save", str(data)],
        "predict": ["--model", "m.pt", "--csv", "-", "--out", str(data)],
    }
    for tool, flags in runs.items():
        with open(data) as stdin:
            result = command(tool, *flags, stdin=stdin, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        flag = "--data" if tool == "train" else "--csv"
        assert result.stderr == (
            f"python -m iris_torch.{tool}: error: {flags[-2]} {data} would write over the file "
            f"on standard input, which {flag} - reads; choose other paths for what is written\n"
        )
        assert data.read_bytes() == before
    assert listing(tmp_path) == {"v.csv", "m.pt"}


def test_no_output_is_the_file_standard_output_goes_to(tmp_path):
    """> out.txt and --save out.txt: the report and the model would overwrite each other."""
    out = tmp_path / "out.txt"
    with open(out, "w") as stdout:
        result = command("train", *QUICK, "--save", str(out), stdout=stdout)
    assert result.returncode == 2
    assert f"--save {out} would write over standard output, where the report goes" in result.stderr
    assert out.read_text() == ""


def read_from_pipes(*fifos: Path) -> list:
    """A reader for each named pipe, each pipe's bytes in its slot once the writer is done."""
    import threading

    received = [None] * len(fifos)

    def read(i: int) -> None:
        received[i] = fifos[i].read_bytes()

    for i, fifo in enumerate(fifos):
        os.mkfifo(fifo)
        threading.Thread(target=read, args=(i,), daemon=True).start()
    return received


@UNIX
def test_outputs_to_named_pipes_are_written_into_them(tmp_path):
    """A path that is no regular file (a FIFO here, /dev/null alike) is written as it is:
    renaming a temporary file onto it would replace the pipe with a file. PNG, zip and
    Parquet writers seek, which a pipe cannot: they write elsewhere first."""
    import io
    import zipfile

    model, figure = tmp_path / "model.fifo", tmp_path / "figure.png"
    received = read_from_pipes(model, figure)
    result = command("train", *QUICK, "--save", str(model), "--plot", str(figure))
    assert result.returncode == 0, result.stderr
    loaded = torch.load(io.BytesIO(received[0]), weights_only=True)
    assert loaded["format"] == "iris_torch checkpoint"
    assert received[1].startswith(b"\x89PNG")

    regular = tmp_path / "model.pt"
    assert command("train", *QUICK, "--save", str(regular)).returncode == 0
    outs = [tmp_path / "p.parquet", tmp_path / "p.csv.zip"]
    received = read_from_pipes(*outs)
    for out in outs:
        flags = ["--model", str(regular), "--csv", str(iris_path()), "--out", str(out)]
        result = command("predict", *flags)
        assert result.returncode == 0, result.stderr
    assert received[0].startswith(b"PAR1")
    assert zipfile.ZipFile(io.BytesIO(received[1])).namelist() == ["p.csv"]
    assert all(stat.S_ISFIFO(os.lstat(path).st_mode) for path in (model, figure, *outs))
    assert listing(tmp_path) == {"model.fifo", "figure.png", "model.pt", "p.parquet", "p.csv.zip"}


def test_ctrl_c_before_training_is_one_line_too(monkeypatch, capsys):
    """Ctrl-C while the data are read (a bare KeyboardInterrupt, with no text of its own)."""

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("iris_torch.cli.train.check_inputs", interrupted)
    code, out, err = run_main(train_main, [], capsys)
    assert (code, out, err) == (130, "", "python -m iris_torch.train: interrupted\n")


def test_the_version_is_the_one_pyproject_declares():
    pyproject = (ROOT / "pyproject.toml").read_text()
    (declared,) = re.findall(r'^version = "(.+)"$', pyproject, flags=re.MULTILINE)
    assert iris_torch.__version__ == declared


@pytest.mark.parametrize(
    "main, argv",
    [
        (cli_main, ["--version"]),
        (cli_main, ["train", "--version"]),
        (train_main, ["--version"]),
        (predict_main, ["--version"]),
    ],
)
def test_every_entry_point_prints_the_version(capsys, main, argv):
    assert run_main(main, argv, capsys) == (0, VERSION_LINE, "")


@pytest.mark.parametrize(
    "argv, named",
    [
        (["foo"], "command 'foo'"),
        (["--verbose"], "option '--verbose'"),
        (["Train"], "command 'Train'"),
    ],
)
def test_an_unknown_command_is_named_in_one_line(capsys, argv, named):
    assert run_main(cli_main, [*argv, "--json"], capsys) == (
        2,
        "",
        f"iris-torch: error: unknown {named}; the commands are train, predict "
        "(see iris-torch --help)\n",
    )


def test_no_command_prints_the_usage_as_an_error_and_help_as_output(capsys):
    code, out, err = run_main(cli_main, [], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("usage: iris-torch COMMAND")
    assert run_main(cli_main, ["--help"], capsys) == (0, err, "")


def test_the_installed_command_answers_version_and_unknown_commands():
    """The console script pyproject.toml declares, as a process: its exit codes, its streams."""
    version = subprocess.run([console_script(), "--version"], capture_output=True, text=True)
    assert (version.returncode, version.stdout, version.stderr) == (0, VERSION_LINE, "")
    unknown = subprocess.run([console_script(), "foo"], capture_output=True, text=True)
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert unknown.stderr.startswith("iris-torch: error: unknown command 'foo';")
