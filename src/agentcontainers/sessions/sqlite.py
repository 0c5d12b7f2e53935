"""The session index in SQLite (``<state>/__store.db``, the seed's metadata database).

The schema evolves through ordered, named migrations recorded in ``_migrations``. Calls are
short and synchronous; the service runs them in a worker thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentcontainers.sessions.base import SessionRecord, UsageEntry, usage_totals

DB_NAME = "__store.db"


def _m001_sessions(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY, owner TEXT NOT NULL, agent TEXT NOT NULL,
            workspace TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL, updated_at REAL NOT NULL,
            turns INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'idle')"""
    )
    db.execute("CREATE INDEX sessions_owner ON sessions (owner, updated_at DESC)")


def _m002_usage(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE usage (
            id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, owner TEXT NOT NULL,
            agent TEXT NOT NULL, at REAL NOT NULL, cost_usd REAL NOT NULL,
            input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL, cache_creation_tokens INTEGER NOT NULL,
            num_turns INTEGER NOT NULL, duration_ms INTEGER NOT NULL, is_error INTEGER NOT NULL,
            subtype TEXT NOT NULL, model TEXT NOT NULL DEFAULT '')"""
    )
    db.execute("CREATE INDEX usage_owner ON usage (owner, at)")


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_sessions", _m001_sessions),
    ("002_usage", _m002_usage),
]

_COLUMNS = (
    "id, owner, agent, workspace, title, created_at, updated_at, turns, cost_usd, "
    "input_tokens, output_tokens, status"
)


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded; returns the names applied."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        with db:
            step(db)
            db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
        applied.append(name)
    return applied


class SQLiteSessionIndex:
    """:class:`~agentcontainers.sessions.base.SessionIndex` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        migrate(self._db)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def get(self, session_id: str) -> SessionRecord | None:
        """The record, or None."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return SessionRecord(*row) if row else None

    def save(self, record: SessionRecord) -> None:
        """Insert or replace the record."""
        values = tuple(getattr(record, c.strip()) for c in _COLUMNS.split(","))
        marks = ", ".join("?" * len(values))
        self._db.execute(f"INSERT OR REPLACE INTO sessions ({_COLUMNS}) VALUES ({marks})", values)

    def delete(self, session_id: str) -> None:
        """Forget the record."""
        self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def list(self, owner: str, *, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """The owner's sessions, newest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE owner = ? "
            "ORDER BY updated_at DESC LIMIT ? OFFSET ?",
            (owner, limit, offset),
        ).fetchall()
        return [SessionRecord(*row) for row in rows]

    def record_usage(self, entry: UsageEntry) -> None:
        """Append to the usage ledger."""
        self._db.execute(
            "INSERT INTO usage (session_id, owner, agent, at, cost_usd, input_tokens, "
            "output_tokens, cache_read_tokens, cache_creation_tokens, num_turns, duration_ms, "
            "is_error, subtype, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.session_id, entry.owner, entry.agent, entry.at, entry.cost_usd,
                entry.input_tokens, entry.output_tokens, entry.cache_read_tokens,
                entry.cache_creation_tokens, entry.num_turns, entry.duration_ms,
                int(entry.is_error), entry.subtype, entry.model,
            ),
        )  # fmt: skip

    def usage(self, owner: str | None = None, since: float = 0.0) -> dict[str, Any]:
        """Totals per agent since ``since`` (all owners when ``owner`` is None)."""
        where = "at >= ?"
        params: list[object] = [since]
        if owner is not None:
            where += " AND owner = ?"
            params.append(owner)
        rows = self._db.execute(
            "SELECT agent, COUNT(*), SUM(cost_usd), SUM(input_tokens), SUM(output_tokens), "
            f"SUM(num_turns), SUM(is_error) FROM usage WHERE {where} GROUP BY agent "
            "ORDER BY agent",
            params,
        ).fetchall()
        return usage_totals(since, rows)
