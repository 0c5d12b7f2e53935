"""The assistant's memory in SQLite: todos, notes, preferences and backgrounds.

One connection per store, used from a worker thread one operation at a time, so the event
loop never blocks on disk. WAL mode and a busy timeout let several processes (one-shot CLI
runs, a gateway) share the file. Each public coroutine is one operation (and one transaction).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, ParamSpec, Self, TypeVar

import anyio
import anyio.to_thread

from agentcontainers.mcp.memory import values
from agentcontainers.mcp.memory.migrations import migrate
from agentcontainers.mcp.memory.values import Conflict, NotFound

P = ParamSpec("P")
T = TypeVar("T")
Order = Literal["asc", "desc"]


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


def _todo(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    record["data"] = values.load(record["data"])
    record["completed"] = record["completed_at"] is not None
    return record


def _preference(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    record["data"] = values.load(record["data"])
    return record


class MemoryStore:
    """Async access to the memory database at ``path`` (created, and migrated, on open)."""

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

    async def _run(self, operation: Callable[..., T], *args: Any) -> T:
        if self._db is None:
            raise RuntimeError("MemoryStore is not open; use it as an async context manager")
        return await anyio.to_thread.run_sync(
            partial(operation, self._db, *args), limiter=self._limiter
        )

    # ------------------------------------------------------------------ generic

    @staticmethod
    def _insert(db: sqlite3.Connection, table: str, fields: dict[str, Any]) -> int:
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

    @staticmethod
    def _update(
        db: sqlite3.Connection, table: str, where: str, key: Sequence[Any], fields: dict[str, Any]
    ) -> int:
        fields = {**fields, "updated_at": values.now()}
        assignments = ", ".join(f"{column} = ?" for column in fields)
        cursor = db.execute(
            f"UPDATE {table} SET {assignments} WHERE {where}", (*fields.values(), *key)
        )
        return cursor.rowcount

    @staticmethod
    def _page(
        db: sqlite3.Connection,
        table: str,
        conditions: list[tuple[str, tuple[Any, ...]]],
        sort: str,
        order: Order,
        limit: int,
        offset: int,
        convert: Callable[[sqlite3.Row], dict[str, Any]] = dict,
    ) -> Page:
        where = " AND ".join(c for c, _ in conditions) or "1"
        arguments = tuple(a for _, args in conditions for a in args)
        total = db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", arguments).fetchone()[0]
        direction = "DESC" if order == "desc" else "ASC"
        # NULLs (no due date) last whichever way, then a stable tiebreak.
        order_by = f"{sort} IS NULL, {sort} {direction}, rowid {direction}"
        rows = db.execute(
            f"SELECT * FROM {table} WHERE {where} ORDER BY {order_by} LIMIT ? OFFSET ?",
            (*arguments, limit, offset),
        ).fetchall()
        return Page([convert(row) for row in rows], total, offset, limit)

    @staticmethod
    def _one(db: sqlite3.Connection, sql: str, key: Sequence[Any], missing: str) -> sqlite3.Row:
        row = db.execute(sql, tuple(key)).fetchone()
        if row is None:
            raise NotFound(missing)
        return row

    # ------------------------------------------------------------------ todos

    async def create_todo(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a todo from already-validated ``fields``; returns it."""
        return await self._run(self._create_todo, fields)

    def _create_todo(self, db: sqlite3.Connection, fields: dict[str, Any]) -> dict[str, Any]:
        stored = {**fields, "data": values.dump(fields.get("data") or {})}
        todo_id = self._insert(db, "todos", stored)
        return self._get_todo(db, todo_id)

    async def get_todo(self, todo_id: int) -> dict[str, Any]:
        """The todo ``todo_id``."""
        return await self._run(self._get_todo, todo_id)

    def _get_todo(self, db: sqlite3.Connection, todo_id: int) -> dict[str, Any]:
        return _todo(
            self._one(
                db, "SELECT * FROM todos WHERE id = ?", (todo_id,), f"todo {todo_id} not found"
            )
        )

    async def list_todos(
        self,
        conditions: list[tuple[str, tuple[Any, ...]]],
        sort: str,
        order: Order,
        limit: int,
        offset: int,
    ) -> Page:
        """A page of todos matching ``conditions`` (SQL fragments with their arguments)."""
        return await self._run(self._page, "todos", conditions, sort, order, limit, offset, _todo)

    async def update_todo(self, todo_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change the given fields of todo ``todo_id``; returns it."""
        return await self._run(self._update_todo, todo_id, fields)

    def _update_todo(
        self, db: sqlite3.Connection, todo_id: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        if "data" in fields:
            fields = {**fields, "data": values.dump(fields["data"] or {})}
        if not self._update(db, "todos", "id = ?", (todo_id,), fields):
            raise NotFound(f"todo {todo_id} not found")
        return self._get_todo(db, todo_id)

    async def complete_todo(self, todo_id: int, completed_by: str | None) -> dict[str, Any]:
        """Mark todo ``todo_id`` done; a recurring one with a due date gets its next occurrence."""
        return await self._run(self._complete_todo, todo_id, completed_by)

    def _complete_todo(
        self, db: sqlite3.Connection, todo_id: int, completed_by: str | None
    ) -> dict[str, Any]:
        db.execute("BEGIN IMMEDIATE")
        try:
            todo = self._get_todo(db, todo_id)
            if todo["completed"]:
                raise Conflict(f"todo {todo_id} is already completed (at {todo['completed_at']})")
            self._update(
                db,
                "todos",
                "id = ?",
                (todo_id,),
                {"completed_at": values.now(), "completed_by": completed_by},
            )
            following = None
            if todo["recurrence"] and todo["due"]:
                keep = (
                    "title",
                    "description",
                    "data",
                    "priority",
                    "recurrence",
                    "url",
                    "created_by",
                )
                fields = {key: todo[key] for key in keep}
                fields["data"] = values.dump(fields["data"])
                fields["due"] = values.next_due(todo["due"], todo["recurrence"])
                following = self._get_todo(db, self._insert(db, "todos", fields))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return {"todo": self._get_todo(db, todo_id), "next": following}

    async def delete_todo(self, todo_id: int) -> dict[str, Any]:
        """Delete todo ``todo_id``; returns what it was."""
        return await self._run(
            self._delete, "todos", "id = ?", (todo_id,), f"todo {todo_id} not found", _todo
        )

    @staticmethod
    def _delete(
        db: sqlite3.Connection,
        table: str,
        where: str,
        key: Sequence[Any],
        missing: str,
        convert: Callable[[sqlite3.Row], dict[str, Any]] = dict,
    ) -> dict[str, Any]:
        row = MemoryStore._one(db, f"SELECT * FROM {table} WHERE {where}", key, missing)
        db.execute(f"DELETE FROM {table} WHERE {where}", tuple(key))
        return convert(row)

    # ------------------------------------------------------------------ notes

    async def create_note(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a note; returns it."""
        return await self._run(self._create_note, fields)

    def _create_note(self, db: sqlite3.Connection, fields: dict[str, Any]) -> dict[str, Any]:
        return self._get_note(db, self._insert(db, "notes", fields))

    async def get_note(self, note_id: int) -> dict[str, Any]:
        """The note ``note_id``."""
        return await self._run(self._get_note, note_id)

    def _get_note(self, db: sqlite3.Connection, note_id: int) -> dict[str, Any]:
        return dict(
            self._one(
                db, "SELECT * FROM notes WHERE id = ?", (note_id,), f"note {note_id} not found"
            )
        )

    async def list_notes(
        self,
        conditions: list[tuple[str, tuple[Any, ...]]],
        sort: str,
        order: Order,
        limit: int,
        offset: int,
    ) -> Page:
        """A page of notes."""
        return await self._run(self._page, "notes", conditions, sort, order, limit, offset)

    async def update_note(self, note_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change a note; returns it."""
        return await self._run(self._update_note, note_id, fields)

    def _update_note(
        self, db: sqlite3.Connection, note_id: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._update(db, "notes", "id = ?", (note_id,), fields):
            raise NotFound(f"note {note_id} not found")
        return self._get_note(db, note_id)

    async def delete_note(self, note_id: int) -> dict[str, Any]:
        """Delete a note; returns what it was."""
        return await self._run(
            self._delete, "notes", "id = ?", (note_id,), f"note {note_id} not found"
        )

    # ------------------------------------------------------------------ preferences

    async def create_preference(self, key: str, specifier: str, data: Any) -> dict[str, Any]:
        """Record a preference ``key`` (for ``specifier``); it must not exist yet."""
        return await self._run(self._create_preference, key, specifier, data)

    def _create_preference(
        self, db: sqlite3.Connection, key: str, specifier: str, data: Any
    ) -> dict[str, Any]:
        try:
            self._insert(
                db, "preferences", {"key": key, "specifier": specifier, "data": values.dump(data)}
            )
        except Conflict:
            raise Conflict(
                f"preference {key!r} (specifier {specifier!r}) already exists;"
                " use update_preference"
            ) from None
        return self._get_preference(db, key, specifier)

    async def get_preference(self, key: str, specifier: str) -> dict[str, Any]:
        """The preference ``key`` for ``specifier``."""
        return await self._run(self._get_preference, key, specifier)

    def _get_preference(self, db: sqlite3.Connection, key: str, specifier: str) -> dict[str, Any]:
        missing = f"preference {key!r} (specifier {specifier!r}) not found"
        sql = "SELECT * FROM preferences WHERE key = ? AND specifier = ?"
        return _preference(self._one(db, sql, (key, specifier), missing))

    async def list_preferences(
        self,
        conditions: list[tuple[str, tuple[Any, ...]]],
        sort: str,
        order: Order,
        limit: int,
        offset: int,
    ) -> Page:
        """A page of preferences."""
        return await self._run(
            self._page, "preferences", conditions, sort, order, limit, offset, _preference
        )

    async def update_preference(self, key: str, specifier: str, data: Any) -> dict[str, Any]:
        """Replace the data of preference ``key`` for ``specifier``."""
        return await self._run(self._update_preference, key, specifier, data)

    def _update_preference(
        self, db: sqlite3.Connection, key: str, specifier: str, data: Any
    ) -> dict[str, Any]:
        where = "key = ? AND specifier = ?"
        if not self._update(
            db, "preferences", where, (key, specifier), {"data": values.dump(data)}
        ):
            raise NotFound(
                f"preference {key!r} (specifier {specifier!r}) not found; use create_preference"
            )
        return self._get_preference(db, key, specifier)

    async def delete_preference(self, key: str, specifier: str) -> dict[str, Any]:
        """Delete a preference; returns what it was."""
        missing = f"preference {key!r} (specifier {specifier!r}) not found"
        return await self._run(
            self._delete,
            "preferences",
            "key = ? AND specifier = ?",
            (key, specifier),
            missing,
            _preference,
        )

    # ------------------------------------------------------------------ backgrounds

    async def create_background(self, key: str, value: str) -> dict[str, Any]:
        """Record background ``key``; it must not exist yet."""
        return await self._run(self._create_background, key, value)

    def _create_background(self, db: sqlite3.Connection, key: str, value: str) -> dict[str, Any]:
        try:
            self._insert(db, "backgrounds", {"key": key, "value": value})
        except Conflict:
            raise Conflict(f"background {key!r} already exists; use update_background") from None
        return self._get_background(db, key)

    async def get_background(self, key: str) -> dict[str, Any]:
        """The background ``key``."""
        return await self._run(self._get_background, key)

    def _get_background(self, db: sqlite3.Connection, key: str) -> dict[str, Any]:
        sql = "SELECT * FROM backgrounds WHERE key = ?"
        return dict(self._one(db, sql, (key,), f"background {key!r} not found"))

    async def list_backgrounds(
        self,
        conditions: list[tuple[str, tuple[Any, ...]]],
        sort: str,
        order: Order,
        limit: int,
        offset: int,
    ) -> Page:
        """A page of backgrounds."""
        return await self._run(self._page, "backgrounds", conditions, sort, order, limit, offset)

    async def update_background(self, key: str, value: str) -> dict[str, Any]:
        """Replace the value of background ``key``."""
        return await self._run(self._update_background, key, value)

    def _update_background(self, db: sqlite3.Connection, key: str, value: str) -> dict[str, Any]:
        if not self._update(db, "backgrounds", "key = ?", (key,), {"value": value}):
            raise NotFound(f"background {key!r} not found; use create_background")
        return self._get_background(db, key)

    async def delete_background(self, key: str) -> dict[str, Any]:
        """Delete a background; returns what it was."""
        return await self._run(
            self._delete, "backgrounds", "key = ?", (key,), f"background {key!r} not found"
        )
