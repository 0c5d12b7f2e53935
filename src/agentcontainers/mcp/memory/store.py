"""The assistant's memory in SQLite: todos, notes, preferences and backgrounds.

Each public coroutine is one operation (and one transaction), run off the event loop by
:class:`~.database.Database`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from agentcontainers.mcp.memory import values
from agentcontainers.mcp.memory.database import (
    Conditions,
    Database,
    Order,
    Page,
    delete,
    insert,
    one,
    page,
    update,
)
from agentcontainers.mcp.memory.values import Conflict, NotFound

__all__ = ["MemoryStore", "Order", "Page"]


def _todo(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    record["data"] = values.load(record["data"])
    record["completed"] = record["completed_at"] is not None
    return record


def _preference(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    record["data"] = values.load(record["data"])
    return record


class MemoryStore(Database):
    """The memory database at ``path`` (created, and migrated, on entry)."""

    # ------------------------------------------------------------------ todos

    async def create_todo(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a todo from already-validated ``fields``; returns it."""
        return await self.run(self._create_todo, fields)

    def _create_todo(self, db: sqlite3.Connection, fields: dict[str, Any]) -> dict[str, Any]:
        stored = {**fields, "data": values.dump(fields.get("data") or {})}
        todo_id = insert(db, "todos", stored)
        return self._get_todo(db, todo_id)

    async def get_todo(self, todo_id: int) -> dict[str, Any]:
        """The todo ``todo_id``."""
        return await self.run(self._get_todo, todo_id)

    def _get_todo(self, db: sqlite3.Connection, todo_id: int) -> dict[str, Any]:
        return _todo(
            one(db, "SELECT * FROM todos WHERE id = ?", (todo_id,), f"todo {todo_id} not found")
        )

    async def list_todos(
        self,
        conditions: Conditions,
        sort: str,
        order: Order,
        limit: int,
        offset: int,
    ) -> Page:
        """A page of todos matching ``conditions`` (SQL fragments with their arguments)."""
        return await self.run(page, "todos", conditions, sort, order, limit, offset, _todo)

    async def update_todo(self, todo_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change the given fields of todo ``todo_id``; returns it."""
        return await self.run(self._update_todo, todo_id, fields)

    def _update_todo(
        self, db: sqlite3.Connection, todo_id: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        if "data" in fields:
            fields = {**fields, "data": values.dump(fields["data"] or {})}
        if not update(db, "todos", "id = ?", (todo_id,), fields):
            raise NotFound(f"todo {todo_id} not found")
        return self._get_todo(db, todo_id)

    async def complete_todo(self, todo_id: int, completed_by: str | None) -> dict[str, Any]:
        """Mark todo ``todo_id`` done; a recurring one with a due date gets its next occurrence."""
        return await self.run(self._complete_todo, todo_id, completed_by)

    def _complete_todo(
        self, db: sqlite3.Connection, todo_id: int, completed_by: str | None
    ) -> dict[str, Any]:
        db.execute("BEGIN IMMEDIATE")
        try:
            todo = self._get_todo(db, todo_id)
            if todo["completed"]:
                raise Conflict(f"todo {todo_id} is already completed (at {todo['completed_at']})")
            update(
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
                following = self._get_todo(db, insert(db, "todos", fields))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return {"todo": self._get_todo(db, todo_id), "next": following}

    async def delete_todo(self, todo_id: int) -> dict[str, Any]:
        """Delete todo ``todo_id``; returns what it was."""
        return await self.run(
            delete, "todos", "id = ?", (todo_id,), f"todo {todo_id} not found", _todo
        )

    # ------------------------------------------------------------------ notes

    async def create_note(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a note; returns it."""
        return await self.run(self._create_note, fields)

    def _create_note(self, db: sqlite3.Connection, fields: dict[str, Any]) -> dict[str, Any]:
        return self._get_note(db, insert(db, "notes", fields))

    async def get_note(self, note_id: int) -> dict[str, Any]:
        """The note ``note_id``."""
        return await self.run(self._get_note, note_id)

    def _get_note(self, db: sqlite3.Connection, note_id: int) -> dict[str, Any]:
        return dict(
            one(db, "SELECT * FROM notes WHERE id = ?", (note_id,), f"note {note_id} not found")
        )

    async def list_notes(
        self,
        conditions: Conditions,
        sort: str,
        order: Order,
        limit: int,
        offset: int,
    ) -> Page:
        """A page of notes."""
        return await self.run(page, "notes", conditions, sort, order, limit, offset)

    async def update_note(self, note_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change a note; returns it."""
        return await self.run(self._update_note, note_id, fields)

    def _update_note(
        self, db: sqlite3.Connection, note_id: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        if not update(db, "notes", "id = ?", (note_id,), fields):
            raise NotFound(f"note {note_id} not found")
        return self._get_note(db, note_id)

    async def delete_note(self, note_id: int) -> dict[str, Any]:
        """Delete a note; returns what it was."""
        return await self.run(delete, "notes", "id = ?", (note_id,), f"note {note_id} not found")

    # ------------------------------------------------------------------ preferences

    async def create_preference(self, key: str, specifier: str, data: Any) -> dict[str, Any]:
        """Record a preference ``key`` (for ``specifier``); it must not exist yet."""
        return await self.run(self._create_preference, key, specifier, data)

    def _create_preference(
        self, db: sqlite3.Connection, key: str, specifier: str, data: Any
    ) -> dict[str, Any]:
        try:
            insert(
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
        return await self.run(self._get_preference, key, specifier)

    def _get_preference(self, db: sqlite3.Connection, key: str, specifier: str) -> dict[str, Any]:
        missing = f"preference {key!r} (specifier {specifier!r}) not found"
        sql = "SELECT * FROM preferences WHERE key = ? AND specifier = ?"
        return _preference(one(db, sql, (key, specifier), missing))

    async def list_preferences(
        self,
        conditions: Conditions,
        sort: str,
        order: Order,
        limit: int,
        offset: int,
    ) -> Page:
        """A page of preferences."""
        return await self.run(
            page, "preferences", conditions, sort, order, limit, offset, _preference
        )

    async def update_preference(self, key: str, specifier: str, data: Any) -> dict[str, Any]:
        """Replace the data of preference ``key`` for ``specifier``."""
        return await self.run(self._update_preference, key, specifier, data)

    def _update_preference(
        self, db: sqlite3.Connection, key: str, specifier: str, data: Any
    ) -> dict[str, Any]:
        where = "key = ? AND specifier = ?"
        if not update(db, "preferences", where, (key, specifier), {"data": values.dump(data)}):
            raise NotFound(
                f"preference {key!r} (specifier {specifier!r}) not found; use create_preference"
            )
        return self._get_preference(db, key, specifier)

    async def delete_preference(self, key: str, specifier: str) -> dict[str, Any]:
        """Delete a preference; returns what it was."""
        missing = f"preference {key!r} (specifier {specifier!r}) not found"
        return await self.run(
            delete,
            "preferences",
            "key = ? AND specifier = ?",
            (key, specifier),
            missing,
            _preference,
        )

    # ------------------------------------------------------------------ backgrounds

    async def create_background(self, key: str, value: str) -> dict[str, Any]:
        """Record background ``key``; it must not exist yet."""
        return await self.run(self._create_background, key, value)

    def _create_background(self, db: sqlite3.Connection, key: str, value: str) -> dict[str, Any]:
        try:
            insert(db, "backgrounds", {"key": key, "value": value})
        except Conflict:
            raise Conflict(f"background {key!r} already exists; use update_background") from None
        return self._get_background(db, key)

    async def get_background(self, key: str) -> dict[str, Any]:
        """The background ``key``."""
        return await self.run(self._get_background, key)

    def _get_background(self, db: sqlite3.Connection, key: str) -> dict[str, Any]:
        sql = "SELECT * FROM backgrounds WHERE key = ?"
        return dict(one(db, sql, (key,), f"background {key!r} not found"))

    async def list_backgrounds(
        self,
        conditions: Conditions,
        sort: str,
        order: Order,
        limit: int,
        offset: int,
    ) -> Page:
        """A page of backgrounds."""
        return await self.run(page, "backgrounds", conditions, sort, order, limit, offset)

    async def update_background(self, key: str, value: str) -> dict[str, Any]:
        """Replace the value of background ``key``."""
        return await self.run(self._update_background, key, value)

    def _update_background(self, db: sqlite3.Connection, key: str, value: str) -> dict[str, Any]:
        if not update(db, "backgrounds", "key = ?", (key,), {"value": value}):
            raise NotFound(f"background {key!r} not found; use create_background")
        return self._get_background(db, key)

    async def delete_background(self, key: str) -> dict[str, Any]:
        """Delete a background; returns what it was."""
        return await self.run(
            delete, "backgrounds", "key = ?", (key,), f"background {key!r} not found"
        )
