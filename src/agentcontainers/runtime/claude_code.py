"""The Claude Code runtime: the bundled CLI of ``claude-agent-sdk``, driven over stream-json.

It speaks the same protocol and builds the same command line as ``claude_agent_sdk``'s
subprocess transport (a test keeps the two in step), without importing the SDK package: that
import costs about a second (its ``mcp`` import), more than the whole CLI run it would drive,
and the one-shot CLI and Lambda cold starts pay for every import. One code path serves every
ingress.

The process runs in its own process group; whatever happens (result, timeout, cancellation,
crash) the group is terminated before :meth:`ClaudeCodeRuntime.run` returns, so no tool
subprocess outlives its run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from agentcontainers.errors import RunTimeout, RuntimeCrashed
from agentcontainers.runtime.base import RunEvent, RunSpec

_STDERR_TAIL = 4000
_KILL_GRACE_S = 2.0
_MAX_LINE = 32 * 1024 * 1024


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
        argv.append(f"--{flag}" if value is None else f"--{flag}={value}")
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
    content = (message.get("message") or {}).get("content")
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


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") for part in content if isinstance(part, dict)
        ).strip()
    return "" if content is None else json.dumps(content)


class ClaudeCodeRuntime:
    """Runs turns with the Claude Code CLI."""

    name = "claude-code"

    def __init__(self, cli_path: str | Path | None = None) -> None:
        self.cli_path = str(cli_path or bundled_cli_path())

    async def run(self, spec: RunSpec) -> AsyncIterator[RunEvent]:
        """Run one turn; see :class:`agentcontainers.runtime.base.Runtime`."""
        argv = build_argv(spec, self.cli_path)
        try:
            process = await anyio.open_process(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=str(spec.cwd),
                env=dict(spec.env),
                start_new_session=True,
            )
        except OSError as exc:
            raise RuntimeCrashed(f"could not start the Claude Code CLI: {exc}") from exc
        stderr_tail = bytearray()
        got_result = False
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_drain, process.stderr, stderr_tail)
                assert process.stdin is not None
                await process.stdin.send(user_message(spec.prompt))
                await process.stdin.aclose()
                with anyio.fail_after(spec.timeout_s):
                    async for message in _json_lines(process.stdout):
                        if message.get("type") == "control_request":
                            continue  # dontAsk mode never asks; nothing to answer
                        for event in events_of(message):
                            got_result = got_result or event.kind == "result"
                            yield event
                        if got_result:
                            break
                    await process.wait()
                tasks.cancel_scope.cancel()
        except TimeoutError:
            raise RunTimeout(
                f"the run passed its time limit of {spec.timeout_s:g} s and was stopped"
            ) from None
        finally:
            with anyio.CancelScope(shield=True):
                await _terminate_group(process)
        if not got_result:
            detail = stderr_tail.decode(errors="replace").strip().splitlines()
            last = detail[-1] if detail else "no output"
            raise RuntimeCrashed(
                f"the agent process ended without a result (exit status {process.returncode}): "
                f"{last[:300]}"
            )


async def _json_lines(stream: anyio.abc.ByteReceiveStream | None) -> AsyncIterator[dict[str, Any]]:
    assert stream is not None
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        if len(buffer) > _MAX_LINE:
            raise RuntimeCrashed("the agent process wrote a line longer than 32 MiB")
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # stray non-JSON output (warnings) is not protocol
                if isinstance(message, dict):
                    yield message


async def _drain(stream: anyio.abc.ByteReceiveStream | None, tail: bytearray) -> None:
    if stream is None:
        return
    with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
        async for chunk in stream:
            tail.extend(chunk)
            del tail[:-_STDERR_TAIL]


async def _terminate_group(process: anyio.abc.Process) -> None:
    """Stop the CLI and every process it started (its process group)."""
    for sig, wait in ((signal.SIGTERM, _KILL_GRACE_S), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with anyio.move_on_after(wait):
            await process.wait()
            if sig == signal.SIGTERM:
                # the leader is gone; make sure nothing else of its group lingers
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
            break
    with contextlib.suppress(Exception):
        await process.aclose()
