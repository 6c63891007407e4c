"""Reading one small input file the user named (a baseline report, an ignore file, a pyproject.toml)
without ever hanging or reading without bound: a FIFO, device or directory is refused before any read,
and the size is capped. Each caller turns ``UnreadableFile`` into its own one-line error."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO


class UnreadableFile(Exception):
    """Why the file cannot be read, worded to follow its path: "does not exist", "is a directory"..."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file; OSError otherwise (NotADirectoryError-style
    for a FIFO, socket or device). Opened non-blocking, so a FIFO never hangs the open, and checked
    after opening, so a file swapped for a FIFO after a directory walk fails here too."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(f"{path.name} is a directory")
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{path.name} is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NotRegularFile(OSError):
    """A FIFO, socket or device where a file was expected."""


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``max_bytes``; UnreadableFile otherwise."""
    try:
        with open_regular(path) as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise UnreadableFile("does not exist", missing=True) from None
    except IsADirectoryError:
        raise UnreadableFile("is a directory, not a file") from None
    except NotRegularFile:
        raise UnreadableFile("is not a regular file") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise UnreadableFile(f"is larger than {_size(max_bytes)}")
    return raw


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"
