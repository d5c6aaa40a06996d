"""Writing files so that a failure never leaves half of one behind."""

import os
import tempfile
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
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(descriptor)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
