"""Runs the HTTP service has started: their event logs, followers, cancellation and retention.

Every run goes through the :class:`RunRegistry`, whatever its kind:

- ``sync`` (``/invoke``) and ``stream`` runs belong to their connection. When the last client
  following one goes away, the run gets ``AGENTCONTAINERS_RECONNECT_GRACE`` seconds for a client
  to come back (``Last-Event-ID``), then it is cancelled: the CLI and its children end. A sync
  run without an ``Idempotency-Key`` cannot be rejoined, so it is cancelled at once.
- ``background`` runs (``/runs``) are tied to no connection; they end on their own, on
  ``cancel``, or when the service stops.

Each run keeps its events (``run``, ``init``, ``text``, ``tool_use``, ``tool_result``, then one
``result`` or ``error``) with ids 1, 2, 3…, so any follower can replay what it missed. Finished
runs are kept for ``AGENTCONTAINERS_RUN_RETENTION`` seconds, with their idempotency keys.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import anyio.abc

from agentcontainers.errors import AgentContainersError, InvalidRequest, NotFound, RunCancelled
from agentcontainers.http.limits import ConcurrencyLimit
from agentcontainers.http.webhooks import WebhookPolicy, WebhookState, deliver
from agentcontainers.request import AgentRequest
from agentcontainers.result import AgentResult
from agentcontainers.runtime.base import RunEvent
from agentcontainers.service import AgentService
from agentcontainers.settings import Settings

log = logging.getLogger("agentcontainers.http")

RunKind = Literal["sync", "stream", "background"]
TERMINAL_EVENTS = ("result", "error")
MAX_FINISHED_RUNS = 1000
CANCEL_WAIT_S = 15.0


@dataclass(frozen=True)
class Event:
    """One event of a run, as SSE sends it (``data`` is JSON text)."""

    id: int
    name: str
    data: str

    def encode(self) -> bytes:
        """The event in the ``text/event-stream`` format."""
        return f"id: {self.id}\nevent: {self.name}\ndata: {self.data}\n\n".encode()


class Run:
    """One run: its state, its event log, and the scope that cancels it."""

    def __init__(
        self,
        *,
        owner: str,
        agent: str,
        kind: RunKind,
        session_id: str | None,
        grace_s: float,
        webhook: WebhookState | None = None,
    ) -> None:
        self.id = "run_" + uuid.uuid4().hex
        self.owner = owner
        self.agent = agent
        self.kind = kind
        self.session_id = session_id
        self.grace_s = grace_s
        self.webhook = webhook
        self.status = "queued"
        self.created_at = time.time()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.result: AgentResult | None = None
        self.events: list[Event] = []
        self.followers = 0
        self.cancel_reason: str | None = None
        self.idempotency: tuple[str, str] | None = None
        #: Whether the event log also gets ``text_delta`` events.
        self.text_deltas = False
        self._scope: anyio.CancelScope | None = None
        self._changed = anyio.Event()
        self._done = anyio.Event()
        self.emit("run", {"run_id": self.id, "session_id": session_id, "agent": agent})

    @property
    def done(self) -> bool:
        """True once the run has its result."""
        return self.result is not None

    def emit(self, name: str, data: dict[str, Any]) -> None:
        """Append an event and wake the followers."""
        text = json.dumps(data, ensure_ascii=False, default=str)
        self.events.append(Event(len(self.events) + 1, name, text))
        self._changed.set()
        self._changed = anyio.Event()

    async def on_event(self, event: RunEvent) -> None:
        """The service's event handler: record each step (the result comes from :meth:`finish`)."""
        if event.kind == "result":
            return
        if event.kind == "init" and event.data.get("session_id"):
            self.session_id = str(event.data["session_id"])
        self.emit(event.kind, event.data)

    def finish(self, result: AgentResult) -> None:
        """Record the outcome: the final ``result`` or ``error`` event, and the status."""
        if self.done:
            return
        self.result = result
        self.finished_at = time.time()
        self.session_id = result.body.get("session_id") or self.session_id
        if isinstance(result.error, RunCancelled):
            self.status = "cancelled"
        else:
            self.status = "succeeded" if result.ok else "failed"
        self.emit("result" if result.status == 200 else "error", result.body)
        self._done.set()

    def cancel(self, reason: str) -> None:
        """Ask the run to stop (it finishes as ``cancelled`` once its process is gone)."""
        if self.done or self.cancel_reason:
            return
        self.cancel_reason = reason
        if self._scope is not None:
            self._scope.cancel()

    async def wait(self) -> None:
        """Wait until the run has its result."""
        await self._done.wait()

    async def follow(self, after: int = 0) -> AsyncIterator[Event]:
        """The events after id ``after``, then each new one, until the final event."""
        index = max(after, 0)
        while True:
            changed = self._changed
            while index < len(self.events):
                event = self.events[index]
                index += 1
                yield event
            if self.done:
                return
            await changed.wait()

    def public(self) -> dict[str, Any]:
        """The run as ``GET /v1/runs/{id}`` shows it."""
        info: dict[str, Any] = {
            "run_id": self.id,
            "status": self.status,
            "kind": self.kind,
            "agent": self.agent,
            "session_id": self.session_id,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "events": len(self.events),
            "events_url": f"/v1/runs/{self.id}/events",
        }
        if self.result is not None:
            info["http_status"] = self.result.status
            info["result"] = self.result.body
        if self.webhook is not None:
            info["webhook"] = self.webhook.public()
        return info


