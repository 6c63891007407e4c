"""`audit init`'s block: generated from the real models, loaded back by the real config loader, written into
real pyproject.toml files in tmp_path."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Literal

import pydantic
import pytest

from auditor.config import Settings, load_settings, validate_check_section
from auditor.init_config import AUDIT_TOML, InitError, render_init_block, write_init
from auditor.interface import CheckConfig, Safety
from auditor.model import Outcome, Section
from auditor.registry import load_checks

REGISTRY = load_checks()
FORMATS = ["html", "json", "md", "junit", "sarif"]
# An option line ("# key = value") or the placeholder of an option with no example ("## key = "<string>"").
OPTION = re.compile(r"^#{1,2} ((?:[A-Za-z0-9_-]+|\"[^\"]+\")(?:\.(?:[A-Za-z0-9_-]+|\"[^\"]+\"))*) = ")


class _Budget(CheckConfig):
    """Per-route budget."""

    p95_ms: float | None = pydantic.Field(None, gt=0)


class _PluginConfig(CheckConfig):
    mode: Literal["fast", "thorough"] = "fast"   # how hard to look
    # Where the plugin writes its notes.
    notes_dir: str | None = None
    ratio: float | None = pydantic.Field(None, gt=0, le=1, description="share of routes sampled")
    budgets: dict[str, _Budget] = {}


class _PluginCheck:
    id: ClassVar[str] = "my-plugin"
    title: ClassVar[str] = "A third-party check"
    section: ClassVar[Section] = Section.DEPLOYMENT
    needs: ClassVar[frozenset[str]] = frozenset({"repo"})
    safety: ClassVar[Safety] = Safety.PASSIVE
    config_model: ClassVar[type[CheckConfig]] = _PluginConfig

    def run(self, ctx: Any) -> Outcome:
        return Outcome(summary="")


def uncomment(block: str) -> str:
    """What a user gets by deleting the leading "# " of every option line; "##" lines stay comments."""
    return "\n".join(line[2:] if line.startswith("# ") else line for line in block.splitlines()) + "\n"


def option_keys(block: str) -> set[str]:
    return {m.group(1).replace('"', "") for line in block.splitlines() if (m := OPTION.match(line))}


def model_keys(model: type[pydantic.BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if not prefix and name == "check_sections":
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, pydantic.BaseModel):
            keys |= model_keys(type(default), f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_every_settings_and_check_option_is_in_the_block() -> None:
    keys = option_keys(render_init_block(REGISTRY, formats=FORMATS))
    assert model_keys(Settings) <= keys
    assert {"http.timeout", "policy.preset", "policy.levels", "policy.fail_on", "policy.regressions.p95_ratio",
            "policy.regressions.p95_noise_ms"} <= keys
    for check_id, cls in REGISTRY.items():
        expected = {f"{check_id}.{name}" for name in cls.config_model.model_fields}
        assert expected <= keys, sorted(expected - keys)
    assert "check_sections" not in render_init_block(REGISTRY, formats=FORMATS)


def test_as_written_nothing_is_set(tmp_path: Path) -> None:
    block = render_init_block(REGISTRY, formats=FORMATS)
    assert tomllib.loads(block) == {"tool": {"auditor": {}}}
    config = tmp_path / "pyproject.toml"
    config.write_text(block, encoding="utf-8")
    assert load_settings({"config": str(config)}, check_ids=set(REGISTRY), environ={}) == \
        load_settings({}, check_ids=set(REGISTRY), environ={"AUDIT_CONFIG": str(config)})


def test_uncommented_the_block_loads_and_every_default_is_the_models_default(tmp_path: Path) -> None:
    config = tmp_path / "audit.toml"
    config.write_text(uncomment(render_init_block(REGISTRY, formats=FORMATS)), encoding="utf-8")
    table = tomllib.loads(config.read_text(encoding="utf-8"))["tool"]["auditor"]
    settings = load_settings({"config": str(config)}, check_ids=set(REGISTRY), environ={})

    defaults = Settings()
    for name, field in Settings.model_fields.items():
        if name not in ("check_sections", "fail_on", "policy") and field.default is not None:
            assert getattr(settings, name) == getattr(defaults, name), name
    assert settings.fail_on == "high" and settings.policy.preset == "default"
    assert (settings.policy.levels, settings.policy.fail_on) == ({}, {})
    # Options unset by default got examples that the loader accepts as they are.
    assert settings.url == "http://127.0.0.1:8000" and settings.checks == list(REGISTRY)
    assert settings.format == FORMATS and settings.ignore_file == tmp_path / ".audit-ignore.toml"
    assert settings.policy.regression_limits() == Settings().policy.regression_limits()

    assert set(settings.check_sections) == set(REGISTRY)
    for check_id, cls in REGISTRY.items():
        model = cls.config_model
        loaded = validate_check_section(check_id, model, settings.check_sections[check_id])
        for name, field in model.model_fields.items():
            default = field.get_default(call_default_factory=True)
            if default is not None:
                assert getattr(loaded, name) == default, f"{check_id}.{name}"
    assert table["latency"]["rate"] == 40.0 and table["http"]["timeout"] == 10.0


def test_a_plugin_section_is_generated_from_its_model() -> None:
    block = render_init_block({**REGISTRY, "my-plugin": _PluginCheck}, formats=FORMATS)  # type: ignore[dict-item]
    lines = block.splitlines()
    assert any(line.startswith("## ---- [tool.auditor.my-plugin]: A third-party check") for line in lines)
    assert '# my-plugin.mode = "fast"  # how hard to look; one of: fast | thorough' in lines
    assert "## Where the plugin writes its notes." in lines
    assert '## my-plugin.notes_dir = "<string>"  [unset]' in lines
    assert "# my-plugin.ratio = 1.0  # [unset] share of routes sampled; > 0, <= 1" in lines
    assert "# my-plugin.budgets = {}" in lines
    sections = tomllib.loads(uncomment(block))["tool"]["auditor"]
    assert validate_check_section("my-plugin", _PluginConfig, sections["my-plugin"]) == \
        _PluginConfig(ratio=1.0)


def test_appending_keeps_the_existing_pyproject_intact(tmp_path: Path) -> None:
    original = ('[project]\nname = "shop"\nversion = "1.0"\n\n[tool.ruff]\nline-length = 100\n'
                '# a comment the user wrote, no trailing newline')
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(original, encoding="utf-8")
    assert write_init(tmp_path, force=False, registry=REGISTRY) == pyproject
    text = pyproject.read_text(encoding="utf-8")
    assert text.startswith(original + "\n\n[tool.auditor]\n")
    data = tomllib.loads(text)
    assert data["project"] == {"name": "shop", "version": "1.0"} and data["tool"]["ruff"] == {"line-length": 100}
    assert data["tool"]["auditor"] == {}
    # And the user's tools' tables still load through the auditor's own loader.
    assert load_settings({}, check_ids=set(REGISTRY), environ={"AUDIT_REPO": str(tmp_path)}).repo == tmp_path


def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(b'[project]\r\nname = "shop"\r\n')
    write_init(tmp_path, force=False, registry=REGISTRY)
    raw = pyproject.read_bytes()
    assert raw.startswith(b'[project]\r\nname = "shop"\r\n\r\n[tool.auditor]\r\n')
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_a_missing_pyproject_is_created(tmp_path: Path) -> None:
    path = write_init(tmp_path, force=False, registry=REGISTRY)
    assert path == tmp_path / "pyproject.toml"
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {"tool": {"auditor": {}}}


def test_an_existing_table_is_never_edited_force_writes_audit_toml(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.auditor.latency]\nrate = 10\n', encoding="utf-8")
    with pytest.raises(InitError) as caught:
        write_init(tmp_path, force=False, registry=REGISTRY)
    assert "already has a [tool.auditor] table" in str(caught.value) and "\n" not in str(caught.value)
    assert pyproject.read_text(encoding="utf-8") == '[tool.auditor.latency]\nrate = 10\n'

    written = write_init(tmp_path, force=True, registry=REGISTRY)
    assert written == tmp_path / AUDIT_TOML
    assert pyproject.read_text(encoding="utf-8") == '[tool.auditor.latency]\nrate = 10\n'
    settings = load_settings({"config": str(written)}, check_ids=set(REGISTRY), environ={})
    assert settings.check_sections == {}  # audit.toml replaces the pyproject table when given

    with pytest.raises(InitError, match=f"{AUDIT_TOML} exists too"):
        write_init(tmp_path, force=True, registry=REGISTRY)


@pytest.mark.parametrize(("content", "expected"), [
    (b'[project\nname = "x"\n', "is not valid TOML"),
    (b'name = "\xff"\n', "is not UTF-8"),
    (b'tool = 1\n', "the block cannot be appended"),
])
def test_a_pyproject_that_cannot_take_the_block_is_left_alone(tmp_path: Path, content: bytes,
                                                              expected: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(content)
    with pytest.raises(InitError) as caught:
        write_init(tmp_path, force=False, registry=REGISTRY)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert pyproject.read_bytes() == content


def test_bad_targets_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InitError, match="is not a directory"):
        write_init(tmp_path / "missing", force=False, registry=REGISTRY)
    (tmp_path / "pyproject.toml").mkdir()
    with pytest.raises(InitError, match="is a directory, not a file"):
        write_init(tmp_path, force=False, registry=REGISTRY)
