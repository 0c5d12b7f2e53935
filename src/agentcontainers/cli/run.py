"""``agentcontainers run [--agent NAME] REQUEST|-``: one request, the envelope on stdout.

Exit status 0 when the status is 200 and ``is_error`` is false, else 1. On a terminal, the
run's progress (tool calls, text) is shown on stderr; stdout carries only the envelope.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcontainers.cli.progress import ProgressPrinter
    from agentcontainers.result import AgentResult
    from agentcontainers.service import AgentService

HELP = "Run one request and print the response envelope."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument(
        "request", nargs="?", help="the request as JSON, or - to read it from stdin"
    )
    parser.add_argument("--agent", help="persona to run (overrides the request's and AGENT)")
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="show progress on stderr (default: when stderr is a terminal)",
    )


def main(args: argparse.Namespace) -> int:
    """Run the request; print the envelope; return the exit status."""
    from agentcontainers.errors import AgentContainersError
    from agentcontainers.result import AgentResult

    if args.request is None:  # still an answer in the contract's shape, not a usage error
        from agentcontainers.errors import InvalidRequest

        missing = InvalidRequest("no request: give it as JSON, or - to read it from stdin")
        print(_envelope_text(AgentResult.from_error(missing, agent=args.agent)))
        return 1
    # Bytes from stdin: parse_request decodes them strictly ("request is not valid UTF-8").
    raw = sys.stdin.buffer.read() if args.request == "-" else args.request
    try:
        service, draft = _service_with_agent_booting(raw, args.agent)

        import anyio  # after the agent's CLI started: its boot overlaps this import and the rest

        progress = _show_progress(args.progress)
        result = anyio.run(_invoke, service, draft, raw, args.agent, progress)
    except AgentContainersError as exc:
        result = AgentResult.from_error(exc, agent=args.agent)
    except Exception as exc:  # a bug: still answer in the contract's shape, status 500
        print(f"agentcontainers: internal error: {exc!r}", file=sys.stderr)
        result = AgentResult.from_error(exc, agent=args.agent)
    print(_envelope_text(result))
    return 0 if result.ok else 1


def _envelope_text(result: AgentResult) -> str:
    text = json.dumps(result.envelope(), ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate in the agent's output: escape it, still JSON
        text = json.dumps(result.envelope())
    return text


def _show_progress(mode: str) -> bool:
    return mode == "always" or (mode == "auto" and sys.stderr.isatty())


def _service_with_agent_booting(
    raw: str | bytes, agent: str | None
) -> tuple[AgentService, _Draft | None]:
    """The service, with the agent's CLI already starting when the request's draft allows it
    (a new session, no MCP servers): the CLI boots while the event loop's modules and pydantic
    load and the request is validated; the service only uses it for an identical run."""
    from agentcontainers.service import AgentService
    from agentcontainers.settings import Settings

    service = AgentService(Settings.from_env())
    draft = _Draft.of(raw, agent)
    if draft is not None:
        service.prestart_now(draft)
    return service, draft


async def _invoke(
    service: AgentService,
    draft: _Draft | None,
    raw: str | bytes,
    agent: str | None,
    progress: bool,
) -> AgentResult:
    """The run, cancelled cleanly (the agent's processes stopped, an envelope still printed)
    when this process is told to stop: SIGTERM (``timeout``, an orchestrator), SIGHUP, SIGINT."""
    import signal

    import anyio

    from agentcontainers.errors import RunCancelled

    stopped: list[str] = []
    result: AgentResult | None = None
    failure: BaseException | None = None
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP, signal.SIGINT) as signals:
        async with anyio.create_task_group() as group:

            async def stop_on_signal() -> None:
                async for signum in signals:
                    stopped.append(signal.Signals(signum).name)
                    group.cancel_scope.cancel()

            async def run() -> None:
                nonlocal result, failure
                try:
                    result = await _run(service, draft, raw, agent, progress)
                except Exception as exc:  # raised as itself below, not in an ExceptionGroup
                    failure = exc
                group.cancel_scope.cancel()

            group.start_soon(stop_on_signal)
            group.start_soon(run)
    if failure is not None:
        raise failure
    if result is None:
        raise RunCancelled(f"the run was stopped by {stopped[0] if stopped else 'a signal'}")
    return result


async def _run(
    service: AgentService,
    draft: _Draft | None,
    raw: str | bytes,
    agent: str | None,
    progress: bool,
) -> AgentResult:
    try:
        # A run with MCP servers starts its agent here, while the gateway loads (a no-op when
        # the process already started).
        if draft is not None:
            await service.prestart(draft)

        from agentcontainers.request import parse_request

        request = parse_request(raw)
        if agent:
            request = parse_request({**request.model_dump(exclude_none=True), "agent": agent})
        printer = _progress_printer() if progress else None
        if printer is not None:
            name = request.agent or service.settings.agent
            printer.note(f"starting agent '{name}' (and its MCP servers, if it has any)")
        return await service.invoke(request, on_event=printer)
    finally:
        await service.aclose()


class _Draft:
    """A request not validated yet, with the attributes policy reads; None when the JSON
    holds anything but the plain shapes a valid request has."""

    _STRINGS = ("prompt", "append_system_prompt", "resume_session_id", "agent", "model")
    _LISTS = ("allowed_tools", "disallowed_tools")

    def __init__(self, data: dict[str, Any]) -> None:
        for name in (*self._STRINGS, *self._LISTS, "env", "max_turns", "max_budget_usd"):
            setattr(self, name, data.get(name))

    @classmethod
    def of(cls, raw: str | bytes, agent: str | None) -> _Draft | None:
        try:
            data = json.loads(raw)
            # lone surrogates cannot reach a process; parse_request names the field
            json.dumps(data, ensure_ascii=False).encode()
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("prompt"), str):
            return None
        if agent:
            data["agent"] = agent
        known = {*cls._STRINGS, *cls._LISTS, "env", "max_turns", "max_budget_usd"}
        plain = (
            set(data) <= known
            and all(isinstance(data.get(k), (str, type(None))) for k in cls._STRINGS)
            and all(_strings(data.get(k)) for k in cls._LISTS)
            and (data.get("env") is None or _string_map(data["env"]))
            and type(data.get("max_turns")) in (int, type(None))
            and type(data.get("max_budget_usd")) in (int, float, type(None))
        )
        return cls(data) if plain else None

    @property
    def mcp_server_names(self) -> list[str]:
        from agentcontainers.policy import mcp_server_names

        return mcp_server_names(self.env)  # type: ignore[attr-defined]


def _strings(value: object) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _string_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _progress_printer() -> ProgressPrinter:
    from agentcontainers.cli.progress import ProgressPrinter

    return ProgressPrinter(sys.stderr)
