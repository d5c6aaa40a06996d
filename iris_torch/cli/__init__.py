"""What the commands share, and the `iris-torch` command itself.

`iris-torch train ...` is `python -m iris_torch.train ...`; `iris-torch predict ...` is
`python -m iris_torch.predict ...`. Every command reports bad input the same way: one line on
stderr naming the problem, exit code 2, no traceback, no file written; a run that fails after it
has started (training that diverges) exits with 1; Ctrl-C ends a command with one line and exit
code 130, leaving no partial file.
"""

import argparse
import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..errors import CheckpointError, DataError, DivergenceError, GroupError, UsageError
from ..plots import figure_format

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
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} must be {requirement}")
        return value

    return parse


positive_int = number(int, lambda v: v >= 1, "an integer of at least 1")
non_negative_int = number(int, lambda v: v >= 0, "an integer of at least 0")
positive_float = number(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
non_negative_float = number(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
fraction = number(float, lambda v: 0 < v < 1, "strictly between 0 and 1")
finite_float = number(float, math.isfinite, "a finite number")
seed = number(int, lambda v: 0 <= v < 2**63, "an integer from 0 to 2**63 - 1")

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
    """Fail before any work if `path` cannot be written, rather than after a long run."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{flag} {path} is a directory; give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: the directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{flag} {path}: the directory {str(parent)!r} is not writable")


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


def run_reporting_errors(prog: str, work: Callable[[], int], speaks: bool = True) -> int:
    """Run a command's work; turn the errors a user can act on into one line and an exit code.
    speaks: whether this process prints them (in a run of several processes, one does)."""

    def say(line: str) -> None:
        if speaks:
            print(f"{prog}: {line}", file=sys.stderr)

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
    except KeyboardInterrupt as interrupt:  # Ctrl-C; during training it says in which epoch
        say(f"{interrupt or 'interrupted'}")
        return 130  # what a shell reports for a process that SIGINT ended: 128 + 2
    except BrokenPipeError:
        # The reader went away (say, `| head`): stop quietly, as Unix tools do. Point stdout
        # at /dev/null so that Python's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


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
