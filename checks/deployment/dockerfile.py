"""Dockerfiles: parsed with dockerfile-parse (continuations, comments, ARG substitution in FROM), then
judged in pure functions: base images pinned, final user not root, no secrets in ENV/ARG, HEALTHCHECK,
exec-form CMD/ENTRYPOINT."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import extract_key_values

from auditor.model import Finding, Severity
from checks.deployment.rules import make_finding
from checks.deployment.secrets import is_secret_name, mask, secret_types

INSTRUCTIONS = frozenset({"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
                          "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"})
ROOT_USERS = frozenset({"root", "0"})
_VAR = re.compile(r"\$(?:\{[^}]*\}|\w+)")


class DockerfileError(Exception):
    """The file is not a Dockerfile we can judge; the message names the line."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Instruction:
    name: str       # upper case
    value: str      # continuations joined
    line: int       # 1-based first line
    content: str    # as written (for evidence)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # ENV/ARG: (name, value as written)


@dataclass
class Stage:
    image: str              # as resolved from ARG defaults
    raw_image: str          # as written
    alias: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class ParsedDockerfile:
    path: str               # repo-relative
    stages: list[Stage]
    global_args: list[Instruction]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def scoped_instructions(self) -> list[tuple[str, Instruction]]:
        """Every instruction with the name of its scope: "global" (ARGs before the first FROM) or its
        stage's (see stage_name)."""
        scoped = [("global", i) for i in self.global_args]
        for number, stage in enumerate(self.stages, start=1):
            scoped += [(stage_name(stage, number), i) for i in stage.instructions]
        return scoped


def stage_name(stage: Stage, number: int) -> str:
    """What tells a stage apart in a fingerprint key without a line number: its alias, else its ordinal."""
    return f"stage {stage.alias}" if stage.alias else f"stage {number}"


