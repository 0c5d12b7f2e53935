"""The session index in PostgreSQL, for many replicas (``AGENTCONTAINERS_DATABASE_URL``).

The same records and ledger as :mod:`.sqlite`, in tables prefixed ``agentcontainers_`` of the
connection's current schema (a shared database stays tidy; ``?options=-csearch_path=NAME``
picks another schema). Replicas starting together migrate once: the migrations run under a
transaction-level advisory lock. One connection per index, shared by the service's worker
threads under a lock (the calls are single statements); a connection that broke (a database
restart, a failover) is reopened once per call before the error surfaces.

Requires the ``postgres`` extra (``psycopg``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from agentcontainers.errors import StateUnavailable
from agentcontainers.sessions.base import SessionRecord, UsageEntry, usage_totals

T = TypeVar("T")

_SESSIONS = "agentcontainers_sessions"
_USAGE = "agentcontainers_usage"
_MIGRATIONS_TABLE = "agentcontainers_migrations"
#: Any fixed number: the key of the advisory lock migrations hold.
_MIGRATION_LOCK = 0x61676E74

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_sessions",
        f"""CREATE TABLE {_SESSIONS} (
            id TEXT PRIMARY KEY, owner TEXT NOT NULL, agent TEXT NOT NULL,
            workspace TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
            created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
            turns INTEGER NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
            input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'idle');
        CREATE INDEX {_SESSIONS}_owner ON {_SESSIONS} (owner, updated_at DESC)""",
    ),
    (
        "002_usage",
        f"""CREATE TABLE {_USAGE} (
            id BIGSERIAL PRIMARY KEY, session_id TEXT NOT NULL, owner TEXT NOT NULL,
            agent TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,
            input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
            cache_read_tokens BIGINT NOT NULL, cache_creation_tokens BIGINT NOT NULL,
            num_turns INTEGER NOT NULL, duration_ms BIGINT NOT NULL, is_error BOOLEAN NOT NULL,
            subtype TEXT NOT NULL, model TEXT NOT NULL DEFAULT '');
        CREATE INDEX {_USAGE}_owner ON {_USAGE} (owner, at)""",
    ),
]

_COLUMNS = (
    "id, owner, agent, workspace, title, created_at, updated_at, turns, cost_usd, "
    "input_tokens, output_tokens, status"
)
_NAMES = [c.strip() for c in _COLUMNS.split(",")]


def migrate(conn: psycopg.Connection[Any]) -> list[str]:
    """Apply the migrations not yet recorded (under an advisory lock); returns those applied."""
    applied = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {_MIGRATIONS_TABLE} "
            "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        done = {row[0] for row in conn.execute(f"SELECT name FROM {_MIGRATIONS_TABLE}")}
        for name, statements in MIGRATIONS:
            if name in done:
                continue
            for statement in statements.split(";"):
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {_MIGRATIONS_TABLE} VALUES (%s, %s)",
                (name, time.time()),
            )
            applied.append(name)
    return applied


def _describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable URL)"
    host, db = info.get("host") or "localhost", info.get("dbname") or ""
    return f"{host}:{info.get('port') or 5432}/{db}"


class PostgresSessionIndex:
    """:class:`~agentcontainers.sessions.base.SessionIndex` in PostgreSQL.

    Raises:
        StateUnavailable: The database cannot be reached, or a call failed after one
            reconnect (the message names the database, never its password).
    """

    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        self._url = url
        self._timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn = self._connect()
        migrate(self._conn)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self._url, autocommit=True, connect_timeout=max(1, int(self._timeout))
            )
        except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StateUnavailable(
                f"AGENTCONTAINERS_DATABASE_URL: cannot connect to {_describe(self._url)}: "
                f"{first_line}"
            ) from None

    def _run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self._lock:
            try:
                return work(self._conn)
            except psycopg.OperationalError as exc:
                if not self._conn.closed and not self._conn.broken:
                    raise self._failed(exc) from exc
            self._conn = self._connect()
            try:
                return work(self._conn)
            except psycopg.OperationalError as exc:
                raise self._failed(exc) from exc

    def _failed(self, exc: Exception) -> StateUnavailable:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return StateUnavailable(
            f"AGENTCONTAINERS_DATABASE_URL: the session database at {_describe(self._url)} "
            f"failed: {first_line}"
        )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def get(self, session_id: str) -> SessionRecord | None:
        """The record, or None."""
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM {_SESSIONS} WHERE id = %s",
                (session_id,),
            ).fetchone()
        )
        return SessionRecord(*row) if row else None

    def save(self, record: SessionRecord) -> None:
        """Insert or replace the record."""
        values = tuple(getattr(record, name) for name in _NAMES)
        marks = ", ".join(["%s"] * len(values))
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in _NAMES[1:])
        sql = (
            f"INSERT INTO {_SESSIONS} ({_COLUMNS}) VALUES ({marks}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        self._run(lambda c: c.execute(sql, values))

    def delete(self, session_id: str) -> None:
        """Forget the record."""
        sql = f"DELETE FROM {_SESSIONS} WHERE id = %s"
        self._run(lambda c: c.execute(sql, (session_id,)))

    def list(self, owner: str, *, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """The owner's sessions, newest first."""
        sql = (
            f"SELECT {_COLUMNS} FROM {_SESSIONS} WHERE owner = %s "
            "ORDER BY updated_at DESC LIMIT %s OFFSET %s"
        )
        rows = self._run(lambda c: c.execute(sql, (owner, limit, offset)).fetchall())
        return [SessionRecord(*row) for row in rows]

    def record_usage(self, entry: UsageEntry) -> None:
        """Append to the usage ledger."""
        sql = (
            f"INSERT INTO {_USAGE} (session_id, owner, agent, at, cost_usd, input_tokens, "
            "output_tokens, cache_read_tokens, cache_creation_tokens, num_turns, duration_ms, "
            "is_error, subtype, model) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        )
        values = (
            entry.session_id, entry.owner, entry.agent, entry.at, entry.cost_usd,
            entry.input_tokens, entry.output_tokens, entry.cache_read_tokens,
            entry.cache_creation_tokens, entry.num_turns, entry.duration_ms,
            bool(entry.is_error), entry.subtype, entry.model,
        )  # fmt: skip
        self._run(lambda c: c.execute(sql, values))

    def usage(self, owner: str | None = None, since: float = 0.0) -> dict[str, Any]:
        """Totals per agent since ``since`` (all owners when ``owner`` is None)."""
        where = "at >= %s"
        params: list[object] = [since]
        if owner is not None:
            where += " AND owner = %s"
            params.append(owner)
        sql = (
            "SELECT agent, COUNT(*), SUM(cost_usd), SUM(input_tokens), SUM(output_tokens), "
            f"SUM(num_turns), SUM(is_error::int) FROM {_USAGE} WHERE {where} GROUP BY agent "
            "ORDER BY agent"
        )
        rows = self._run(lambda c: c.execute(sql, params).fetchall())
        return usage_totals(since, rows)
