"""Progress of a run on a terminal: one line per step, on stderr."""

from __future__ import annotations

import json
import time
from typing import TextIO

from agentcontainers.runtime.base import RunEvent


class ProgressPrinter:
    """An event handler that prints ``[ 1.2s] tool Bash: ls -la`` style lines."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        """Print a line of the service's own (before the agent says anything)."""
        self._line(text)

    async def __call__(self, event: RunEvent) -> None:
        """Print one event."""
        data = event.data
        if event.kind == "init":
            line = f"session {data.get('session_id')} · model {data.get('model')}"
        elif event.kind == "text":
            line = "text  " + _short(data.get("text", ""))
        elif event.kind == "tool_use":
            line = f"tool  {data.get('name')} {_short(json.dumps(data.get('input')))}"
        elif event.kind == "tool_result":
            mark = "error " if data.get("is_error") else "done  "
            line = mark + _short(str(data.get("content", "")))
        else:
            line = (
                f"{data.get('subtype')} · {data.get('num_turns')} turns · "
                f"${float(data.get('total_cost_usd') or 0):.4f}"
            )
        self._line(line)

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        self.stream.write(f"[{elapsed:5.1f}s] {text}\n")
        self.stream.flush()


def _short(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