def parse(data: bytes, path: str) -> ParsedDockerfile:
    """Structure the file; raise DockerfileError for what Docker itself would reject."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DockerfileError(f"not UTF-8 text (byte {exc.start})") from None
    parser = DockerfileParser(fileobj=io.BytesIO(data))
    try:
        structure = parser.structure
    except Exception as exc:  # noqa: BLE001 — the library's failures on odd input are "does not parse"
        raise DockerfileError(f"dockerfile-parse failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                              ) from None
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    arg_defaults: dict[str, str] = {}
    for item in structure:
        name = str(item["instruction"]).upper()
        if name == "COMMENT":
            continue
        ins = Instruction(name=name, value=str(item["value"]).strip(), line=int(item["startline"]) + 1,
                          content=str(item["content"]).strip())
        if name not in INSTRUCTIONS:
            raise DockerfileError(f"line {ins.line}: unknown instruction {name[:40]!r}", ins.line)
        if not ins.value:
            raise DockerfileError(f"line {ins.line}: {name} without arguments", ins.line)
        if name in ("ENV", "ARG"):
            ins.pairs = _key_values(ins)
        if name == "FROM":
            stages.append(_stage(ins, arg_defaults))
        elif not stages:
            if name != "ARG":
                raise DockerfileError(f"line {ins.line}: {name} before the first FROM", ins.line)
            global_args.append(ins)
            arg_defaults.update(ins.pairs)
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise DockerfileError("no FROM instruction")
    return ParsedDockerfile(path=path, stages=stages, global_args=global_args)


def _key_values(ins: Instruction) -> list[tuple[str, str]]:
    try:
        pairs = extract_key_values(env_replace=False, args={}, envs={}, instruction_value=ins.value)
    except Exception as exc:  # noqa: BLE001 — the library's failures on odd quoting are "does not parse"
        raise DockerfileError(f"line {ins.line}: cannot read {ins.name} {ins.value[:60]!r} "
                              f"({type(exc).__name__})", ins.line) from None
    for key, _value in pairs:
        if not key:
            raise DockerfileError(f"line {ins.line}: {ins.name} with an empty name", ins.line)
    return [(str(k), str(v)) for k, v in pairs]


def _stage(ins: Instruction, arg_defaults: dict[str, str]) -> Stage:
    words = [w for w in ins.value.split() if not w.startswith("--platform")]
    if not words:
        raise DockerfileError(f"line {ins.line}: FROM without an image", ins.line)
    raw = words[0]
    alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    resolved = _VAR.sub(lambda m: arg_defaults.get(m.group(0).strip("${}").split(":-")[0], m.group(0)), raw)
    return Stage(image=resolved, raw_image=raw, alias=alias, line=ins.line)


# -- judging ---------------------------------------------------------------------------------------

@dataclass
class ImageRef:
    image: str
    tag: str | None
    digest: str | None


def split_image(ref: str) -> ImageRef:
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:  # a colon in the last segment is the tag (one earlier would be a registry port)
        tag = last.rsplit(":", 1)[1]
        name = name[: -(len(tag) + 1)]
    return ImageRef(image=name, tag=tag, digest=digest or None)


def judge_base_images(df: ParsedDockerfile) -> tuple[list[Finding], list[str]]:
    """DPL003 per unpinned FROM; also a note per image saying how it is pinned."""
    findings: list[Finding] = []
    notes: list[str] = []
    aliases: set[str] = set()
    for number, stage in enumerate(df.stages, start=1):
        image = stage.image
        # Several FROMs of one file may be unpinned: the key names the stage and the image, not the line.
        key = f"{stage_name(stage, number)}: {stage.raw_image}"
        if image.lower() == "scratch" or image in aliases:
            pass
        elif _VAR.search(image):
            findings.append(make_finding(
                "DPL003", f"FROM {stage.raw_image} in {df.path} depends on a build argument without a default, "
                "so the base image is whatever the builder passes.", {"file": df.path, "line": stage.line},
                evidence=f"FROM {stage.raw_image}", severity=Severity.MEDIUM, key=key))
        else:
            ref = split_image(image)
            if ref.digest:
                notes.append(f"{image} (digest)")
            elif ref.tag is None or ref.tag == "latest":
                why = "the `latest` tag" if ref.tag else "no tag (Docker uses `latest`)"
                findings.append(make_finding(
                    "DPL003", f"FROM {image} in {df.path} uses {why}: every build may get a different base "
                    "image.", {"file": df.path, "line": stage.line}, evidence=f"FROM {stage.raw_image}", key=key))
            else:
                notes.append(f"{image} (tag; a digest would be reproducible)")
        if stage.alias:
            aliases.add(stage.alias)
    return findings, notes


def final_user(stage: Stage) -> Instruction | None:
    users = [i for i in stage.instructions if i.name == "USER"]
    return users[-1] if users else None


def judge_user(df: ParsedDockerfile, *, runs_as_non_root_elsewhere: bool = False) -> list[Finding]:
    """DPL004 when the final stage never switches away from root."""
    user = final_user(df.final)
    if user is not None:
        name = user.value.split(":")[0].strip()
        if name.lower() not in ROOT_USERS:
            return []
        message = f"The final stage of {df.path} switches to USER {user.value}: the service runs as root."
        location = {"file": df.path, "line": user.line}
        evidence = user.content
    else:
        message = (f"The final stage of {df.path} has no USER instruction, so the service runs as root "
                   "(unless the base image sets a user, which official language images do not).")
        location = {"file": df.path, "line": df.final.line}
        evidence = f"FROM {df.final.raw_image}"
    if runs_as_non_root_elsewhere:
        message += " The Kubernetes manifests set runAsNonRoot/runAsUser, which covers Kubernetes only."
        return [make_finding("DPL004", message, location, evidence=evidence, severity=Severity.MEDIUM)]
    return [make_finding("DPL004", message, location, evidence=evidence)]


def judge_secrets(df: ParsedDockerfile) -> list[Finding]:
    """DPL005 for a literal secret value (masked), DPL006 for a secret-named ENV/ARG without one."""
    findings: list[Finding] = []
    for scope, ins in df.scoped_instructions():
        if ins.name not in ("ENV", "ARG"):
            continue
        for key, value in ins.pairs:
            # One file may set several secrets, and the same name in several stages (a global ARG is
            # declared again inside the stage that uses it): scope, instruction and name tell them apart.
            discriminator = f"{scope} {ins.name} {key}"
            literal = value.strip()
            is_literal = bool(literal) and not _VAR.fullmatch(literal)
            detected = secret_types(f"{key}={literal}") if literal else []
            location = {"file": df.path, "line": ins.line}
            if is_literal and (detected or is_secret_name(key)):
                kind = ", ".join(detected) if detected else "secret-named variable"
                findings.append(make_finding(
                    "DPL005", f"{ins.name} {key} in {df.path} sets a literal value ({kind}); it is stored in the "
                    "image for anyone who can pull it.", location,
                    evidence=f"{ins.name} {key}={mask(literal)}", key=discriminator))
            elif is_secret_name(key):
                findings.append(make_finding(
                    "DPL006", f"{ins.name} {key} in {df.path} is named like a secret; a value given to it at "
                    "build time is recorded in the image.", location,
                    evidence=f"{ins.name} {key}{'=' + literal if literal else ''}", key=discriminator))
    return findings


def healthcheck(df: ParsedDockerfile) -> Instruction | None:
    """The final stage's effective HEALTHCHECK (None also for HEALTHCHECK NONE)."""
    checks = [i for i in df.final.instructions if i.name == "HEALTHCHECK"]
    if not checks or checks[-1].value.strip().upper() == "NONE":
        return None
    return checks[-1]


def exec_form(value: str) -> list[Any] | None:
    if not value.startswith("["):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None  # Docker runs an invalid JSON array in shell form too
    return parsed if isinstance(parsed, list) else None


def judge_pid1(df: ParsedDockerfile) -> list[Finding]:
    """DPL008 when the process that receives SIGTERM would be /bin/sh -c."""
    stage = df.final
    entry = [i for i in stage.instructions if i.name == "ENTRYPOINT"]
    cmd = [i for i in stage.instructions if i.name == "CMD"]
    # The ENTRYPOINT decides when there is one; a CMD then only gives its arguments.
    decisive = entry[-1] if entry else (cmd[-1] if cmd else None)
    if decisive is None or exec_form(decisive.value) is not None:
        return []
    if decisive.value.lstrip().startswith("exec "):
        return []
    return [make_finding(
        "DPL008", f"{decisive.name} in {df.path} uses the shell form, so /bin/sh -c is PID 1 and SIGTERM does not "
        "reach the service.", {"file": df.path, "line": decisive.line}, evidence=decisive.content)]


def copy_sources(df: ParsedDockerfile) -> list[str]:
    """Build-context paths that COPY/ADD read (not --from stages, not URLs, not variables)."""
    sources: list[str] = []
    for stage in df.stages:
        for ins in stage.instructions:
            if ins.name not in ("COPY", "ADD"):
                continue
            if "--from" in ins.value:
                continue
            form = exec_form(ins.value)
            words = [str(w) for w in form] if form else ins.value.split()
            words = [w for w in words if not w.startswith("--")]
            for src in words[:-1]:
                if "://" in src or _VAR.search(src) or src.startswith("<<"):
                    continue
                sources.append(src)
    return sources
