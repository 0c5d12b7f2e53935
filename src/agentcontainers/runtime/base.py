"""The runtime interface: run one agent turn and stream its events.

A runtime turns a fully resolved :class:`RunSpec` (policy already applied) into a stream of
:class:`RunEvent` ending in exactly one ``result`` event. Implementations own the process:
they must stop it (and its children) on timeout or cancellation and leave nothing behind.

Example of an implementation::

    class EchoRuntime:
        name = "echo"

        async def run(self, spec: RunSpec) -> AsyncIterator[RunEvent]:
            yield RunEvent("init", {"session_id": spec.session_id})
            yield RunEvent("text", {"text": spec.prompt})
            yield RunEvent("result", {"type": "result", "subtype": "success", ...})
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

EventKind = Literal["init", "text", "text_delta", "tool_use", "tool_result", "result"]


@dataclass(frozen=True)
class RunEvent:
    """One step of a run, as ingresses show it (SSE events, chat messages).

    ``kind`` is one of ``init`` (session id, model, tools), ``text`` (assistant text, a whole
    block), ``text_delta`` (a piece of assistant text as the model writes it; only when the
    spec asks for ``partial_messages``, and always followed by the whole ``text``),
    ``tool_use`` (id, name, input), ``tool_result`` (tool_use_id, content, is_error) and
    ``result`` (the Claude Code result object, passed through).
    """

    kind: EventKind
    data: dict[str, Any]


@dataclass(frozen=True)
class RunSpec:
    """Everything a runtime needs for one turn; built by :mod:`agentcontainers.policy`."""

    prompt: str
    cwd: Path
    config_dir: Path
    env: Mapping[str, str]
    tools: tuple[str, ...]
    disallowed_tools: tuple[str, ...] = ()
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    model: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    session_id: str | None = None
    resume: bool = False
    mcp_servers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Permission rules pre-approving MCP tools (``mcp__<server>`` or ``mcp__<server>__<tool>``).
    mcp_tool_rules: tuple[str, ...] = ()
    #: No settings files are read: an agent that writes ``.claude/settings.json`` in its
    #: workspace must not change its next run. Operator settings go in ``settings``.
    setting_sources: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    add_dirs: tuple[Path, ...] = ()
    #: Paths the agent may read and must not write (the persona directory); a sandbox mounts
    #: them read-only.
    read_only: tuple[Path, ...] = ()
    plugin_dirs: tuple[Path, ...] = ()
    extra_args: Mapping[str, str | None] = field(default_factory=dict)
    #: Also yield ``text_delta`` events while the model writes (``--include-partial-messages``).
    partial_messages: bool = False
    timeout_s: float = 600.0


class Runtime(Protocol):
    """Runs agent turns. One method; the process lifecycle is the implementation's."""

    name: str

    def run(self, spec: RunSpec) -> AsyncIterator[RunEvent]:
        """Run one turn, yielding events and finally one ``result`` event.

        Raises:
            RunTimeout, RunCancelled, RuntimeCrashed: the run did not produce a result.
        """
        ...
