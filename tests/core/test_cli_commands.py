"""The ``agentcontainers`` commands other than ``run``: ``agents``, and what any command does
with a configuration error (one clear line on stderr, exit status 2, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentcontainers.cli import main

PERSONAS = Path(__file__).parents[1] / "personas"


@pytest.fixture
def agents_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTS_PATH", str(PERSONAS))
    return PERSONAS


def test_agents_lists_the_builtin_and_agents_path_personas(agents_path, capsys):
    assert main(["agents"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    tester = next(i for i, line in enumerate(lines) if line.startswith("tester "))
    assert "Test persona with Bash, Read and Write." in lines[tester]
    assert lines[tester + 1].split() == ["tools:", "Bash,", "Read,", "Write"]
    assistant = next(i for i, line in enumerate(lines) if line.startswith("assistant "))
    assert "Clarice" in lines[assistant]
    details = "\n".join(lines[assistant + 1 : assistant + 4])
    assert "MCP servers: assistant" in details
    assert "subagents: budget-keeper, meal-planner, travel-planner" in details


def test_agents_json(agents_path, capsys):
    assert main(["agents", "--json"]) == 0
    listed = {agent["name"]: agent for agent in json.loads(capsys.readouterr().out)}
    assert set(listed) == {"assistant", "tester"}
    assert listed["tester"]["tools"] == ["Bash", "Read", "Write"]
    assert listed["tester"]["max_turns"] == 8
    assert listed["tester"]["subagents"] == [] and listed["tester"]["skills"] == []
    assert listed["assistant"]["skills"] == ["weekly-plan"]
    assert "meal-planner" in listed["assistant"]["subagents"]


def _command(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentcontainers", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


@pytest.mark.parametrize("args", [("agents",), ("agents", "--json")], ids=["text", "json"])
def test_a_bad_agents_path_is_one_clear_line(tmp_path, args):
    missing = tmp_path / "no-such-dir"
    proc = _command(*args, AGENTS_PATH=str(missing))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"agentcontainers agents: AGENTS_PATH entry {missing} is not a directory"
    ]


def test_a_broken_persona_is_named(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "agent.toml").write_text('name = "broken"\ncolour = "blue"\n')
    proc = _command("agents", AGENTS_PATH=str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "agent.toml: unknown keys ['colour']" in proc.stderr


def test_a_bad_setting_is_one_clear_line_for_any_command():
    proc = _command("usage", MAX_TURNS="lots")
    assert proc.returncode == 2
    expected = "agentcontainers usage: MAX_TURNS must be a whole number, got 'lots'"
    assert proc.stderr.strip() == expected
