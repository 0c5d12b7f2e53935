"""The Claude Code runtime: the bundled CLI of ``claude-agent-sdk``, driven over stream-json.

It speaks the same protocol and builds the same command line as ``claude_agent_sdk``'s
subprocess transport (a test keeps the two in step), without importing the SDK package: that
import costs about a second (its ``mcp`` import), more than the whole CLI run it would drive,
and the one-shot CLI and Lambda cold starts pay for every import. One code path serves every
ingress.

The process (a :class:`~agentcontainers.runtime.child.ChildProcess`, startable before an
event loop exists, which the one-shot CLI uses) runs in its own process group, inside the
bubblewrap sandbox when there is one; whatever happens (result, timeout, cancellation, crash)
the group is terminated before :meth:`ClaudeCodeRuntime.run` returns, so no tool subprocess
outlives its run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from agentcontainers.errors import RuntimeCrashed, RunTimeout
from agentcontainers.runtime.base import RunEvent, RunSpec
from agentcontainers.runtime.child import ChildProcess, PipeReader
from agentcontainers.runtime.sandbox import protect_service_process, wrap

_STDERR_TAIL = 4000
_KILL_GRACE_S = 2.0
_EXIT_GRACE_S = 10.0
_MAX_LINE = 32 * 1024 * 1024
RUN_MARKER = "AGENTCONTAINERS_RUN"


def bundled_cli_path() -> Path:
    """The CLI binary shipped in the ``claude-agent-sdk`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeCrashed("claude-agent-sdk is not installed: no Claude Code CLI to run")
    return Path(next(iter(spec.submodule_search_locations))) / "_bundled" / "claude"


def build_argv(spec: RunSpec, cli: str) -> list[str]:
    """The CLI command line for ``spec``, flag for flag as ``claude_agent_sdk`` builds it."""
    argv = [cli, "--output-format", "stream-json", "--verbose"]
    if spec.system_prompt is not None:
        argv += ["--system-prompt", spec.system_prompt]
    elif spec.append_system_prompt:
        argv += ["--append-system-prompt", spec.append_system_prompt]
    argv += ["--tools", ",".join(spec.tools)]
    allowed = [*spec.tools, *spec.mcp_tool_rules]
    if allowed:
        argv += ["--allowedTools", ",".join(allowed)]
    if spec.max_turns:
        argv += ["--max-turns", str(spec.max_turns)]
    if spec.max_budget_usd is not None:
        argv += ["--max-budget-usd", str(spec.max_budget_usd)]
    if spec.disallowed_tools:
        argv += ["--disallowedTools", ",".join(spec.disallowed_tools)]
    if spec.model:
        argv += ["--model", spec.model]
    argv += ["--permission-mode", "dontAsk"]
    if spec.partial_messages:
        argv.append("--include-partial-messages")
    if spec.resume and spec.session_id:
        argv.append(f"--resume={spec.session_id}")
    elif spec.session_id:
        argv.append(f"--session-id={spec.session_id}")
    if spec.settings:
        argv += ["--settings", json.dumps(spec.settings, separators=(",", ":"))]
    for directory in spec.add_dirs:
        argv += ["--add-dir", str(directory)]
    argv += ["--mcp-config", json.dumps({"mcpServers": dict(spec.mcp_servers)})]
    argv.append("--strict-mcp-config")
    argv.append(f"--setting-sources={','.join(spec.setting_sources)}")
    for plugin in spec.plugin_dirs:
        argv += ["--plugin-dir", str(plugin)]
    for flag, value in spec.extra_args.items():
        if value is None:
            argv.append(f"--{flag}")
        elif value.startswith("-"):
            argv.append(f"--{flag}={value}")  # a dash-leading value must not parse as a flag
        else:
            argv += [f"--{flag}", value]
    argv += ["--input-format", "stream-json"]
    return argv


def user_message(prompt: str) -> bytes:
    """The stream-json line that carries the prompt."""
    message = {
        "type": "user",
        "message": {"role": "user", "content": prompt},
        "parent_tool_use_id": None,
        "session_id": "",
    }
    return (json.dumps(message) + "\n").encode()


def events_of(message: dict[str, Any]) -> list[RunEvent]:
    """Translate one stream-json message into the events ingresses show."""
    kind = message.get("type")
    if kind == "system" and message.get("subtype") == "init":
        keep = ("session_id", "model", "tools", "mcp_servers", "cwd", "permissionMode")
        return [RunEvent("init", {k: message[k] for k in keep if k in message})]
    if kind == "result":
        return [RunEvent("result", message)]
    if kind == "stream_event":
        return _text_delta(message)
    inner = message.get("message")
    content = inner.get("content") if isinstance(inner, dict) else None
    if not isinstance(content, list):
        return []
    parent = message.get("parent_tool_use_id")
    events = []
    for block in content:
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if kind == "assistant" and btype == "text" and block.get("text"):
            events.append(RunEvent("text", {"text": block["text"], "parent_tool_use_id": parent}))
        elif kind == "assistant" and btype == "tool_use":
            events.append(
                RunEvent(
                    "tool_use",
                    {
                        "id": block.get("id"),
                        "name": block.get("name"),
                        "input": block.get("input"),
                        "parent_tool_use_id": parent,
                    },
                )
            )
        elif kind == "user" and btype == "tool_result":
            events.append(
                RunEvent(
                    "tool_result",
                    {
                        "tool_use_id": block.get("tool_use_id"),
                        "content": _result_text(block.get("content")),
                        "is_error": bool(block.get("is_error")),
                        "parent_tool_use_id": parent,
                    },
                )
            )
    return events


def _text_delta(message: dict[str, Any]) -> list[RunEvent]:
    """A ``text_delta`` event for a stream event carrying assistant text; none for the rest
    (message and block boundaries, tool input JSON, thinking)."""
    event = message.get("event")
    if not isinstance(event, dict) or event.get("type") != "content_block_delta":
        return []
    delta = event.get("delta")
    if not isinstance(delta, dict) or delta.get("type") != "text_delta":
        return []
    text = delta.get("text")
    if not isinstance(text, str) or not text:
        return []
    parent = message.get("parent_tool_use_id")
    return [RunEvent("text_delta", {"text": text, "parent_tool_use_id": parent})]


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict)).strip()
    return "" if content is None else json.dumps(content)


@dataclass
class _Launched:
    """A started CLI process waiting for its prompt on stdin."""

    spec: RunSpec
    process: ChildProcess
    stderr: Any
    marker: str
    started: float  # time.monotonic() at launch

    def age(self) -> float:
        """Seconds since the process was started."""
        return time.monotonic() - self.started

    async def discard(self) -> None:
        with anyio.CancelScope(shield=True):
            await _terminate_group(self.process)
            await anyio.to_thread.run_sync(kill_marked, self.marker)
        self.stderr.close()


class ClaudeCodeRuntime:
    """Runs turns with the Claude Code CLI."""

    name = "claude-code"

    def __init__(
        self,
        cli_path: str | Path | None = None,
        *,
        sandbox: str | None = None,
        state_dir: Path | None = None,
    ) -> None:
        """``sandbox``: the ``bwrap`` binary to confine each CLI with (None: no sandbox), which
        then hides ``state_dir`` from the agent but for its own workspace and transcripts."""
        self.cli_path = str(cli_path or bundled_cli_path())
        self.sandbox = sandbox
        self.state_dir = state_dir
        self._prestarted: list[_Launched] = []
        self._protected = False

    def prestart(self, spec: RunSpec) -> None:
        """Start the CLI for ``spec`` now; it boots (most of a short run's time) while the
        caller finishes its own work, and waits for the prompt. :meth:`run` adopts it when
        given an equal spec; otherwise it is discarded. The prompt is only ever sent by
        :meth:`run`, so a prestarted process that is not adopted has done nothing. Needs no
        event loop: the one-shot CLI calls it before the loop's modules are imported.
        """
        self._prestarted.append(self._launch(spec))

    async def aclose(self) -> None:
        """Stop prestarted processes that no run adopted."""
        while self._prestarted:
            await self._prestarted.pop().discard()

    def _command(self, spec: RunSpec) -> list[str]:
        argv = build_argv(spec, self.cli_path)
        if self.sandbox is None:
            return argv
        # Claude Code's files: its settings in CLAUDE_CONFIG_DIR (the state directory in the
        # seed's layout, so inside the sandbox an empty tmpfs: settings do not carry over from
        # one run to the next) and this session's transcripts, which must outlive the run.
        transcripts = spec.config_dir / "projects" / project_key(str(spec.cwd))
        transcripts.mkdir(parents=True, exist_ok=True)
        hidden = [self.state_dir] if self.state_dir is not None else []
        config = [] if any(spec.config_dir.is_relative_to(h) for h in hidden) else [spec.config_dir]
        cli = Path(self.cli_path)
        return wrap(
            self.sandbox,
            argv,
            cwd=spec.cwd,
            writable=[*config, transcripts, spec.cwd, *spec.add_dirs],
            # the CLI binary stays runnable wherever it is (/tmp, the state directory)
            read_only=[*spec.read_only, *spec.plugin_dirs, *([cli] if cli.is_absolute() else [])],
            hidden=hidden,
        )

    def _launch(self, spec: RunSpec) -> _Launched:
        argv = self._command(spec)
        # Tool commands run in sessions of their own, outside the CLI's process group; this
        # marker, inherited by every descendant, finds them when the run ends.
        marker = uuid.uuid4().hex
        env = {**spec.env, RUN_MARKER: marker}
        # stderr goes to a file: nothing to drain concurrently, and the tail explains a crash.
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _Launched.discard)
        try:
            process = ChildProcess.start(
                argv, stderr=stderr, cwd=str(spec.cwd), env=env, start_new_session=True
            )
        except BaseException as exc:
            stderr.close()
            if isinstance(exc, OSError):
                raise RuntimeCrashed(f"could not start the Claude Code CLI: {exc}") from exc
            raise
        return _Launched(spec, process, stderr, marker, time.monotonic())

    async def _adopt_or_launch(self, spec: RunSpec) -> _Launched:
        for launched in self._prestarted:
            if launched.spec == spec and launched.process.returncode is None:
                self._prestarted.remove(launched)
                await self.aclose()
                return launched
        await self.aclose()
        return self._launch(spec)

    async def run(self, spec: RunSpec) -> AsyncIterator[RunEvent]:
        """Run one turn; see :class:`agentcontainers.runtime.base.Runtime`."""
        launched = await self._adopt_or_launch(spec)
        process = launched.process
        # the time limit counts from the start of the process, prestarted or not
        deadline = anyio.current_time() + spec.timeout_s - launched.age()
        if not self._protected:  # before any tool can run; off the CLI's start-up path
            protect_service_process()
            self._protected = True
        got_result = False
        try:
            with anyio.fail_at(deadline):
                await process.stdin.send(user_message(spec.prompt))
                await process.stdin.aclose()
            async for message in _json_lines(process.stdout, deadline):
                for event in events_of(message):
                    got_result = got_result or event.kind == "result"
                    yield event
                if got_result:
                    break
        except TimeoutError:
            raise RunTimeout(
                f"the run passed its time limit of {spec.timeout_s:g} s and was stopped"
            ) from None
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise RuntimeCrashed(f"lost the agent process's pipes: {exc!r}") from exc
        finally:
            with anyio.CancelScope(shield=True):
                if got_result:
                    # stdin is closed: the CLI finishes its transcript and exits by itself
                    with anyio.move_on_after(_EXIT_GRACE_S):
                        await process.wait()
                tail = "" if got_result else _tail(launched.stderr)
                await launched.discard()
        if not got_result:
            raise RuntimeCrashed(
                "the agent process ended without a result "
                f"(exit status {process.returncode}): {tail}"
            )


def project_key(cwd: str) -> str:
    """How Claude Code names a working directory under ``projects/``."""
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in cwd)


def _tail(stream: Any) -> str:
    stream.seek(0, os.SEEK_END)
    stream.seek(max(0, stream.tell() - _STDERR_TAIL))
    lines = stream.read().decode(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no output"


async def _json_lines(stream: PipeReader, deadline: float) -> AsyncIterator[dict[str, Any]]:
    """JSON objects, one per line, until EOF; each read bounded by ``deadline``."""
    buffer = b""
    while True:
        try:
            with anyio.fail_at(deadline):
                chunk = await stream.receive()
        except anyio.EndOfStream:
            return
        buffer += chunk
        if len(buffer) > _MAX_LINE:
            raise RuntimeCrashed("the agent process wrote a line longer than 32 MiB")
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue  # stray non-JSON output (warnings) is not protocol
            if isinstance(message, dict) and message.get("type") != "control_request":
                yield message  # dontAsk mode never asks, so control requests need no answer


async def _terminate_group(process: ChildProcess) -> None:
    """Stop the CLI and every process it started (its process group)."""
    if process.returncode is None:
        for sig, wait in ((signal.SIGTERM, _KILL_GRACE_S), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            with anyio.move_on_after(wait):
                await process.wait()
                break
    # The leader is gone; whatever else its group started (tool subprocesses) goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await process.aclose()


def kill_marked(marker: str) -> list[int]:
    """SIGKILL every process whose environment carries this run's marker; returns their pids."""
    needle = f"{RUN_MARKER}={marker}".encode()
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
        except (OSError, ValueError):
            continue  # gone already, or not ours to read
    return killed
