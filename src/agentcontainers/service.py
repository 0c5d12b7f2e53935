"""One request, end to end: validate, resolve the persona and policy, own and lock the
session, run the agent, record the outcome. Every ingress calls :meth:`AgentService.invoke`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from agentcontainers import policy
from agentcontainers.agents import Agent, find_agent
from agentcontainers.errors import (
    AgentContainersError,
    InvalidRequest,
    ModelAPIError,
    NotFound,
    PayloadTooLarge,
    RunError,
    SessionBusy,
)
from agentcontainers.result import AgentResult
from agentcontainers.runtime.base import RunEvent, RunSpec, Runtime
from agentcontainers.sessions.base import SessionIndex, SessionRecord, UsageEntry
from agentcontainers.sessions.locks import session_lock
from agentcontainers.sessions.sqlite import DB_NAME, SQLiteSessionIndex
from agentcontainers.settings import Settings

if TYPE_CHECKING:
    from agentcontainers.request import AgentRequest

log = logging.getLogger("agentcontainers")

EventHandler = Callable[[RunEvent], Awaitable[None]]
LOCAL_CALLER = "local"


@dataclass
class _Workspace:
    session_id: str
    resume: bool
    cwd: Path
    config_dir: Path
    home: Path
    tmpdir: Path
    record: SessionRecord | None


class AgentService:
    """Runs requests against personas with a runtime; owns sessions under ``STATE_DIR``."""

    def __init__(
        self, settings: Settings, *, runtime: Runtime | None = None, mcp: Any = None
    ) -> None:
        self.settings = settings
        if runtime is None:
            from agentcontainers.runtime.claude_code import ClaudeCodeRuntime
            from agentcontainers.runtime.sandbox import sandbox_command

            runtime = ClaudeCodeRuntime(
                settings.cli_path,
                sandbox=sandbox_command(settings.sandbox),
                state_dir=settings.state_dir,
            )
        self.runtime = runtime
        self.mcp = mcp
        self._index: SessionIndex | None = None
        self._prestarted_session: str | None = None
        self._prestart_workspace: str | None = None

    # --- sessions -------------------------------------------------------------------------
    @property
    def index(self) -> SessionIndex:
        """The session index (opened on first use; FS_SHIM=1 only): PostgreSQL when
        ``AGENTCONTAINERS_DATABASE_URL`` is set, else SQLite under ``STATE_DIR``.

        Raises:
            StateUnavailable: PostgreSQL is configured but cannot be reached.
        """
        if self._index is None:
            url = self.settings.database_url
            if url is not None:
                from agentcontainers.sessions.postgres import PostgresSessionIndex

                self._index = PostgresSessionIndex(url.get_secret_value())
            else:
                self._index = SQLiteSessionIndex(self.settings.state_dir / DB_NAME)
        return self._index

    def close(self) -> None:
        """Release the index."""
        if self._index is not None:
            self._index.close()
            self._index = None

    async def get_session(self, caller: str, session_id: str) -> SessionRecord:
        """The caller's session, or :class:`NotFound` (also for someone else's)."""
        record = None
        if self.settings.fs_shim:
            record = await anyio.to_thread.run_sync(self.index.get, session_id)
        if record is None or record.owner != caller:
            raise NotFound(f"session {session_id} not found")
        return record

    async def list_sessions(
        self, caller: str, *, limit: int = 50, offset: int = 0
    ) -> list[SessionRecord]:
        """The caller's sessions, newest first."""
        if not self.settings.fs_shim:
            return []
        return await anyio.to_thread.run_sync(
            lambda: self.index.list(caller, limit=limit, offset=offset)
        )

    async def delete_session(self, caller: str, session_id: str) -> None:
        """Delete the caller's session: record, transcript and workspace."""
        record = await self.get_session(caller, session_id)
        with session_lock(self._lock_dir, session_id):
            await anyio.to_thread.run_sync(self._forget, record)

    def _forget(self, record: SessionRecord) -> None:
        self.index.delete(record.id)
        self.transcript_path(record).unlink(missing_ok=True)
        shutil.rmtree(record.workspace, ignore_errors=True)

    def transcript_path(self, record: SessionRecord) -> Path:
        """Claude Code's JSONL transcript of the session (``<state>/projects/<cwd>/<id>.jsonl``)."""
        from agentcontainers.runtime.claude_code import project_key

        return (
            self.settings.state_dir
            / "projects"
            / project_key(record.workspace)
            / f"{record.id}.jsonl"
        )

    async def usage(self, caller: str | None) -> dict[str, Any]:
        """Usage totals per agent (everyone's when ``caller`` is None)."""
        if not self.settings.fs_shim:
            return {"since": 0.0, "agents": {}, "total_cost_usd": 0.0, "runs": 0}
        return await anyio.to_thread.run_sync(self.index.usage, caller)

    @property
    def _lock_dir(self) -> Path:
        return self.settings.state_dir / "locks"

    # --- runs -----------------------------------------------------------------------------
    def agent(self, name: str | None = None) -> Agent:
        """The persona ``name`` (default: the operator's ``AGENT``)."""
        return find_agent(name or self.settings.agent, self.settings.agents_dirs)

    async def invoke(
        self,
        request: AgentRequest,
        *,
        caller: str = LOCAL_CALLER,
        on_event: EventHandler | None = None,
        timeout_s: float | None = None,
        text_deltas: bool = False,
    ) -> AgentResult:
        """Run ``request`` for ``caller``; never raises for request or run errors.

        Errors come back as an error-shaped :class:`AgentResult` (its ``status`` chosen from
        the error's type). Cancellation propagates after the run's process is stopped. With
        ``text_deltas``, ``on_event`` also gets ``text_delta`` events while the model writes.
        """
        agent_name = request.agent or self.settings.agent
        known: dict[str, Any] = {}
        try:
            session_id, self._prestarted_session = self._prestarted_session, None
            return await self._invoke(
                request, caller, on_event, timeout_s, known, session_id, text_deltas
            )
        except AgentContainersError as exc:
            if isinstance(exc, RunError):
                log.warning("run failed: %s (agent %s)", exc.message, agent_name)
            if known.get("session_id") and not await self._session_exists(known["session_id"]):
                known.pop("session_id")  # a first run that left nothing to resume
            if isinstance(exc, SessionBusy):  # the caller's own session: say which one to retry
                known["session_id"] = request.resume_session_id
            base = {**known, **(getattr(exc, "body", None) or {})}
            return AgentResult.from_error(exc, agent=agent_name, base=base or None)

    async def check(self, request: AgentRequest, caller: str = LOCAL_CALLER) -> Agent:
        """Everything :meth:`invoke` would refuse before running, raised now.

        For ingresses that must answer before the run starts (a stream has said 200 by then):
        prompt size, the persona, the env allowlist, MCP server names, session ownership.
        """
        agent, _ = await anyio.to_thread.run_sync(self._admit, request)
        names = self._mcp_names(agent, request)
        if names:
            from agentcontainers.mcp.wiring import known_servers

            _refuse_unknown(names, known_servers(self.settings))
        if request.resume_session_id:
            await self.get_session(caller, request.resume_session_id)
        return agent

    def _admit(self, request: AgentRequest) -> tuple[Agent, dict[str, str]]:
        """The first refusals: prompt size, the persona, the env allowlist."""
        size = len(request.prompt.encode())
        if size > self.settings.max_prompt_bytes:
            raise PayloadTooLarge(
                f"prompt is {size} bytes, over the limit of {self.settings.max_prompt_bytes}"
            )
        agent = self.agent(request.agent)
        return agent, policy.request_env(agent, request, self.settings)

    async def _session_exists(self, session_id: str) -> bool:
        return await anyio.to_thread.run_sync(self.index.get, session_id) is not None

    @staticmethod
    def _mcp_names(agent: Agent, request: AgentRequest) -> list[str]:
        return list(dict.fromkeys([*agent.mcp_servers, *request.mcp_server_names]))

    async def _invoke(
        self,
        request: AgentRequest,
        caller: str,
        on_event: EventHandler | None,
        timeout_s: float | None,
        known: dict[str, Any],
        session_id: str | None,
        text_deltas: bool = False,
    ) -> AgentResult:
        agent, passed_env = self._admit(request)
        tools = policy.effective_tools(agent, request)
        mcp_names = self._mcp_names(agent, request)
        mcp_rules: list[str] = []
        servers: dict[str, Any] = {}
        if mcp_names:
            servers = await self._mcp_servers(mcp_names, agent, request)
            for name in servers:
                mcp_rules.extend(policy.mcp_tool_rules(name, request) or [])
        record_base = None
        async with self._workspace(request, caller, agent, session_id) as ws:
            known["session_id"] = ws.session_id if self.settings.fs_shim else None
            record_base = ws.record
            spec = self._spec(request, agent, ws, tools, passed_env, servers, mcp_rules, timeout_s)
            if text_deltas:
                spec = dataclasses.replace(spec, partial_messages=True)
            started = time.time()
            result = await self._run(spec, on_event)
            await self._record(ws, caller, agent, request, result, started, record_base)
        return _shape(result, agent.name)

    def _spec(
        self,
        request: AgentRequest,
        agent: Agent,
        ws: _Workspace,
        tools: tuple[str, ...],
        passed_env: dict[str, str],
        servers: dict[str, Any],
        mcp_rules: list[str],
        timeout_s: float | None,
    ) -> RunSpec:
        limits = policy.limits(agent, request, self.settings)
        system_prompt, append = policy.system_prompts(agent, request, self.settings)
        return RunSpec(
            prompt=request.prompt,
            cwd=ws.cwd,
            config_dir=ws.config_dir,
            env=policy.agent_env(
                settings=self.settings,
                agent=agent,
                request_vars=passed_env,
                home=str(ws.home),
                tmpdir=str(ws.tmpdir),
                config_dir=str(ws.config_dir),
            ),
            tools=tools,
            disallowed_tools=tuple(request.disallowed_tools or ()),
            system_prompt=system_prompt,
            append_system_prompt=append,
            model=request.model or agent.model or self.settings.model,
            max_turns=limits.max_turns,
            max_budget_usd=limits.max_budget_usd,
            session_id=ws.session_id,
            resume=ws.resume,
            mcp_servers=servers,
            mcp_tool_rules=tuple(mcp_rules),
            plugin_dirs=self._skills_plugin(agent, tools),
            read_only=(agent.path,),
            extra_args=_agents_arg(agent, tools),
            timeout_s=min(timeout_s or self.settings.run_timeout_s, self.settings.run_timeout_s),
        )

    async def prestart(self, draft: Any) -> None:
        """Start the agent process for a request that is still being validated (one-shot CLI).

        ``draft`` has the request's attributes, unvalidated. When it is a new session, the CLI
        is started now with the spec :meth:`invoke` would build, so its
        boot overlaps the caller's validation; :meth:`invoke` then uses that process only if
        the validated request gives an equal spec (else it is discarded), and only then sends
        the prompt. Anything unusual means no prestart: this is an optimisation, never a path
        of its own. One invoke per service after a prestart.
        """
        admitted = self._prestart_admit(draft)
        if admitted is None:
            return
        agent, passed_env, mcp_names = admitted
        servers: dict[str, Any] = {}
        if mcp_names:
            # Don't wait for an embedded gateway to load: the CLI boots meanwhile, and its
            # connection waits in the gateway's listen backlog.
            try:
                servers = await self._mcp_servers(mcp_names, agent, draft, wait=False)
            except AgentContainersError:
                return
        self._prestart_launch(draft, agent, passed_env, servers)

    def prestart_now(self, draft: Any) -> bool:
        """:meth:`prestart` without an event loop, for a run without MCP servers: the one-shot
        CLI calls it before it imports ``asyncio``. False when it did not start the process
        (then :meth:`prestart` may, in the loop)."""
        admitted = self._prestart_admit(draft)
        if admitted is None or admitted[2]:
            return False
        self._prestart_launch(draft, admitted[0], admitted[1], {})
        return True

    def _prestart_admit(self, draft: Any) -> tuple[Agent, dict[str, str], list[str]] | None:
        if not hasattr(self.runtime, "prestart") or self._prestarted_session is not None:
            return None
        if not self.settings.fs_shim or draft.resume_session_id:
            return None
        try:
            agent, passed_env = self._admit(draft)
        except AgentContainersError:
            return None  # invoke will refuse it with the right message
        return agent, passed_env, self._mcp_names(agent, draft)

    def _prestart_launch(
        self, draft: Any, agent: Agent, passed_env: dict[str, str], servers: dict[str, Any]
    ) -> None:
        tools = policy.effective_tools(agent, draft)
        mcp_rules: list[str] = []
        for name in servers:
            mcp_rules.extend(policy.mcp_tool_rules(name, draft) or [])
        session_id = str(uuid.uuid4())
        ws = _make_workspace(
            self.settings.state_dir / "workspaces" / session_id,
            self.settings.state_dir,
            session_id,
            False,
            None,
        )
        spec = self._spec(draft, agent, ws, tools, passed_env, servers, mcp_rules, None)
        self._prestarted_session = self._prestart_workspace = session_id
        self.runtime.prestart(spec)  # type: ignore[attr-defined]

    def _skills_plugin(self, agent: Agent, tools: tuple[str, ...]) -> tuple[Path, ...]:
        """A plugin directory exposing only the persona's skills (its subagents come through
        ``--agents``, filtered to the run's tools), when the run may use skills at all."""
        if agent.skills_dir is None or "Skill" not in tools:
            return ()
        plugin = self.settings.state_dir / "plugins" / agent.name
        link = plugin / "skills"
        plugin.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink() or link.resolve() != agent.skills_dir.resolve():
            link.unlink(missing_ok=True)
            link.symlink_to(agent.skills_dir, target_is_directory=True)
        return (plugin,)

    async def _mcp_servers(
        self, names: list[str], agent: Agent, request: AgentRequest, *, wait: bool = True
    ) -> dict[str, Any]:
        """The ``mcpServers`` config for the servers this run may use, through the gateway.

        Unknown names are a 400 even when the request's tool lists would drop the server; the
        gateway enforces the same tool rules as the CLI (its token is scoped to them).
        """
        from agentcontainers.mcp.wiring import McpWiring, known_servers

        _refuse_unknown(names, known_servers(self.settings))
        wanted = [name for name in names if policy.mcp_tool_rules(name, request) is not None]
        if not wanted:
            return {}
        if self.mcp is None:
            self.mcp = McpWiring(self.settings)
            await self.mcp.__aenter__()
        allow = request.allowed_tools
        servers: dict[str, Any] = await self.mcp.servers_for(
            wanted,
            persona=agent.name,
            allow=None if allow is None else [t for t in allow if t.startswith("mcp__")],
            deny=[t for t in request.disallowed_tools or () if t.startswith("mcp__")],
            wait=wait,
        )
        return servers

    async def __aenter__(self) -> AgentService:
        """Enter in the task that will exit: long-lived ingresses (HTTP) open the MCP wiring
        here so that its embedded gateway outlives the request that first needs it."""
        if self.mcp is None:
            from agentcontainers.mcp.wiring import McpWiring

            self.mcp = McpWiring(self.settings)
            await self.mcp.__aenter__()
            with contextlib.suppress(AgentContainersError):  # a bad persona is the runs' error
                if self.agent(None).mcp_servers:
                    await self.mcp.warm()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop what the service started (the embedded MCP gateway, an unused prestarted
        process) and close the index."""
        runtime_close = getattr(self.runtime, "aclose", None)
        if runtime_close is not None:
            await runtime_close()
        if self._prestart_workspace is not None:
            try:
                started = self.index.get(self._prestart_workspace) is not None
            except AgentContainersError:  # the index is unreachable: keep what may be in use
                started = True
            if not started:
                shutil.rmtree(
                    self.settings.state_dir / "workspaces" / self._prestart_workspace,
                    ignore_errors=True,
                )
            self._prestart_workspace = self._prestarted_session = None
        if self.mcp is not None:
            with contextlib.suppress(Exception):
                await self.mcp.__aexit__(None, None, None)
            self.mcp = None
        self.close()

    async def _run(self, spec: RunSpec, on_event: EventHandler | None) -> dict[str, Any]:
        result: dict[str, Any] | None = None
        async for event in self.runtime.run(spec):
            if event.kind == "init":
                event = RunEvent("init", {**event.data, "session_id": spec.session_id})
            if on_event is not None:
                await on_event(event)
            if event.kind == "result":
                result = event.data
        assert result is not None  # the runtime raises when there is no result
        return result

    @contextlib.asynccontextmanager
    async def _workspace(
        self, request: AgentRequest, caller: str, agent: Agent, session_id: str | None = None
    ) -> AsyncIterator[_Workspace]:
        if not self.settings.fs_shim:
            if request.resume_session_id:
                raise NotFound(
                    f"session {request.resume_session_id} not found (FS_SHIM=0 keeps no sessions)"
                )
            root = Path(tempfile.mkdtemp(prefix="agentcontainers-"))
            try:
                ws = _make_workspace(root / "work", root / "config", str(uuid.uuid4()), False, None)
                yield ws
            finally:
                shutil.rmtree(root, ignore_errors=True)
            return
        state = self.settings.state_dir
        if request.resume_session_id:
            record = await self.get_session(caller, request.resume_session_id)
            if record.agent != agent.name:
                raise NotFound(
                    f"session {record.id} not found for agent '{agent.name}' "
                    f"(it belongs to agent '{record.agent}')"
                )
            with session_lock(self._lock_dir, record.id):
                if not self.transcript_path(record).is_file():
                    raise NotFound(f"session {record.id} has no transcript to resume")
                yield _make_workspace(Path(record.workspace), state, record.id, True, record)
            return
        session_id = session_id or str(uuid.uuid4())
        now = time.time()
        record = SessionRecord(
            id=session_id,
            owner=caller,
            agent=agent.name,
            workspace=str(state / "workspaces" / session_id),
            title=_title(request.prompt),
            created_at=now,
            updated_at=now,
            status="running",
        )
        with session_lock(self._lock_dir, session_id):
            await anyio.to_thread.run_sync(self.index.save, record)
            try:
                yield _make_workspace(Path(record.workspace), state, session_id, False, record)
            finally:
                if record.status == "running":
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(self._settle_unfinished, record)

    def _settle_unfinished(self, record: SessionRecord) -> None:
        """A new session whose first run failed: keep it if Claude Code wrote a transcript
        (it can be resumed), else forget it."""
        if self.transcript_path(record).is_file():
            record.status = "idle"
            record.updated_at = time.time()
            self.index.save(record)
        else:
            self._forget(record)

    async def _record(
        self,
        ws: _Workspace,
        caller: str,
        agent: Agent,
        request: AgentRequest,
        result: dict[str, Any],
        started: float,
        record: SessionRecord | None,
    ) -> None:
        if record is None:
            return
        usage = result.get("usage") or {}
        cost = float(result.get("total_cost_usd") or 0.0)
        record.turns += 1
        record.cost_usd += cost
        record.input_tokens += int(usage.get("input_tokens") or 0)
        record.output_tokens += int(usage.get("output_tokens") or 0)
        record.updated_at = time.time()
        record.status = "idle"
        entry = UsageEntry(
            session_id=ws.session_id,
            owner=caller,
            agent=agent.name,
            at=started,
            cost_usd=cost,
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
            cache_creation_tokens=int(usage.get("cache_creation_input_tokens") or 0),
            num_turns=int(result.get("num_turns") or 0),
            duration_ms=int(result.get("duration_ms") or 0),
            is_error=bool(result.get("is_error")),
            subtype=str(result.get("subtype") or ""),
            model=request.model or agent.model or self.settings.model or "",
        )

        def write() -> None:
            self.index.save(record)
            self.index.record_usage(entry)

        await anyio.to_thread.run_sync(write)


def _refuse_unknown(names: list[str], known: set[str]) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidRequest(
            f"invalid request: unknown MCP server '{unknown[0]}' in MCP_SERVERS "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )


def _make_workspace(
    cwd: Path, config_dir: Path, session_id: str, resume: bool, record: SessionRecord | None
) -> _Workspace:
    home = cwd / ".home"
    tmpdir = cwd / ".tmp"
    for directory in (cwd, config_dir, home, tmpdir):
        directory.mkdir(parents=True, exist_ok=True)
    return _Workspace(session_id, resume, cwd, config_dir, home, tmpdir, record)


def _agents_arg(agent: Agent, tools: tuple[str, ...]) -> dict[str, str | None]:
    import json

    if not agent.subagents or not ({"Task", "Agent"} & set(tools)):
        return {}
    definitions = {}
    for sub in agent.subagents:
        entry = sub.definition()
        if sub.tools is not None:
            # a subagent never gets a tool its parent run does not have
            entry["tools"] = [t for t in sub.tools if t in tools]
        definitions[sub.name] = entry
    return {"agents": json.dumps(definitions, separators=(",", ":"))}


def _shape(result: dict[str, Any], agent: str) -> AgentResult:
    body = {**result, "agent": agent}
    if not body.get("is_error"):
        return AgentResult(body=body)
    upstream = body.get("api_error_status")
    if body.get("terminal_reason") == "api_error" or upstream:
        message = (
            f"the model API failed with status {upstream}" if upstream else "the model API failed"
        )
        error = ModelAPIError(
            message, upstream_status=upstream, retry_after=30 if upstream in (429, 529) else None
        )
        body["error"] = {"code": error.code, "message": message, "upstream_status": upstream}
        return AgentResult(body=body, error=error)
    # Stopped early (max turns, budget): the run completed; status 200 with is_error true.
    return AgentResult(body=body)


def _title(prompt: str) -> str:
    line = " ".join(prompt.split())
    return line if len(line) <= 80 else line[:77] + "..."
