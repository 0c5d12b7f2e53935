"""The built-in ``assistant`` MCP server: the household assistant's "second brain".

Todos, notes, preferences and backgrounds, each with create, get, list (filters, sorting,
pagination), update and delete tools (and ``complete_todo``), stored by :class:`MemoryStore`.
Invalid input comes back as a tool error that says what to fix.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, JsonValue

from agentcontainers.mcp.memory import values
from agentcontainers.mcp.memory.store import MemoryStore, Order

INSTRUCTIONS = """\
Long-term memory for a household assistant. Keep todos (with priority 1 = most urgent to
4 = least, due dates, recurrence such as 'weekly'), notes about people and things,
preferences (a key plus an optional specifier, e.g. key 'coffee', specifier 'Ana', with any
JSON data) and background facts (key -> text). Look things up before asking the user again.
"""

Id = Annotated[int, Field(ge=1, description="The record's id.")]
Limit = Annotated[int, Field(ge=1, le=100, description="Page size (1-100).")]
Offset = Annotated[int, Field(ge=0, description="How many records to skip.")]
OrderArg = Annotated[Order, Field(description="Sort direction.")]
Search = Annotated[str | None, Field(description="Only records containing this text.")]
Priority = Annotated[int, Field(ge=1, le=4, description="1 (most urgent) to 4 (least).")]
Due = Annotated[str | None, Field(description="YYYY-MM-DD or an ISO 8601 date-time.")]
Recurrence = Annotated[
    str | None,
    Field(description="daily, weekly, monthly, yearly, 'every N days|weeks|months|years'."),
]
Specifier = Annotated[
    str,
    Field(
        max_length=200,
        description="What the preference applies to (a person, a room); '' = general.",
    ),
]
Key = Annotated[str, Field(min_length=1, max_length=200)]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(columns: tuple[str, ...], term: str | None) -> list[tuple[str, tuple[Any, ...]]]:
    if not term:
        return []
    clause = " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in columns)
    return [(f"({clause})", tuple(_like(term) for _ in columns))]


def _changes(cleared: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    changes = {key: value for key, value in fields.items() if value is not None}
    changes.update(cleared or {})
    if not changes:
        raise ToolError("nothing to update: give at least one field to change")
    return changes


def _quiet_server(lifespan: Any) -> MCPServer[Any]:
    """``MCPServer`` without its side effect on the host's logging: its constructor calls
    ``logging.basicConfig`` (a rich handler at INFO on the root logger) when the root logger
    has no handler, which would print INFO lines into a one-shot run's stderr. A placeholder
    handler makes that call a no-op; the host's logging stays as it was."""
    root = logging.getLogger()
    placeholder = None if root.handlers else logging.NullHandler()
    if placeholder is not None:
        root.addHandler(placeholder)
    try:
        return MCPServer("assistant", instructions=INSTRUCTIONS, lifespan=lifespan)
    finally:
        if placeholder is not None:
            root.removeHandler(placeholder)


