"""What the commands share, and the `iris-torch` command itself.

`iris-torch train ...` is `python -m iris_torch.train ...`; `iris-torch predict ...` is
`python -m iris_torch.predict ...`. Every command reports bad input the same way: one line on
stderr naming the problem, exit code 2, no traceback, no file written; a run that fails after it
has started (training that diverges) exits with 1; Ctrl-C ends a command with one line and exit
code 130, SIGTERM (what `timeout`, `kill` and job schedulers send) with one line and 143,
leaving no partial file. No command writes a file that it reads, or one file twice.
"""

import argparse
import importlib
import importlib.util
import math
import os
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .. import __version__
from ..errors import (
    CheckpointError,
    DataError,
    DivergenceError,
    GroupError,
    Stopped,
    UsageError,
)
from ..files import is_special, name_max
from ..plots import figure_format

if TYPE_CHECKING:
    import pandas

COMMANDS = {"train": "train a model", "predict": "predict with a saved model"}
VERSION = f"iris-torch {__version__}"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with --version, and with its errors on one line (argparse itself adds the
    whole usage text)."""

    quiet = False  # in a run of several processes, all but one keep their errors to themselves

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_argument("--version", action="version", version=VERSION)

    def error(self, message: str):
        self.exit(2, None if self.quiet else f"{self.prog}: error: {message} (see --help)\n")


def number(kind: Callable[[str], float], test: Callable[[float], bool], requirement: str):
    """An argparse type: parse with `kind`, then insist on `test` (e.g. a positive number)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} must be {requirement}")
        return value

    return parse


positive_int = number(int, lambda v: v >= 1, "an integer of at least 1")
non_negative_int = number(int, lambda v: v >= 0, "an integer of at least 0")
positive_float = number(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
non_negative_float = number(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
finite_float = number(float, math.isfinite, "a finite number")
seed = number(int, lambda v: 0 <= v < 2**63, "an integer from 0 to 2**63 - 1")


def test_size(text: str) -> int | float:
    """An argparse type for --test-size, as scikit-learn reads test_size: a whole number is a
    count of rows (0: no test set), a number with a point a share strictly between 0 and 1."""
    try:
        return non_negative_int(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        share = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number: give a share such as 0.2, or a count of rows such as 30"
        ) from None
    if not 0 < share < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a share strictly between 0 and 1, or a whole number of rows "
            "(0: train on every row)"
        )
    return share


DECIMAL = dict(
    choices=(".", ","),
    default=".",
    metavar="CHAR",
    help="the CSV's decimal mark: . (default) or , (then 14,23 is 14.23, as Excel writes numbers "
    "in much of Europe)",
)
"""--decimal, as train and predict take it (argparse's keyword arguments)."""

SEPARATOR_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t"}


def separator(text: str) -> str:
    """An argparse type for --sep: one character, or its name (comma, semicolon, tab, \\t)."""
    sep = SEPARATOR_NAMES.get(text.lower(), text)
    if len(sep) != 1 or sep in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a separator: give one character, or comma, semicolon or tab"
        )
    return sep


def check_writable(path: str, flag: str) -> None:
    """Fail before any work if `path` cannot be written, rather than after a long run: "-"
    (a model or figure goes to a file), a folder, a folder missing or not writable, a name too
    long for its file system. A symbolic link is judged by the file it leads to, which is
    what gets written."""
    if path == "-":
        raise UsageError(f"{flag} writes a file, not standard output: give a file name")
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path} is a directory; give a file name")
    if is_special(path):  # /dev/null, a named pipe: written where they are
        if not os.access(path, os.W_OK):
            raise UsageError(f"{flag} {path} is not writable")
        return
    target = Path(os.path.realpath(path))
    parent = target.parent
    if not parent.is_dir():
        shown = parent if os.path.islink(path) else Path(path).parent  # where the link leads
        raise UsageError(f"{flag} {path}: the directory {str(shown)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{flag} {path}: the directory {str(parent)!r} is not writable")
    longest = name_max(parent)
    if len(os.fsencode(target.name)) > longest:
        raise UsageError(
            f"{flag}: the file name {target.name[:40]}... is longer than the {longest} bytes "
            "its file system allows"
        )


def check_matplotlib(flag: str) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"{flag} needs matplotlib: pip install matplotlib")


