"""A log file the service appends its SQL to while it runs: the --serve'd service's captured output, or
--sql-log FILE. Read incrementally from the byte offset where each request began; the format is detected
from the lines (formats/); when the lines carry the request id the auditor sent, correlation is exact."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from checks.nplusone import formats
from checks.nplusone.formats.base import LogFormat
from checks.nplusone.sources.interface import Capture, SourceUnavailable, SqlSource

TAIL_BYTES = 1 << 20       # how much of the existing log is sampled to detect its format
MAX_CHUNK_BYTES = 64 << 20  # one request's log share larger than this is cut (and said so)
POLL_S = 0.02


class LogFileSource(SqlSource):
    name = "log"

    def __init__(self, path: Path, label: str, *, settle_s: float = 1.0,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self.path = Path(path)
        self.label = label
        self.settle_s = settle_s
        self.should_stop = should_stop
        self._format: type[LogFormat] | None = None
        self._offset = 0
        self._inode: int | None = None
        self.exact_seen = False

    @property
    def description(self) -> str:
        fmt = self._format.description if self._format else "format not detected yet"
        return f"{self.label} {self.path} ({fmt})"

    def open(self) -> None:
        try:
            stat = self.path.stat()
            with self.path.open("rb") as handle:
                handle.seek(max(0, stat.st_size - TAIL_BYTES))
                tail = handle.read(TAIL_BYTES)
        except OSError as exc:
            raise SourceUnavailable(f"cannot read {self.label} {self.path}: {exc.strerror or exc}") from None
        self._inode = stat.st_ino
        self._format = formats.detect(tail.decode("utf-8", "replace").splitlines())
        self.format_name = self._format.name if self._format else None

    @property
    def detected(self) -> bool:
        return self._format is not None

    def begin(self, request_id: str) -> None:
        self._offset = self._size()

    def end(self, request_id: str) -> Capture:
        text = self._read_settled()
        lines = text.splitlines()
        if self._format is None:
            self._format = formats.detect(lines)
            self.format_name = self._format.name if self._format else None
            if self._format is None:
                return Capture([], exact=False)
        statements, unparsed = formats.parse(lines, self._format)
        self.unparsed_lines += unparsed
        mine = [s for s in statements if s.request_id == request_id]
        if mine:
            self.exact_seen = True
            return Capture(mine, exact=True)
        if self.exact_seen and not any(s.request_id in (None, "") for s in statements):
            # The service logs the ids we send (seen before): none of ours means this request ran no SQL.
            return Capture([], exact=True)
        if any(s.request_id for s in statements):
            # The service logs request ids but not ours (it makes its own): all statements that ran inside
            # some request between the brackets belong to ours, since requests are sent one at a time.
            statements = [s for s in statements if s.request_id]
        return Capture(statements, exact=False)

    def _size(self) -> int:
        try:
            stat = self.path.stat()
        except OSError as exc:
            self.problems.append(f"{self.path} disappeared during the audit ({exc.strerror or exc})")
            return 0
        if self._inode is not None and stat.st_ino != self._inode:
            self.problems.append(f"{self.path} was rotated during the audit")
            self._inode = stat.st_ino
        return stat.st_size

    def _read_settled(self) -> str:
        """The bytes appended since begin(), once the file stopped growing (the service may log a request's
        last statements just after answering) or settle_s passed."""
        deadline = time.monotonic() + self.settle_s
        size, stable = self._size(), 0
        while time.monotonic() < deadline and not self.should_stop():
            time.sleep(POLL_S)
            now = self._size()
            stable = stable + 1 if now == size else 0
            size = now
            if stable >= 2:
                break
        if size < self._offset:
            self.problems.append(f"{self.path} shrank during the audit (truncated or rotated)")
            self._offset = 0
        length = min(size - self._offset, MAX_CHUNK_BYTES)
        if size - self._offset > MAX_CHUNK_BYTES:
            self.problems.append(f"one request wrote more than {MAX_CHUNK_BYTES >> 20} MB of log; the rest was skipped")
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read(length)
        except OSError as exc:
            self.problems.append(f"cannot read {self.path}: {exc.strerror or exc}")
            return ""
        # A last line still being written is left out: it belongs to what comes after.
        cut = data.rfind(b"\n")
        data = data[: cut + 1] if cut >= 0 else b""
        return data.decode("utf-8", "replace")


def readable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.R_OK)