def build_memory_server(path: Path) -> MCPServer[Any]:
    """The ``assistant`` server, storing its memory in the SQLite file at ``path``."""
    store = MemoryStore(path)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        async with store:
            yield {}

    server = _quiet_server(lifespan)

    tool = server.tool()

    # ------------------------------------------------------------------ todos

    @tool
    async def create_todo(
        title: Annotated[str, Field(min_length=1, max_length=500)],
        description: str = "",
        data: Annotated[
            dict[str, JsonValue] | None, Field(description="Any structured details.")
        ] = None,
        priority: Priority = 3,
        due: Due = None,
        recurrence: Recurrence = None,
        url: Annotated[str | None, Field(description="A link (http, https, mailto).")] = None,
        created_by: Annotated[str | None, Field(description="Who asked for it.")] = None,
    ) -> dict[str, Any]:
        """Create a todo; returns it with its id."""
        return await store.create_todo(
            {
                "title": values.text(title, "title", max_length=500),
                "description": values.text(description, "description", empty=True),
                "data": data or {},
                "priority": values.priority(priority),
                "due": values.due(due),
                "recurrence": values.recurrence(recurrence),
                "url": values.url(url),
                "created_by": created_by,
            }
        )

    @tool
    async def get_todo(id: Id) -> dict[str, Any]:
        """Get one todo by id."""
        return await store.get_todo(id)

    @tool
    async def list_todos(
        status: Literal["open", "completed", "all"] = "open",
        priority: Annotated[int | None, Field(ge=1, le=4)] = None,
        due_before: Due = None,
        due_after: Due = None,
        created_by: str | None = None,
        search: Search = None,
        sort_by: Literal[
            "due", "priority", "created_at", "updated_at", "title", "completed_at"
        ] = "due",
        order: OrderArg = "asc",
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """List todos (open ones by default), filtered, sorted and paginated."""
        conditions: list[tuple[str, tuple[Any, ...]]] = []
        if status == "open":
            conditions.append(("completed_at IS NULL", ()))
        elif status == "completed":
            conditions.append(("completed_at IS NOT NULL", ()))
        if priority is not None:
            conditions.append(("priority = ?", (priority,)))
        if due_before is not None:
            conditions.append(("due < ?", (values.due(due_before),)))
        if due_after is not None:
            conditions.append(("due > ?", (values.due(due_after),)))
        if created_by is not None:
            conditions.append(("created_by = ?", (created_by,)))
        conditions += _search(("title", "description"), search)
        return (await store.list_todos(conditions, sort_by, order, limit, offset)).as_dict()

    @tool
    async def update_todo(
        id: Id,
        title: Annotated[str | None, Field(min_length=1, max_length=500)] = None,
        description: str | None = None,
        data: dict[str, JsonValue] | None = None,
        priority: Annotated[int | None, Field(ge=1, le=4)] = None,
        due: Due = None,
        recurrence: Recurrence = None,
        url: str | None = None,
        clear: Annotated[
            list[Literal["due", "recurrence", "url", "description", "data"]] | None,
            Field(description="Fields to empty."),
        ] = None,
    ) -> dict[str, Any]:
        """Change a todo's fields (only those given); ``clear`` empties fields."""
        empty: dict[str, Any] = {"description": "", "data": {}}
        changes = _changes(
            {name: empty.get(name) for name in clear or []},
            title=None if title is None else values.text(title, "title", max_length=500),
            description=None
            if description is None
            else values.text(description, "description", empty=True),
            data=data,
            priority=None if priority is None else values.priority(priority),
            due=values.due(due),
            recurrence=values.recurrence(recurrence),
            url=values.url(url),
        )
        return await store.update_todo(id, changes)

    @tool
    async def complete_todo(
        id: Id, completed_by: Annotated[str | None, Field(description="Who did it.")] = None
    ) -> dict[str, Any]:
        """Mark a todo done; a recurring one with a due date gets its next occurrence (``next``)."""
        return await store.complete_todo(id, completed_by)

    @tool
    async def delete_todo(id: Id) -> dict[str, Any]:
        """Delete a todo; returns what was deleted."""
        return await store.delete_todo(id)

    # ------------------------------------------------------------------ notes

    @tool
    async def create_note(
        title: Annotated[str, Field(min_length=1, max_length=500)],
        content: str = "",
        user: Annotated[
            str | None, Field(description="The person this note is about or for.")
        ] = None,
    ) -> dict[str, Any]:
        """Create a note; returns it with its id."""
        return await store.create_note(
            {
                "title": values.text(title, "title", max_length=500),
                "content": values.text(content, "content", max_length=100_000, empty=True),
                "user": user,
            }
        )

    @tool
    async def get_note(id: Id) -> dict[str, Any]:
        """Get one note by id."""
        return await store.get_note(id)

    @tool
    async def list_notes(
        user: str | None = None,
        search: Search = None,
        sort_by: Literal["created_at", "updated_at", "title"] = "updated_at",
        order: OrderArg = "desc",
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """List notes (newest first by default), filtered by user or text."""
        conditions = [("user = ?", (user,))] if user is not None else []
        conditions += _search(("title", "content"), search)
        return (await store.list_notes(conditions, sort_by, order, limit, offset)).as_dict()

    @tool
    async def update_note(
        id: Id,
        title: Annotated[str | None, Field(min_length=1, max_length=500)] = None,
        content: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Change a note's fields (only those given)."""
        changes = _changes(
            title=None if title is None else values.text(title, "title", max_length=500),
            content=None
            if content is None
            else values.text(content, "content", max_length=100_000, empty=True),
            user=user,
        )
        return await store.update_note(id, changes)

    @tool
    async def delete_note(id: Id) -> dict[str, Any]:
        """Delete a note; returns what was deleted."""
        return await store.delete_note(id)

    # ------------------------------------------------------------------ preferences

    @tool
    async def create_preference(
        key: Key, data: JsonValue, specifier: Specifier = ""
    ) -> dict[str, Any]:
        """Record a preference: ``key`` ('coffee') for ``specifier`` ('Ana') -> any JSON."""
        return await store.create_preference(key.strip(), specifier.strip(), data)

    @tool
    async def get_preference(key: Key, specifier: Specifier = "") -> dict[str, Any]:
        """Get a preference by key and specifier."""
        return await store.get_preference(key.strip(), specifier.strip())

    @tool
    async def list_preferences(
        key: str | None = None,
        specifier: str | None = None,
        search: Search = None,
        sort_by: Literal["key", "specifier", "created_at", "updated_at"] = "key",
        order: OrderArg = "asc",
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """List preferences, filtered by key, specifier or text."""
        conditions: list[tuple[str, tuple[Any, ...]]] = []
        if key is not None:
            conditions.append(("key = ?", (key.strip(),)))
        if specifier is not None:
            conditions.append(("specifier = ?", (specifier.strip(),)))
        conditions += _search(("key", "specifier", "data"), search)
        return (await store.list_preferences(conditions, sort_by, order, limit, offset)).as_dict()

    @tool
    async def update_preference(
        key: Key, data: JsonValue, specifier: Specifier = ""
    ) -> dict[str, Any]:
        """Replace a preference's data."""
        return await store.update_preference(key.strip(), specifier.strip(), data)

    @tool
    async def delete_preference(key: Key, specifier: Specifier = "") -> dict[str, Any]:
        """Delete a preference; returns what was deleted."""
        return await store.delete_preference(key.strip(), specifier.strip())

    # ------------------------------------------------------------------ backgrounds

    @tool
    async def create_background(
        key: Key, value: Annotated[str, Field(min_length=1)]
    ) -> dict[str, Any]:
        """Record a background fact: ``key`` (e.g. 'household') -> text."""
        return await store.create_background(
            key.strip(), values.text(value, "value", max_length=100_000)
        )

    @tool
    async def get_background(key: Key) -> dict[str, Any]:
        """Get a background fact by key."""
        return await store.get_background(key.strip())

    @tool
    async def list_backgrounds(
        search: Search = None,
        sort_by: Literal["key", "created_at", "updated_at"] = "key",
        order: OrderArg = "asc",
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """List background facts, filtered by text."""
        conditions = _search(("key", "value"), search)
        return (await store.list_backgrounds(conditions, sort_by, order, limit, offset)).as_dict()

    @tool
    async def update_background(
        key: Key, value: Annotated[str, Field(min_length=1)]
    ) -> dict[str, Any]:
        """Replace a background fact's text."""
        return await store.update_background(
            key.strip(), values.text(value, "value", max_length=100_000)
        )

    @tool
    async def delete_background(key: Key) -> dict[str, Any]:
        """Delete a background fact; returns what was deleted."""
        return await store.delete_background(key.strip())

    return server
