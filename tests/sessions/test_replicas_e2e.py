"""Two service replicas over one state volume and one PostgreSQL: a session started through one
is listed, owned, resumed and accounted through the other (the real CLI, the dev model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcontainers.errors import NotFound
from agentcontainers.request import parse_request
from agentcontainers.service import AgentService
from agentcontainers.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_a_session_moves_between_replicas(agent_env, postgres_url, clean_environ: Path):
    env = {**agent_env, "AGENTCONTAINERS_DATABASE_URL": postgres_url}
    async with (
        AgentService(Settings.from_env(env)) as one,
        AgentService(Settings.from_env(env)) as two,
    ):
        first = await one.invoke(parse_request({"prompt": "remember: blue"}), caller="alice")
        assert first.status == 200, first.body
        session_id = first.body["session_id"]

        [listed] = await two.list_sessions("alice")
        assert listed.id == session_id and listed.turns == 1
        with pytest.raises(NotFound):
            await two.get_session("bob", session_id)

        again = await two.invoke(
            parse_request({"prompt": "[[history]]", "resume_session_id": session_id}),
            caller="alice",
        )
        assert again.status == 200, again.body
        assert "1: remember: blue" in again.body["result"]
        assert (await one.get_session("alice", session_id)).turns == 2
        assert (await one.usage("alice"))["runs"] == 2
    assert not (clean_environ / "__store.db").exists()


def test_an_unreachable_session_database_is_a_503_naming_it_without_its_password(
    run_cli, clean_environ: Path
):
    from tests.core.test_faults_e2e import agent_processes

    url = "postgresql://agents:hunter2@127.0.0.1:1/agents"
    run = run_cli({"prompt": "hello"}, AGENTCONTAINERS_DATABASE_URL=url)
    assert run.status == 503 and run.exit_code == 1
    assert run.body["is_error"] is True
    assert run.body["error"]["code"] == "state_unavailable"
    assert "127.0.0.1:1/agents" in run.body["error"]["message"]
    assert "hunter2" not in json.dumps(run.envelope) + run.stderr
    assert agent_processes(clean_environ) == []
