"""Reading one small input file the user named (a baseline report, an ignore file, a pyproject.toml)
without ever hanging or reading without bound: a FIFO, device or directory is refused before any read,
and the size is capped. Each caller turns ``UnreadableFile`` into its own one-line error."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnreadableFile(Exception):
    """Why the file cannot be read, worded to follow its path: "does not exist", "is a directory"..."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``max_bytes``; UnreadableFile otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO must not hang; the fstat below then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UnreadableFile("does not exist", missing=True) from None
    except IsADirectoryError:
        raise UnreadableFile("is a directory, not a file") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnreadableFile("is a directory, not a file" if stat.S_ISDIR(info.st_mode) else "is not a regular file")
    with os.fdopen(fd, "rb") as fh:
        try:
            raw = fh.read(max_bytes + 1)
        except OSError as exc:
            raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise UnreadableFile(f"is larger than {_size(max_bytes)}")
    return raw


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"