def check_plot_path(path: str, flag: str) -> None:
    """Fail before any work if no figure can be written to `path`: a suffix other than .png,
    .pdf or .svg, a folder that is missing or not writable, or no matplotlib."""
    try:
        figure_format(path)
    except ValueError as error:
        raise UsageError(f"{flag} {error}") from None
    check_writable(path, flag)
    check_matplotlib(flag)


def check_no_clash(reads: Iterable[tuple[str, str]], writes: Iterable[tuple[str, str]]) -> None:
    """Refuse, before any work, a run that would write over a file it reads, or write one file
    twice: each of `writes` and `reads` is (flag, path), and a --data pattern stands for each
    file it names. Paths are compared by what they lead to: the same file by another name,
    through a symbolic link or a hard link, is the same file. "-" reads standard input, which
    may be a file itself (--data - < data.csv); and no path written may be one of the run's
    standard streams (/dev/stdout, or the file stdout is redirected to), which carry its input,
    report and notes; the null device excepted, which loses nothing. One UsageError names
    every clash."""
    reads = list(reads)
    files = [(flag, path) for flag, pattern in reads for path in _named(pattern)]
    writes = [(flag, path) for flag, path in writes if path != "-"]
    reading_stdin = [flag for flag, pattern in reads if pattern == "-"]
    streams = {
        0: f"which {reading_stdin[0]} - reads" if reading_stdin else "this run's input",
        1: "where the report goes",
        2: "where notes and errors go",
    }
    clashes = []
    for i, (flag, path) in enumerate(writes):
        for other_flag, other in files:
            if same_file(path, other):
                shown = other if other == path else f"{other} (the same file)"
                clashes.append(f"{flag} {path} would overwrite {shown}, which {other_flag} reads")
        for fd, what in streams.items():
            if _is_stream(path, fd):
                name = ("the file on standard input", "standard output", "standard error")[fd]
                clashes.append(f"{flag} {path} would write over {name}, {what}")
        for other_flag, other in writes[:i]:
            if same_file(path, other):
                clashes.append(f"{other_flag} and {flag} both write {path}")
    if clashes:
        raise UsageError("; ".join(clashes) + "; choose other paths for what is written")


def _is_stream(path: str, fd: int) -> bool:
    """Whether `path` leads to the file that this process's stream `fd` is (0, 1, 2), other
    than the null device."""
    try:
        target, stream = os.stat(path), os.fstat(fd)
        null = os.stat(os.devnull)
    except OSError:  # no such path (yet), or the stream is closed
        return False
    same = (target.st_dev, target.st_ino) == (stream.st_dev, stream.st_ino)
    return same and (target.st_dev, target.st_ino) != (null.st_dev, null.st_ino)


def _named(pattern: str) -> list[str]:
    """The files a read flag names: a --data pattern's files, or none for standard input."""
    if pattern == "-":
        return []
    from ..data.read import data_files  # pandas, which the run is about to need anyway

    try:
        return data_files(pattern)
    except DataError:  # a pattern that matches nothing: the reader says so, in its turn
        return []


