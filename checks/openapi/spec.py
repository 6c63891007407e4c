"""The OpenAPI document: where it came from, whether it is safe to walk, and whether it is valid.

The core finds and loads the document once for every check (auditor/artifacts.py and
auditor/discovery.py: --spec, else the well-known paths and the docs pages of the service); this module
adds the size guard every walk relies on, the removal of external $refs (nothing the target wrote may
make the auditor fetch a URL or read a file), and validation with openapi-spec-validator.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.artifacts import MAX_DEPTH, MAX_NODES, count_nodes
from auditor.interface import AuditContext, CheckError, CheckSkipped

EXTERNAL_REF_NOTE = "x-auditor-external-ref"
# openapi-spec-validator needs ~0.1 s for a 20-operation document but minutes for a 20 MB one, and pure
# Python in this thread cannot be interrupted: past this size it runs in a child process that is killed
# after VALIDATION_SECONDS (or a quarter of the check's remaining time, whichever is less).
IN_PROCESS_VALIDATION_NODES = 200_000
VALIDATION_SECONDS = 30.0


@dataclass
class SpecInfo:
    document: dict[str, Any]          # external $refs replaced, safe to hand to any library
    source: str                       # file path or URL
    source_url: str | None            # the URL when it was fetched (relative servers resolve against it)
    version: str                      # "3.1.0", "3.0.3", "2.0"
    nodes: int
    found_by: str = "--spec"          # how the core found it (a well-known path, a docs page, --spec)
    external_refs: list[str] = field(default_factory=list)
    validation_errors: list[str] = field(default_factory=list)
    validated: bool = True
    validation_note: str = ""


def acquire(ctx: AuditContext) -> SpecInfo:
    """The document of this audit, or CheckError (a --spec that cannot be used) / CheckSkipped (none)."""
    try:
        loaded = ctx.artifacts.spec
    except Exception as exc:  # noqa: BLE001 — e.g. a binary --spec file (UnicodeDecodeError) escapes the core
        raise CheckError(f"cannot read spec {ctx.target.spec or ''}: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''}".replace("  ", " ")) from None
    if loaded is None:
        problem = ctx.artifacts.spec_problem or "no OpenAPI document"
        if ctx.target.spec:
            raise CheckError(problem)  # the user named a document we cannot use: the audit is not trusted
        raise CheckSkipped(f"no OpenAPI document: {problem}")
    document, source = loaded.document, loaded.source
    nodes = count_nodes(document)
    if nodes > MAX_NODES:
        raise CheckError(f"spec {source} expands to more than {MAX_NODES:,} nodes or nests deeper than {MAX_DEPTH} "
                         "levels (huge document or YAML alias bomb); refusing to analyse it")
    safe, external = strip_external_refs(document)
    source_url = source if source.startswith(("http://", "https://")) else None
    info = SpecInfo(document=safe, source=source, source_url=source_url, version=spec_version(safe), nodes=nodes,
                    found_by=loaded.how, external_refs=external)
    if nodes <= IN_PROCESS_VALIDATION_NODES:
        info.validation_errors = validate(safe)
    else:
        ctx.progress(f"validating a large document ({nodes:,} nodes) in a child process")
        budget = min(VALIDATION_SECONDS, max(1.0, ctx.remaining() / 4))
        errors = validate_in_child(safe, budget, ctx.should_stop)
        if errors is None:
            info.validated = False
            info.validation_note = (f"openapi-spec-validator did not finish within {budget:.0f} s on this "
                                    f"{nodes:,}-node document; validity unknown")
        else:
            info.validation_errors = errors
    return info


def strip_external_refs(document: Any) -> tuple[Any, list[str]]:
    """A copy where every $ref that is not local ("#/...") is replaced by an empty schema that names it.

    Both openapi-spec-validator (jsonschema-path's retriever) and schemathesis fetch remote refs and read
    local files; the document comes from the target, so neither may follow them."""
    external: list[str] = []

    def copy(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                external.append(ref)
                return {EXTERNAL_REF_NOTE: ref[:200]}
            return {key: copy(value) for key, value in node.items()}
        if isinstance(node, list):
            return [copy(value) for value in node]
        return node

    return copy(document), sorted(set(external))


def spec_version(document: dict[str, Any]) -> str:
    return str(document.get("openapi") or document.get("swagger") or "unknown")


def validate(document: dict[str, Any], limit: int = 5) -> list[str]:
    """openapi-spec-validator's first few messages (empty = valid), each one line."""
    from jsonschema_path import SchemaPath
    from openapi_spec_validator.shortcuts import get_validator_cls
    from openapi_spec_validator.validation.exceptions import ValidatorDetectError

    try:
        cls = get_validator_cls(document)
    except (ValidatorDetectError, TypeError, ValueError):
        return [f"unsupported OpenAPI version {spec_version(document)!r} (3.0, 3.1 and Swagger 2.0 are)"]
    messages: list[str] = []
    try:
        for error in cls(SchemaPath.from_dict(document, handlers={})).iter_errors():
            messages.append(_one_line(error))
            if len(messages) >= limit:
                break
    except RecursionError:
        messages.append("a $ref cycle without any schema in between ($ref pointing at itself through refs only)")
    except Exception as exc:  # noqa: BLE001 — the validator raises resolver errors instead of yielding them
        messages.append(_one_line(exc))
    return messages


def _one_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    path = getattr(error, "path", None) or getattr(error, "absolute_path", None)
    first = text.splitlines()[0]
    # referencing's errors append a repr of the whole document ("... does not exist within {...}").
    first = re.sub(r"\s+within\s+\{.*$", "", first)
    if type(error).__name__ == "PointerToNowhere":
        first = f"unresolved $ref: {first}"
    if path:
        pointer = json_pointer(path)
        if pointer not in first:
            first = f"{first} (at {pointer})"
    return first[:300] + ("…" if len(first) > 300 else "")


def json_pointer(parts: Any) -> str:
    """RFC 6901, as a URI fragment: ["paths", "/x", "get"] -> "#/paths/~1x/get" (a "/" in a key is ~1)."""
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


_POINTER_IN_MESSAGE = re.compile(r"\(at (#/[^)\s]*)\)")


def line_of(source: str, message: str) -> int | None:
    """The 1-based line, in the document file ``source``, of the node a validation message points at
    (its "(at #/...)" pointer); None when there is none or the file cannot be read."""
    match = _POINTER_IN_MESSAGE.search(message)
    if not match:
        return None
    parts = [p.replace("~1", "/").replace("~0", "~") for p in match.group(1)[2:].split("/") if p != ""]
    try:
        import yaml

        node = yaml.compose(Path(source).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)  # JSON is YAML
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = node.start_mark.line if node is not None else None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if found is None:
                break
            line, node = found[0].start_mark.line, found[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line
        else:
            break
    return None if line is None else line + 1


def validate_in_child(document: dict[str, Any], seconds: float, should_stop: Callable[[], bool]) -> list[str] | None:
    """``validate`` in a child process (``python -I``), killed after ``seconds``: None when it did not finish."""
    root = str(Path(__file__).resolve().parents[2])
    bootstrap = ("import sys, json; sys.path.insert(0, sys.argv[1]); from checks.openapi.spec import validate; "
                 "print(json.dumps(validate(json.loads(sys.stdin.read()))))")
    proc = subprocess.Popen([sys.executable, "-I", "-c", bootstrap, root], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"})
    deadline = time.monotonic() + seconds
    try:
        # communicate() with a timeout would block on a big stdin write; feed it, then poll.
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(document).encode())
            proc.stdin.close()
        except BrokenPipeError:
            return None
        while proc.poll() is None:
            if should_stop() or time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        out = proc.stdout.read() if proc.stdout else b""
        try:
            messages = json.loads(out or b"null")
        except ValueError:
            return None
        return [str(m) for m in messages] if isinstance(messages, list) else None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout:
            proc.stdout.close()
