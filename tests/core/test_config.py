from pathlib import Path

import pydantic
import pytest

from auditor.config import ConfigError, load_settings, validate_check_section
from auditor.interface import CheckConfig

CHECK_IDS = {"health", "latency"}


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_when_nothing_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({}, check_ids=CHECK_IDS, environ={})
    assert settings.fail_on == "high"
    assert settings.output_dir == Path("audit-report")
    assert settings.checks is None and settings.skip == []


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "pyproject.toml", """
[tool.auditor]
url = "http://127.0.0.1:1111"
fail_on = "low"
seed = 3
skip = ["latency"]
""")
    env = {"AUDIT_URL": "http://127.0.0.1:2222", "AUDIT_FAIL_ON": "medium"}
    flags = {"url": "http://127.0.0.1:3333"}
    settings = load_settings(flags, check_ids=CHECK_IDS, environ=env)
    assert settings.url == "http://127.0.0.1:3333"   # flag beats env and file
    assert settings.fail_on == "medium"              # env beats file
    assert settings.seed == 3                        # file beats default
    assert settings.skip == ["latency"]
    assert load_settings({}, check_ids=CHECK_IDS, environ=env).url == "http://127.0.0.1:2222"


def test_repo_pyproject_is_read_and_relative_paths_resolve_against_it(tmp_path, monkeypatch):
    repo = tmp_path / "svc"
    repo.mkdir()
    write(repo / "pyproject.toml", '[tool.auditor]\nspec = "api/openapi.yaml"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"repo": str(repo)}, check_ids=CHECK_IDS, environ={})
    assert settings.spec == str((repo / "api" / "openapi.yaml").resolve())


def test_config_flag_accepts_a_plain_auditor_table(tmp_path):
    cfg = write(tmp_path / "audit.toml", 'fail_on = "never"\n[health]\nmetrics_path = "/prom"\n')
    settings = load_settings({"config": str(cfg)}, check_ids=CHECK_IDS, environ={})
    assert settings.fail_on == "never"
    assert settings.check_sections == {"health": {"metrics_path": "/prom"}}


def test_env_lists_are_split_and_unknown_audit_vars_ignored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"AUDIT_CHECKS": "health, latency", "AUDIT_SOMETHING_ELSE": "x", "AUDIT_READ_ONLY": "true"}
    settings = load_settings({}, check_ids=CHECK_IDS, environ=env)
    assert settings.checks == ["health", "latency"]
    assert settings.read_only is True


@pytest.mark.parametrize("toml, expected", [
    ('colour = "red"\n', "config colour (from {file}): unknown key"),
    ('fail_on = "hgh"\n', "config fail_on (from {file}): Input should be"),
    ('seed = "many"\n', "config seed (from {file}): Input should be a valid integer"),
    ('[safety]\nallow_writez = true\n', "config safety.allow_writez (from {file}): unknown key"),
    ('[nosuchcheck]\nx = 1\n', "config nosuchcheck (from {file}): unknown key"),
])
def test_bad_file_keys_are_one_line_errors_naming_the_key(tmp_path, toml, expected):
    cfg = write(tmp_path / "audit.toml", toml)
    with pytest.raises(ConfigError) as err:
        load_settings({"config": str(cfg)}, check_ids=CHECK_IDS, environ={})
    message = str(err.value)
    assert message.startswith(expected.format(file=cfg))
    assert "\n" not in message


def test_bad_env_value_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"config seed \(from AUDIT_SEED\)"):
        load_settings({}, check_ids=CHECK_IDS, environ={"AUDIT_SEED": "x"})


def test_url_must_be_http(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"config url \(from --url\): .*http://"):
        load_settings({"url": "ftp://x"}, check_ids=CHECK_IDS, environ={})


@pytest.mark.parametrize("content, expected", [
    (None, "does not exist"),
    ("fail_on = [", "is not valid TOML"),
])
def test_unreadable_config_file(tmp_path, content, expected):
    cfg = tmp_path / "audit.toml"
    if content is not None:
        cfg.write_text(content)
    with pytest.raises(ConfigError, match=expected):
        load_settings({"config": str(cfg)}, check_ids=CHECK_IDS, environ={})


def test_headers_parse_and_malformed_header_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"headers": ["Authorization: Bearer abc:def"]}, check_ids=CHECK_IDS, environ={})
    assert settings.header_dict() == {"Authorization": "Bearer abc:def"}
    bad = load_settings({"headers": ["no colon here"]}, check_ids=CHECK_IDS, environ={})
    with pytest.raises(ConfigError, match="expected 'Name: value'"):
        bad.header_dict()


class _LatencyConfig(CheckConfig):
    rate: float = 20.0
    p95_ms: float = 100.0


def test_check_section_is_validated_by_the_checks_model():
    assert validate_check_section("latency", _LatencyConfig, {"rate": 5}).rate == 5.0
    with pytest.raises(ConfigError, match=r"\[tool.auditor.latency\] p95: unknown key"):
        validate_check_section("latency", _LatencyConfig, {"p95": 1})
    with pytest.raises(ConfigError, match=r"\[tool.auditor.latency\] rate: Input should be a valid number"):
        validate_check_section("latency", _LatencyConfig, {"rate": "fast"})
    assert issubclass(_LatencyConfig, pydantic.BaseModel)


def test_policy_preset_sets_fail_on_unless_given_and_fills_regression_bands(tmp_path):
    cfg = write(tmp_path / "audit.toml", '[policy]\npreset = "strict"\n[policy.regressions]\np95_ratio = 0.5\n')
    settings = load_settings({"config": cfg}, check_ids=CHECK_IDS, environ={})
    assert settings.fail_on == "medium"  # strict's threshold
    limits = settings.policy.regression_limits()
    assert (limits.p95_ratio, limits.p95_noise_ms) == (0.5, 2.0)  # own value, the preset's for the rest
    given = load_settings({"config": cfg, "fail_on": "low"}, check_ids=CHECK_IDS, environ={})
    assert given.fail_on == "low"


@pytest.mark.parametrize("toml, expected", [
    ('[policy.levels]\nnosuch = "warn"\n', "config policy.levels.nosuch (from "),
    ('[policy.levels]\nlatency = "loud"\n', "config policy.levels.latency"),
    ('[policy]\npreset = "paranoid"\n', "config policy.preset"),
])
def test_bad_policy_is_one_line_naming_the_key(tmp_path, toml, expected):
    cfg = write(tmp_path / "audit.toml", toml)
    with pytest.raises(ConfigError) as err:
        load_settings({"config": cfg}, check_ids=CHECK_IDS, environ={})
    assert str(err.value).startswith(expected) and "\n" not in str(err.value)
