"""The Renderer interface: one module per output format, registered through the entry-point group
``auditor.reports`` so a third-party format plugs in like a built-in one."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from auditor.model import Report


@runtime_checkable
class Renderer(Protocol):
    format: ClassVar[str]    # the --format name: "html", "json", "md", "junit", "sarif"
    filename: ClassVar[str]  # file written in the output directory: "report.html"

    def render(self, report: Report) -> str: ...