class RunRegistry:
    """Starts runs in its task group (enter it with ``async with``) and keeps them for a while."""

    def __init__(self, service: AgentService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.limit = ConcurrencyLimit(settings.max_concurrent_runs)
        self.webhook_policy = WebhookPolicy.from_spec(settings.webhook_allow)
        self._runs: dict[str, Run] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, str]] = {}
        self._tasks: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> RunRegistry:
        self._tasks = anyio.create_task_group()
        await self._tasks.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._tasks is not None
        for run in list(self._runs.values()):
            run.cancel("shutdown")
        self._tasks.cancel_scope.cancel()
        tasks, self._tasks = self._tasks, None
        # The block's own exception propagates as it is, not inside an exception group.
        await tasks.__aexit__(None, None, None)

    # --- starting and finding runs --------------------------------------------------------
    def start(
        self,
        request: AgentRequest,
        *,
        caller: str,
        kind: RunKind,
        idempotency: tuple[str, str] | None = None,
        webhook_url: str | None = None,
        text_deltas: bool = False,
    ) -> tuple[Run, bool]:
        """Start a run, or join the one an earlier attempt with the same key started.

        ``idempotency`` is ``(key, fingerprint)``. Returns the run and whether it is new. A new
        sync or stream run starts with one follower, its connection: release it with
        :meth:`unfollow`. Joining adds no follower; call :meth:`follow` to add one.

        Raises:
            RateLimited: the caller has too many runs going.
            InvalidRequest: the key was used for a different request.
        """
        self._prune()
        if idempotency is not None:
            known = self._idempotency.get((caller, idempotency[0]))
            if known is not None:
                run_fingerprint, run_id = known
                if run_fingerprint != idempotency[1]:
                    raise InvalidRequest(
                        "invalid request: this Idempotency-Key was used for a different request"
                    )
                return self._runs[run_id], False
        if self._tasks is None:
            raise AgentContainersError("the run registry is not running")
        self.limit.acquire(caller)
        grace = self.settings.reconnect_grace_s
        if kind == "sync" and idempotency is None:
            grace = 0.0
        run = Run(
            owner=caller,
            agent=request.agent or self.settings.agent,
            kind=kind,
            session_id=request.resume_session_id,
            grace_s=grace,
            webhook=WebhookState(webhook_url) if webhook_url else None,
        )
        run.followers = 0 if kind == "background" else 1
        run.text_deltas = text_deltas
        self._runs[run.id] = run
        if idempotency is not None:
            run.idempotency = (caller, idempotency[0])
            self._idempotency[run.idempotency] = (idempotency[1], run.id)
        self._tasks.start_soon(self._execute, run, request, name=f"agentcontainers {run.id}")
        return run, True

    def get(self, caller: str, run_id: str) -> Run:
        """The caller's run.

        Raises:
            NotFound: unknown, expired, or someone else's.
        """
        run = self._runs.get(run_id)
        if run is None or run.owner != caller:
            raise NotFound(f"run {run_id} not found")
        return run

    def list(self, caller: str) -> list[Run]:
        """The caller's runs, newest first."""
        self._prune()
        runs = [run for run in self._runs.values() if run.owner == caller]
        return sorted(runs, key=lambda run: run.created_at, reverse=True)

    # --- following and cancelling ----------------------------------------------------------
    def follow(self, run: Run) -> None:
        """A client started following ``run`` (a stream, an events request, a sync wait)."""
        run.followers += 1

    def unfollow(self, run: Run) -> None:
        """A client stopped following ``run``; a connection-bound run left alone is cancelled
        after its grace period."""
        run.followers = max(run.followers - 1, 0)
        if run.followers or run.done or run.kind == "background":
            return
        if run.grace_s <= 0 or self._tasks is None:
            run.cancel("client")
        else:
            self._tasks.start_soon(self._cancel_if_abandoned, run)

    async def cancel(self, run: Run) -> None:
        """Cancel ``run`` for its owner and wait (a while) until its process is gone."""
        run.cancel("caller")
        with anyio.move_on_after(CANCEL_WAIT_S):
            await run.wait()

    async def _cancel_if_abandoned(self, run: Run) -> None:
        await anyio.sleep(run.grace_s)
        if not run.followers and not run.done:
            log.info("run %s: its client left and did not come back; cancelling", run.id)
            run.cancel("client")

    # --- running -----------------------------------------------------------------------------
    async def _execute(self, run: Run, request: AgentRequest) -> None:
        result: AgentResult | None = None
        try:
            with anyio.CancelScope() as scope:
                run._scope = scope
                if run.cancel_reason:
                    scope.cancel()
                run.status = "running"
                run.started_at = time.time()
                result = await self.service.invoke(
                    request, caller=run.owner, on_event=run.on_event, text_deltas=run.text_deltas
                )
        except Exception as exc:  # a bug: the run fails, the service goes on
            log.exception("run %s failed unexpectedly", run.id)
            result = AgentResult.from_error(exc, agent=run.agent)
        except BaseException:
            run.finish(_cancelled(run))
            self._finished(run)
            raise
        run.finish(result or _cancelled(run))
        self._finished(run)
        secret = self.settings.webhook_secret
        if run.webhook is not None and secret is not None:
            await deliver(
                run.webhook,
                _webhook_payload(run),
                secret=secret.get_secret_value(),
                policy=self.webhook_policy,
            )

    def _finished(self, run: Run) -> None:
        self.limit.release(run.owner)
        if run.cancel_reason == "client" and run.idempotency is not None:
            # Nobody saw this run through: a retry with the same key starts afresh.
            self._idempotency.pop(run.idempotency, None)

    def _prune(self) -> None:
        now = time.time()
        finished = sorted(
            (run for run in self._runs.values() if run.finished_at is not None),
            key=lambda run: run.finished_at or 0.0,
        )
        excess = len(finished) - MAX_FINISHED_RUNS
        for number, run in enumerate(finished):
            expired = (run.finished_at or now) < now - self.settings.run_retention_s
            if not expired and number >= excess:
                break
            del self._runs[run.id]
            if run.idempotency is not None:
                known = self._idempotency.get(run.idempotency)
                if known is not None and known[1] == run.id:
                    del self._idempotency[run.idempotency]


def _cancelled(run: Run) -> AgentResult:
    reasons = {
        "client": "the run was cancelled: its client went away",
        "shutdown": "the run was cancelled: the service is shutting down",
    }
    message = reasons.get(run.cancel_reason or "", "the run was cancelled")
    result = AgentResult.from_error(RunCancelled(message), agent=run.agent)
    result.body["session_id"] = run.session_id
    return result


def _webhook_payload(run: Run) -> dict[str, Any]:
    assert run.result is not None
    return {
        "type": "run.finished",
        "run_id": run.id,
        "status": run.status,
        "agent": run.agent,
        "session_id": run.session_id,
        "http_status": run.result.status,
        "result": run.result.body,
        "sent_at": time.time(),
    }
