"""Writing files so that a failure never leaves half of one behind."""

import os
import secrets
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import CheckpointError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends cleanly, rename it to `path`.

    A rename within one directory is atomic: readers see the old file or the whole new one,
    never a partial write. If the block raises, the temporary file is removed.

    The file ends with the permissions `open(path, "w")` would leave: a new file gets 0o666
    less the umask, and a file that is replaced keeps its own mode (set only after the block
    has written, so that a read-only mode does not stop the writing).

    A path that is no regular file, such as /dev/null or a named pipe, is written into as it
    is, since a rename would put a file in its place: the block writes a temporary file
    elsewhere (writers of PNG, PDF, zip and Parquet seek, which a pipe cannot), whose bytes
    are then copied in.
    """
    if is_special(path):
        with tempfile.TemporaryDirectory() as folder:
            temporary = Path(folder) / Path(path).name
            yield temporary
            with open(temporary, "rb") as written, open(path, "wb") as target:
                shutil.copyfileobj(written, target)
        return
    # Through a symbolic link to the file it names, as open(path, "w") writes: renaming onto
    # the link itself would replace the link with a file and leave its target as it was.
    path = Path(os.path.realpath(path))
    temporary = create_beside(path)
    try:
        yield temporary
        if path.exists():
            os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def create_beside(path: Path) -> Path:
    """A new empty file named `.{path.name}.<random>.tmp` in the folder of `path`, the name cut
    short where it would be longer than the folder's file system allows (name_max).

    Created as open() creates a file, mode 0o666 for the kernel to reduce by the umask (or by
    the folder's default ACL), not as tempfile.mkstemp does: its 0o600 would survive the rename
    and hide every saved model, plot and prediction file from everyone else.
    """
    room = name_max(path.parent) - len(".._random_.tmp")  # what the name may keep of its bytes
    stem = os.fsencode(path.name)[:room].decode(errors="ignore")  # whole characters only
    while True:
        temporary = path.with_name(f".{stem}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temporary


def is_special(path: str | os.PathLike) -> bool:
    """Whether `path` is there but no regular file (/dev/null, a named pipe): written into
    where it is, never replaced (atomic_path)."""
    return os.path.exists(path) and not os.path.isfile(path)


def name_max(folder: str | os.PathLike) -> int:
    """The longest file name, in bytes, that the file system of `folder` allows (255 on
    Linux's and macOS's, and where the system cannot tell)."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or no such folder
        return 255


def opened(path: Path, error: type[Exception], kind: str) -> BinaryIO:
    """open(path, "rb"), or `error` with one line saying why not: no such file, a directory,
    or what the system says (no permission, a name too long). kind: what the file should be,
    for the message ("data file")."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise error(f"{kind} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory, not a {kind}") from None
    except OSError as problem:
        raise error(f"cannot read {path}: {problem.strerror}") from None


def check_model_file(path: str | os.PathLike) -> Path:
    """Refuse, before torch is even imported, a path that cannot be an iris_torch model file.

    torch.save has written zip archives since torch 1.6, and so does iris_torch; anything else
    (a CSV, a raw pickle that could run code when loaded) is refused without being read.
    """
    path = Path(path)
    opened(path, CheckpointError, "model file").close()
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"refused to load {path}: it is not an iris_torch model file (not a PyTorch archive)"
        )
    return path
