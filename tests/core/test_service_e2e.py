"""The service API that every ingress shares: pre-run checks, session bookkeeping on failure."""

from __future__ import annotations

import pytest

from agentcontainers.errors import InvalidRequest, NotFound, PayloadTooLarge
from agentcontainers.request import parse_request
from agentcontainers.service import AgentService
from agentcontainers.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def service(agent_env):
    async with AgentService(Settings.from_env(agent_env)) as service:
        yield service


async def test_check_refuses_what_invoke_would(service):
    with pytest.raises(InvalidRequest, match="LD_PRELOAD"):
        await service.check(parse_request({"prompt": "x", "env": {"LD_PRELOAD": "x"}}))
    with pytest.raises(InvalidRequest, match="nosuch"):
        await service.check(parse_request({"prompt": "x", "env": {"MCP_SERVERS": "nosuch"}}))
    with pytest.raises(NotFound):
        await service.check(parse_request({"prompt": "x", "agent": "nobody"}))
    with pytest.raises(PayloadTooLarge):
        await service.check(parse_request({"prompt": "x" * 300_000}))
    with pytest.raises(NotFound):
        await service.check(
            parse_request(
                {"prompt": "x", "resume_session_id": "e2c3d429-413b-44be-9334-bff28c9953d0"}
            )
        )
    agent = await service.check(parse_request({"prompt": "fine"}))
    assert agent.name == "tester"


async def test_a_failed_first_run_leaves_no_running_session(service):
    result = await service.invoke(parse_request({"prompt": "[[error 500 1]]"}))
    assert result.status == 502
    sessions = await service.list_sessions("local")
    assert all(s.status != "running" for s in sessions)
    session_id = result.body.get("session_id")
    listed = {s.id: s for s in sessions}
    if session_id:  # Claude Code wrote a transcript: the session is kept, idle, resumable
        assert listed[session_id].status == "idle"
        assert service.transcript_path(listed[session_id]).is_file()
    else:  # nothing to resume: nothing kept
        assert listed == {}


async def test_sessions_belong_to_their_caller(service):
    result = await service.invoke(parse_request({"prompt": "mine"}), caller="alice")
    session_id = result.body["session_id"]
    assert [s.id for s in await service.list_sessions("alice")] == [session_id]
    assert await service.list_sessions("bob") == []
    stolen = await service.invoke(
        parse_request({"prompt": "x", "resume_session_id": session_id}), caller="bob"
    )
    assert stolen.status == 404
    with pytest.raises(NotFound):
        await service.delete_session("bob", session_id)
    await service.delete_session("alice", session_id)
    assert await service.list_sessions("alice") == []
    usage = await service.usage("alice")
    assert usage["runs"] == 1 and usage["agents"]["tester"]["runs"] == 1
