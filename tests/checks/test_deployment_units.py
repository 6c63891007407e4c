"""Pure parts of the deployment check: Docker's ignore-pattern rules, Dockerfile parsing, secret names."""

from __future__ import annotations

import pytest

from checks.deployment.dockerfile import DockerfileError, copy_sources, exec_form, parse, split_image
from checks.deployment.dockerignore import compile_patterns, excluded
from checks.deployment.secrets import is_secret_name, mask, mask_line
from tests.checks.deployment_helpers import by_rule, copy_repo, run_check


@pytest.mark.parametrize(("patterns", "path", "expected"), [
    (".env", ".env", True),
    (".env", "app/.env", False),             # unlike .gitignore: anchored at the context root
    ("**/.env", "app/.env", True),
    ("**/.env", ".env", True),
    (".git/", ".git", True),
    (".git", ".git/HEAD", True),             # a parent directory's exclusion covers its contents
    ("*.md\n!README.md", "README.md", False),  # the last matching pattern wins
    ("*.md\n!README.md", "CHANGES.md", True),
    ("docs/*.md", "docs/sub/a.md", False),   # * stays within one segment
    ("docs/**/*.md", "docs/sub/a.md", True),
    ("/build", "build", True),               # a leading slash means the root anyway
    ("# a comment\n\n", ".env", False),
    ("**/.env.*\n!**/.env.example", "svc/.env.example", False),
    ("**/.env.*\n!**/.env.example", "svc/.env.prod", True),
    ("sample_service/[d]ata", "sample_service/data/x.db", True),
    ("[!b]", "a", True),                     # Go's [!...] negates, as [^...]
    ("[!b]", "b", False),
])
def test_dockerignore_matching_follows_docker(patterns, path, expected):
    assert excluded(path, compile_patterns(patterns)) is expected


def test_parse_resolves_global_args_in_from_and_keeps_stages():
    df = parse(b"ARG V=3.12\nFROM python:${V}-slim AS build\nRUN x\nFROM build\nUSER 1\n", "Dockerfile")
    assert [s.image for s in df.stages] == ["python:3.12-slim", "build"]
    assert df.stages[0].alias == "build" and df.final.instructions[0].name == "USER"


@pytest.mark.parametrize(("data", "fragment"), [
    (b"", "no FROM"),
    (b"# only a comment\n", "no FROM"),
    (b"RUN echo\nFROM x:1\n", "RUN before the first FROM"),
    (b"FROM x:1\nFORM y\n", "unknown instruction 'FORM'"),
    (b"FROM\n", "FROM without"),
    (b"FROM x:1\n\xc3\x28\n", "not UTF-8"),
    (b"ARG\nFROM x:1\n", "ARG without arguments"),
    (b"FROM x:1\nENV =x\n", "empty name"),
])
def test_parse_rejects_what_docker_rejects(data, fragment):
    with pytest.raises(DockerfileError, match=fragment):
        parse(data, "Dockerfile")


@pytest.mark.parametrize(("ref", "tag", "digest"), [
    ("python", None, None),
    ("python:3.12", "3.12", None),
    ("registry:5000/team/app", None, None),          # a port is not a tag
    ("registry:5000/team/app:1.2", "1.2", None),
    ("python@sha256:abc", None, "sha256:abc"),
    ("python:3.12@sha256:abc", "3.12", "sha256:abc"),
])
def test_split_image(ref, tag, digest):
    parsed = split_image(ref)
    assert (parsed.tag, parsed.digest) == (tag, digest)


def test_copy_sources_skip_stages_urls_and_variables():
    df = parse(b'FROM x:1\nCOPY --from=build /a /b\nCOPY --chown=1 src lib /app/\nADD https://x/y /z\n'
               b'COPY ["conf dir", "/etc/app"]\nCOPY $X /y\n', "Dockerfile")
    assert copy_sources(df) == ["src", "lib", "conf dir"]
    assert exec_form('["a", "b"]') == ["a", "b"] and exec_form("python app.py") is None
    assert exec_form("[not json") is None


@pytest.mark.parametrize(("name", "secret"), [
    ("SECRET_KEY", True), ("DB_PASSWORD", True), ("apiKey", True), ("API_KEY", True), ("GITHUB_TOKEN", True),
    ("AWS_SECRET_ACCESS_KEY", True), ("PUBLIC_KEY", False), ("DATA_DIR", False), ("PYTHONUNBUFFERED", False),
    ("TOKENIZER_MODEL", False), ("MONKEY", False),
])
def test_secret_names_follow_dockers_build_check(name, secret):
    assert is_secret_name(name) is secret


def test_masking_never_shows_a_character_of_the_value():
    assert "hunter2" not in mask("hunter2") and "7 characters" in mask("hunter2")
    line = mask_line("AWS key AKIAIOSFODNN7EXAMPLE and postgresql://u:pa55word@h/db")
    assert "AKIAIOSFODNN7EXAMPLE" not in line and "pa55word" not in line and "postgresql://u:" in line


def test_an_invalid_ignore_pattern_is_a_finding_not_a_crash(tmp_path):
    repo = copy_repo("good", tmp_path)
    (repo / ".dockerignore").write_text(".git\n[z-a]\n")
    found = by_rule(run_check(repo, tmp_path), "DPL010")
    assert found and "invalid pattern" in found[0].message
