"""Persona images: every example persona loads with the service's own loader, and its
Dockerfile puts it on AGENTS_PATH under its name and makes it the default agent."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from agentcontainers.agents import discover, load_persona
from tests.deploy.tools import REPO

EXAMPLES = REPO / "examples" / "personas"
PERSONAS = sorted(p for p in EXAMPLES.iterdir() if (p / "agent.toml").is_file())


def _env_of(dockerfile):
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    env = {}
    for line in text.splitlines():
        if line.strip().upper().startswith("ENV "):
            env.update(dict(pair.split("=", 1) for pair in line.split()[1:]))
    return env


def test_there_is_an_example_besides_the_assistant():
    assert [p.name for p in PERSONAS if p.name != "assistant"]


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_persona_loads_with_its_subagents_and_skills(persona):
    agent = load_persona(persona)
    assert agent.name == persona.name
    assert agent.description and agent.instructions  # agent.toml and CLAUDE.md
    assert agent.subagents, "the example shows a subagent (agents/*.md)"
    assert agent.skills_dir is not None and any(agent.skills_dir.glob("*/SKILL.md"))
    assert "Bash" not in agent.tools and "Write" not in agent.tools  # a read-only reviewer


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_persona_dockerfile_installs_it_on_agents_path(persona):
    dockerfile = persona / "Dockerfile"
    text = dockerfile.read_text()
    assert re.search(r"^FROM \$\{BASE_IMAGE\}", text, re.MULTILINE)
    assert re.search(r"^ARG BASE_IMAGE=agentcontainers:", text, re.MULTILINE)
    target = re.search(r"^COPY \. (\S+)$", text, re.MULTILINE)
    assert target, "the persona directory is copied as a whole"
    env = _env_of(dockerfile)
    assert env["AGENT"] == persona.name
    assert target.group(1).rstrip("/") == f"{env['AGENTS_PATH']}/{persona.name}"
    ignored = (persona / ".dockerignore").read_text().split()
    assert "Dockerfile" in ignored


def test_examples_folder_works_as_an_agents_path():
    agents = discover([EXAMPLES])
    assert {"assistant", *(p.name for p in PERSONAS)} <= set(agents)


def _run(env, prompt):
    proc = subprocess.run(
        [sys.executable, "-m", "agentcontainers", "run", json.dumps({"prompt": prompt})],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    envelope = json.loads(proc.stdout)
    body = json.loads(envelope["body"])
    assert envelope["statusCode"] == 200, body
    return body


@pytest.mark.e2e
@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_persona_answers_as_the_default_agent(persona, agent_env):
    """What the persona image does: AGENTS_PATH + AGENT, then a one-shot request."""
    env = {**agent_env, "AGENTS_PATH": str(EXAMPLES), "AGENT": persona.name}
    agent = load_persona(persona)

    body = _run(env, "[[echo-system]]")
    assert body["agent"] == persona.name
    first_heading = next(line for line in agent.instructions.splitlines() if line.strip())
    assert first_heading.lstrip("# ") in body["result"]  # CLAUDE.md reached the model

    tools = _run(env, "[[echo-tools]]")["result"]
    assert "Bash" not in tools and "Write" not in tools
    assert all(tool in tools for tool in agent.tools)