def same_file(first: str, second: str) -> bool:
    """Whether two paths lead to one file: the same inode where both exist (hard links too),
    else the same path once symbolic links and .. are resolved."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return Path(first).resolve() == Path(second).resolve()


SHOWN_LABELS = 5  # unknown labels named in the note; the rest are counted


def counted_labels(labels: "pandas.Series") -> dict[str, int]:
    """{label: rows}, most rows first (then in text order): labels less spaces, "" if blank."""
    counts = labels.fillna("").str.strip().value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {text: int(n) for text, n in ordered}


def unknown_note(unknown: dict[str, int], known: int) -> str:
    """'3 rows have labels the model does not know ('x' 2 rows, 'y' 1 row); accuracy is ...'"""
    rows = sum(unknown.values())
    shown = [f"{text!r} {n} row{'s' if n != 1 else ''}" for text, n in unknown.items()]
    shown = shown[:SHOWN_LABELS] + (["..."] if len(shown) > SHOWN_LABELS else [])
    subject = f"{rows} rows have labels" if rows != 1 else "1 row has a label"
    verdict = (
        f"accuracy is over the other {known}"
        if known
        else "no row has a label the model knows, so there is no accuracy"
    )
    return f"{subject} the model does not know ({', '.join(shown)}); {verdict}"


def run_reporting_errors(prog: str, work: Callable[[], int], speaks: bool = True) -> int:
    """Run a command's work; turn the errors a user can act on into one line and an exit code.
    speaks: whether this process prints them (in a run of several processes, one does).

    While the work runs, SIGTERM is turned into Stopped, a KeyboardInterrupt, so that it ends
    the command as Ctrl-C does (the model saved with --save-on-interrupt, a half-written file
    removed), with 128 + 15 as a shell reports a SIGTERM. Once either signal is ending the
    command, more of them are ignored until the work has returned (ignore_further_signals): a
    second Ctrl-C pressed at once would break off the saving, or the line that says what
    happened. The signals' handling is put back after, so that a program calling main() keeps
    its own."""

    def say(line: str) -> None:
        if speaks:
            print(f"{prog}: {line}", file=sys.stderr)

    before = _end_on_signals()
    try:
        return work()
    except (UsageError, DataError, CheckpointError) as error:
        say(f"error: {error}")
        return 2
    except DivergenceError as error:
        say(f"error: {error}")
        return 1
    except GroupError as error:  # what this process saw of the others: each survivor says it
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupt:  # Ctrl-C or SIGTERM; in training, it says the epoch
        ignore_further_signals()  # a KeyboardInterrupt raised by the program itself
        say(str(interrupt) or "interrupted")  # a bare KeyboardInterrupt's text is empty
        # what a shell reports for a process that the signal ended: 128 + 2, or 128 + 15
        return 128 + getattr(interrupt, "signal", signal.SIGINT)
    except BrokenPipeError:
        # The reader went away (say, `| head`): stop quietly, as Unix tools do. Point stdout
        # at /dev/null so that Python's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        if _AS_PROGRAM:  # the process ends next: no gap in which a signal could break it off
            ignore_further_signals()
        else:
            for number, handler in before.items():
                signal.signal(number, handler)


def ignore_further_signals() -> None:
    """Ignore Ctrl-C and SIGTERM from now on (run_reporting_errors puts them back): a signal is
    ending the command, and a second must not break off its ending."""
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(number, signal.SIG_IGN)
        except ValueError:  # signals can be set in the main thread only
            return


_AS_PROGRAM = False  # whether the command is this process's program (run_as_program)


def run_as_program(main: Callable[[], int]) -> NoReturn:
    """Run a command's main() as this process's program (python -m ..., the iris-torch
    script), and exit with its code. Once its work is done, Ctrl-C and SIGTERM are ignored
    rather than put back (run_reporting_errors): what is left is Python's own shutdown (its
    atexit callbacks, torch's finalizers), which a signal could only break off, with a
    traceback or a death by signal instead of the exit code."""
    global _AS_PROGRAM
    _AS_PROGRAM = True
    code = main()
    ignore_further_signals()  # where main() did no work (iris-torch with no command)
    sys.exit(code)


def program() -> NoReturn:
    """The iris-torch script."""
    run_as_program(main)


def _end_on_signals() -> dict:
    """Make SIGTERM raise Stopped, and Ctrl-C raise KeyboardInterrupt as Python's own handler
    does, each first ignoring any more of them; return the handlers they had, to put back.
    A Ctrl-C that was ignored (a command started in the background) stays ignored, and a
    handler other than Python's is left alone. Nothing is set outside the main thread."""

    def stopped(signum, frame) -> None:
        ignore_further_signals()
        if signum == signal.SIGTERM:
            raise Stopped("stopped by SIGTERM")
        raise KeyboardInterrupt

    numbers = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        numbers.append(signal.SIGINT)
    try:
        return {number: signal.signal(number, stopped) for number in numbers}
    except ValueError:  # signal only works in the main thread
        return {}


USAGE = "\n".join(
    [
        "usage: iris-torch COMMAND [options]",
        "       iris-torch --version",
        "",
        "commands:",
        *(
            f"  {name:<9}{text} (python -m iris_torch.{name}); iris-torch {name} --help"
            for name, text in COMMANDS.items()
        ),
    ]
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    first = argv[0]
    if first in COMMANDS:
        command = importlib.import_module(f"iris_torch.cli.{first}")
        return command.main(argv[1:], prog=f"iris-torch {first}")
    if first in ("-h", "--help"):
        print(USAGE)
        return 0
    if first == "--version":
        print(VERSION)
        return 0
    unknown = "option" if first.startswith("-") else "command"
    print(
        f"iris-torch: error: unknown {unknown} {first!r}; the commands are "
        f"{', '.join(COMMANDS)} (see iris-torch --help)",
        file=sys.stderr,
    )
    return 2
