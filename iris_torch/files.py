"""Writing files so that a failure never leaves half of one behind."""

import os
import secrets
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import CheckpointError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends cleanly, rename it to `path`.

    A rename within one directory is atomic: readers see the old file or the whole new one,
    never a partial write. If the block raises, the temporary file is removed.

    The file ends with the permissions `open(path, "w")` would leave: a new file gets 0o666
    less the umask, and a file that is replaced keeps its own mode (set only after the block
    has written, so that a read-only mode does not stop the writing).
    """
    path = Path(path)
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
    """A new empty file named `.{path.name}.<random>.tmp` in the folder of `path`.

    Created as open() creates a file, mode 0o666 for the kernel to reduce by the umask (or by
    the folder's default ACL), not as tempfile.mkstemp does: its 0o600 would survive the rename
    and hide every saved model, plot and prediction file from everyone else.
    """
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temporary


def check_model_file(path: str | os.PathLike) -> Path:
    """Refuse, before torch is even imported, a path that cannot be an iris_torch model file.

    torch.save has written zip archives since torch 1.6, and so does iris_torch; anything else
    (a CSV, a raw pickle that could run code when loaded) is refused without being read.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"model file not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a model file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"refused to load {path}: it is not an iris_torch model file (not a PyTorch archive)"
        )
    return path
