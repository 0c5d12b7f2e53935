"""Session metadata: who owns a session, which persona and workspace it uses, what it cost.

Transcripts themselves are Claude Code's JSONL files (under ``<state>/projects/``, the seed's
layout); this index keeps what the service needs to decide ownership and to list sessions.

Example of an implementation::

    class MemoryIndex:
        def __init__(self): self.rows = {}
        def get(self, session_id): return self.rows.get(session_id)
        def save(self, record): self.rows[record.id] = record
        def record_usage(self, usage): ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class SessionRecord:
    """One session as the index knows it."""

    id: str
    owner: str
    agent: str
    workspace: str
    title: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    turns: int = 0
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    status: str = "idle"

    def public(self) -> dict[str, Any]:
        """The fields shown to the session's owner."""
        return {
            "session_id": self.id,
            "agent": self.agent,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "turns": self.turns,
            "total_cost_usd": round(self.cost_usd, 6),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "status": self.status,
        }


@dataclass
class UsageEntry:
    """One run in the usage ledger."""

    session_id: str
    owner: str
    agent: str
    at: float
    cost_usd: float
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    num_turns: int
    duration_ms: int
    is_error: bool
    subtype: str
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def usage_totals(since: float, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The usage report from ``(agent, runs, cost, input, output, turns, errors)`` rows."""
    agents = {
        str(agent): {
            "runs": int(runs),
            "total_cost_usd": round(float(cost or 0.0), 6),
            "input_tokens": int(tin or 0),
            "output_tokens": int(tout or 0),
            "turns": int(turns or 0),
            "errors": int(errors or 0),
        }
        for agent, runs, cost, tin, tout, turns, errors in rows
    }
    return {
        "since": since,
        "agents": agents,
        "total_cost_usd": round(sum(a["total_cost_usd"] for a in agents.values()), 6),
        "runs": sum(a["runs"] for a in agents.values()),
    }


class SessionIndex(Protocol):
    """Where session records and the usage ledger live (SQLite by default)."""

    def get(self, session_id: str) -> SessionRecord | None:
        """The record, or None."""
        ...

    def save(self, record: SessionRecord) -> None:
        """Insert or replace the record."""
        ...

    def delete(self, session_id: str) -> None:
        """Forget the record."""
        ...

    def list(self, owner: str, *, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """The owner's sessions, newest first."""
        ...

    def record_usage(self, entry: UsageEntry) -> None:
        """Append to the usage ledger."""
        ...

    def usage(self, owner: str | None = None, since: float = 0.0) -> dict[str, Any]:
        """Totals per agent (all owners when ``owner`` is None)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
