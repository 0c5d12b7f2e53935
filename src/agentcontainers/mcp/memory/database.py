"""SQLite plumbing for the memory store: a connection used from one worker thread, and the
few statement shapes every record kind shares (insert, update, page, get one, delete)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import anyio
import anyio.to_thread

from agentcontainers.mcp.memory import values
from agentcontainers.mcp.memory.migrations import migrate
from agentcontainers.mcp.memory.values import Conflict, NotFound

T = TypeVar("T")
Order = Literal["asc", "desc"]
Conditions = list[tuple[str, tuple[Any, ...]]]
"""SQL ``WHERE`` fragments with their arguments, joined with ``AND``."""
Convert = Callable[[sqlite3.Row], dict[str, Any]]


@dataclass(frozen=True)
class Page:
    """One page of a listing."""

    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    def as_dict(self) -> dict[str, Any]:
        """The page as the list tools return it (``next_offset`` is ``None`` on the last)."""
        following = self.offset + len(self.items)
        return {
            "items": self.items,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "next_offset": following if following < self.total else None,
        }


class Database:
    """A SQLite file, opened (and migrated) on entry; operations run in a worker thread.

    One connection, one operation at a time, so the event loop never blocks on disk. WAL mode
    and a busy timeout let several processes share the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._limiter = anyio.CapacityLimiter(1)

    async def __aenter__(self) -> Self:
        self._db = await anyio.to_thread.run_sync(self._connect, limiter=self._limiter)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await anyio.to_thread.run_sync(db.close, limiter=self._limiter)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA journal_mode = WAL")
        migrate(db)
        return db

    async def run(self, operation: Callable[..., T], *args: Any) -> T:
        """``operation(connection, *args)`` in the worker thread."""
        if self._db is None:
            raise RuntimeError(
                "the memory database is not open; use it as an async context manager"
            )
        return await anyio.to_thread.run_sync(
            partial(operation, self._db, *args), limiter=self._limiter
        )


def insert(db: sqlite3.Connection, table: str, fields: dict[str, Any]) -> int:
    """Insert a row (stamped ``created_at``/``updated_at``); returns its rowid."""
    stamp = values.now()
    fields = {**fields, "created_at": stamp, "updated_at": stamp}
    columns = ", ".join(fields)
    marks = ", ".join("?" for _ in fields)
    try:
        cursor = db.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(fields.values())
        )
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"{table[:-1]} already exists") from exc
    return int(cursor.lastrowid or 0)


def update(
    db: sqlite3.Connection, table: str, where: str, key: Sequence[Any], fields: dict[str, Any]
) -> int:
    """Update the rows ``where`` selects (stamping ``updated_at``); returns how many."""
    fields = {**fields, "updated_at": values.now()}
    assignments = ", ".join(f"{column} = ?" for column in fields)
    cursor = db.execute(f"UPDATE {table} SET {assignments} WHERE {where}", (*fields.values(), *key))
    return cursor.rowcount


def page(
    db: sqlite3.Connection,
    table: str,
    conditions: Conditions,
    sort: str,
    order: Order,
    limit: int,
    offset: int,
    convert: Convert = dict,
) -> Page:
    """One page of ``table`` matching ``conditions``, sorted (NULLs last), with the total."""
    where = " AND ".join(c for c, _ in conditions) or "1"
    arguments = tuple(a for _, args in conditions for a in args)
    total = db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", arguments).fetchone()[0]
    direction = "DESC" if order == "desc" else "ASC"
    order_by = f"{sort} IS NULL, {sort} {direction}, rowid {direction}"
    rows = db.execute(
        f"SELECT * FROM {table} WHERE {where} ORDER BY {order_by} LIMIT ? OFFSET ?",
        (*arguments, limit, offset),
    ).fetchall()
    return Page([convert(row) for row in rows], total, offset, limit)


def one(db: sqlite3.Connection, sql: str, key: Sequence[Any], missing: str) -> sqlite3.Row:
    """The single row ``sql`` selects, or :class:`NotFound` with the message ``missing``."""
    row: sqlite3.Row | None = db.execute(sql, tuple(key)).fetchone()
    if row is None:
        raise NotFound(missing)
    return row


def delete(
    db: sqlite3.Connection,
    table: str,
    where: str,
    key: Sequence[Any],
    missing: str,
    convert: Convert = dict,
) -> dict[str, Any]:
    """Delete the row ``where`` selects; returns what it was."""
    row = one(db, f"SELECT * FROM {table} WHERE {where}", key, missing)
    db.execute(f"DELETE FROM {table} WHERE {where}", tuple(key))
    return convert(row)
