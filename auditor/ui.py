"""Progress on stderr (rich), final summary on stdout; nothing a check can reach directly.
Every line passes through the redactor so a secret header never lands in a CI log."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from rich.console import Console
from rich.markup import escape

from auditor.model import CheckResult, Status
from auditor.redact import Redactor

STATUS_STYLE = {
    Status.PASS: ("green", "pass"),
    Status.WARN: ("yellow", "warn"),
    Status.FAIL: ("red", "FAIL"),
    Status.ERROR: ("magenta", "ERROR"),
    Status.SKIPPED: ("dim", "skipped"),
}


class ConsoleUI:
    def __init__(self, *, quiet: bool = False, verbose: bool = False, redactor: Redactor | None = None) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.redactor = redactor or Redactor()
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.out = Console(highlight=False, soft_wrap=True)

    def _clean(self, text: str) -> str:
        return escape(self.redactor.scrub(text))

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(self._clean(message))

    def debug(self, message: str) -> None:
        if self.verbose:
            self.err.print(f"[dim]{self._clean(message)}[/dim]")

    def notice(self, message: str) -> None:
        """A line about safety the user must see before the audit starts (kept with --quiet)."""
        self.err.print(f"[bold yellow]note:[/bold yellow] {self._clean(message)}")

    def error(self, message: str) -> None:
        """The one line a failed command prints (never suppressed by --quiet)."""
        self.err.print(f"[bold red]error:[/bold red] {self._clean(message)}")

    def working(self, message: str) -> AbstractContextManager[Any]:
        if self.quiet or not self.err.is_terminal:
            return nullcontext()
        return self.err.status(self._clean(message))

    def check_done(self, result: CheckResult) -> None:
        if self.quiet:
            return
        style, word = STATUS_STYLE[result.status]
        self.err.print(f"  [{style}]{word:>7}[/{style}]  {result.id:<13} {result.duration_s:6.1f} s  "
                       f"{self._clean(result.summary)}")

    def result(self, text: str) -> None:
        """The summary the user came for, on stdout (kept even with --quiet)."""
        self.out.print(self._clean(text))
