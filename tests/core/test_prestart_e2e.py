"""The one-shot CLI starts the agent process while the request is still being validated; the
service uses that process only for an identical run, and never sends it a prompt otherwise."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import anyio
import pytest

from agentcontainers.request import parse_request
from agentcontainers.service import AgentService
from agentcontainers.settings import Settings
from tests.core.test_faults_e2e import agent_processes, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

# Each launched CLI has its own run marker in its environment, inherited by its tools (a PID
# would not do: in the sandbox the tool sees its parent's PID in the sandbox's namespace).
PROMPT = '[[tool Bash {"command": "echo marker=$AGENTCONTAINERS_RUN"}]]'


def markers(state_dir: Path) -> set[str]:
    """The run markers of the agent processes working for ``state_dir``."""
    found = set()
    for pid in agent_processes(state_dir):
        with contextlib.suppress(OSError):
            for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                if item.startswith(b"AGENTCONTAINERS_RUN="):
                    found.add(item.split(b"=", 1)[1].decode())
    return found


def marker_of(result) -> str:
    return re.search(r"marker=(\w+)", result.body["result"]).group(1)


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Draft:
    """What the CLI hands the service before validation: the raw fields as attributes."""

    def __init__(self, **fields):
        self.__dict__.update(dict.fromkeys(
            ["append_system_prompt", "allowed_tools", "disallowed_tools", "resume_session_id",
             "env", "agent", "model", "max_turns", "max_budget_usd"]))  # fmt: skip
        self.__dict__.update(fields)
        self.mcp_server_names = [
            n.strip() for n in (self.env or {}).get("MCP_SERVERS", "").split(",") if n.strip()
        ]


async def test_the_prestarted_process_runs_the_request(agent_env, clean_environ: Path):
    service = AgentService(Settings.from_env(agent_env))
    try:
        await service.prestart(Draft(prompt=PROMPT))
        [prestarted] = wait_for(lambda: markers(clean_environ))  # exec'd in its sandbox
        result = await service.invoke(parse_request({"prompt": PROMPT}))
    finally:
        await service.aclose()
    assert result.status == 200, result.body
    assert marker_of(result) == prestarted
    assert agent_processes(clean_environ) == []


async def test_a_different_request_never_reaches_the_prestarted_process(
    agent_env, clean_environ: Path, dev_model
):
    service = AgentService(Settings.from_env(agent_env))
    try:
        await service.prestart(Draft(prompt="DRAFT-ONLY-PROMPT", model="claude-other"))
        [prestarted] = wait_for(lambda: markers(clean_environ))  # exec'd in its sandbox
        result = await service.invoke(parse_request({"prompt": PROMPT}))
    finally:
        await service.aclose()
    assert result.status == 200, result.body
    assert marker_of(result) != prestarted
    assert "DRAFT-ONLY-PROMPT" not in json.dumps(dev_model.requests())
    assert agent_processes(clean_environ) == []


MEMORY = {"MCP_SERVERS": "assistant"}


async def test_a_run_with_mcp_servers_is_prestarted_before_its_gateway_serves(
    agent_env, clean_environ: Path
):
    """The embedded gateway loads for seconds (``mcp``, ``fastmcp``); the agent's CLI boots
    meanwhile, already configured with the gateway's address, and is the one that runs."""
    service = AgentService(Settings.from_env(agent_env))
    try:
        await service.prestart(Draft(prompt=PROMPT, env=MEMORY))
        [prestarted] = wait_for(lambda: markers(clean_environ))  # exec'd in its sandbox
        result = await service.invoke(parse_request({"prompt": PROMPT, "env": MEMORY}))
    finally:
        await service.aclose()
    assert result.status == 200, result.body
    assert marker_of(result) == prestarted
    assert agent_processes(clean_environ) == []


async def test_a_prestarted_run_has_its_mcp_tools_on_the_first_turn(agent_env, clean_environ):
    prompt = '[[tool mcp__assistant__create_todo {"title": "water the plants"}]]'
    service = AgentService(Settings.from_env(agent_env))
    try:
        await service.prestart(Draft(prompt=prompt, env=MEMORY))
        assert len(wait_for(lambda: markers(clean_environ))) == 1
        result = await service.invoke(parse_request({"prompt": prompt, "env": MEMORY}))
    finally:
        await service.aclose()
    assert result.status == 200, result.body
    assert "returned" in result.body["result"] and "water the plants" in result.body["result"]


def test_a_refused_request_leaves_no_process_and_no_workspace(run_cli, clean_environ: Path):
    run = run_cli({"prompt": "x" * 2000}, AGENTCONTAINERS_MAX_PROMPT_BYTES="1000")
    assert run.status == 413
    assert agent_processes(clean_environ) == []
    workspaces = clean_environ / "workspaces"
    assert not workspaces.exists() or list(workspaces.iterdir()) == []


def test_a_process_prestarted_before_the_event_loop_runs_the_request(agent_env, clean_environ):
    """What `agentcontainers run` does: the CLI starts before asyncio is even imported, and the
    run in the loop adopts it."""
    service = AgentService(Settings.from_env(agent_env))
    assert service.prestart_now(Draft(prompt=PROMPT))
    [prestarted] = wait_for(lambda: markers(clean_environ))  # exec'd in its sandbox

    async def invoke():
        try:
            return await service.invoke(parse_request({"prompt": PROMPT}))
        finally:
            await service.aclose()

    result = anyio.run(invoke)
    assert result.status == 200, result.body
    assert marker_of(result) == prestarted
    assert agent_processes(clean_environ) == []


def test_a_run_with_mcp_servers_is_left_to_the_event_loop(agent_env, clean_environ):
    service = AgentService(Settings.from_env(agent_env))
    assert not service.prestart_now(Draft(prompt=PROMPT, env=MEMORY))
    assert markers(clean_environ) == set()
