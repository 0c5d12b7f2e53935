"""The built-in ``assistant`` server through an in-memory MCP client, as an agent uses it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from agentcontainers.mcp.memory.server import build_memory_server

pytestmark = pytest.mark.anyio

TOOLS = {
    f"{verb}_{noun}"
    for noun in ("todo", "note", "preference", "background")
    for verb in ("create", "get", "update", "delete")
} | {"list_todos", "list_notes", "list_preferences", "list_backgrounds", "complete_todo"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client[Any]]:
    async with Client(build_memory_server(tmp_path / "assistant.db")) as connected:
        yield connected


async def call(client: Client[Any], tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    return result.structured_content


async def error(client: Client[Any], tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments, raise_on_error=False)
    assert result.is_error, result
    return result.content[0].text  # type: ignore[union-attr]


async def test_exactly_the_contract_tools(client: Client[Any]) -> None:
    assert {tool.name for tool in await client.list_tools()} == TOOLS


async def test_todo_lifecycle(client: Client[Any]) -> None:
    todo = await call(
        client,
        "create_todo",
        title="Buy milk",
        description="2 litres",
        data={"shop": "corner"},
        priority=1,
        due="2026-12-24",
        url="https://shop.example/milk",
        created_by="ana",
    )
    assert todo["id"] == 1
    assert todo["priority"] == 1 and todo["due"] == "2026-12-24"
    assert todo["data"] == {"shop": "corner"} and todo["completed"] is False
    assert (await call(client, "get_todo", id=1))["title"] == "Buy milk"

    updated = await call(client, "update_todo", id=1, priority=2, clear=["url"])
    assert updated["priority"] == 2 and updated["url"] is None and updated["title"] == "Buy milk"

    done = await call(client, "complete_todo", id=1, completed_by="ben")
    assert done["todo"]["completed"] and done["todo"]["completed_by"] == "ben"
    assert done["next"] is None
    assert "already completed" in await error(client, "complete_todo", id=1)

    deleted = await call(client, "delete_todo", id=1)
    assert deleted["title"] == "Buy milk"
    assert "todo 1 not found" in await error(client, "get_todo", id=1)


async def test_completing_a_recurring_todo_schedules_the_next(client: Client[Any]) -> None:
    await call(client, "create_todo", title="Bins out", due="2026-01-31", recurrence="monthly")
    done = await call(client, "complete_todo", id=1)
    assert done["next"]["due"] == "2026-02-28"
    assert done["next"]["recurrence"] == "FREQ=MONTHLY;INTERVAL=1"
    await call(
        client,
        "create_todo",
        title="Water plants",
        due="2026-03-01T08:00:00+01:00",
        recurrence="every 3 days",
    )
    done = await call(client, "complete_todo", id=3)
    assert done["next"]["due"] == "2026-03-04T08:00:00+01:00"


async def test_list_todos_filters_sorts_and_paginates(client: Client[Any]) -> None:
    for index, (priority, due) in enumerate(
        [(3, "2026-05-01"), (1, "2026-03-01"), (2, None), (4, "2026-04-01")]
    ):
        await call(
            client,
            "create_todo",
            title=f"task {index}",
            priority=priority,
            due=due,
            created_by="ana" if index % 2 else "ben",
        )
    await call(client, "complete_todo", id=4)

    page = await call(client, "list_todos")
    assert [t["title"] for t in page["items"]] == [
        "task 1",
        "task 0",
        "task 2",
    ]  # by due, undated last
    assert page["total"] == 3 and page["next_offset"] is None

    by_priority = await call(
        client, "list_todos", status="all", sort_by="priority", order="desc", limit=2
    )
    assert [t["priority"] for t in by_priority["items"]] == [4, 3]
    assert by_priority["next_offset"] == 2 and by_priority["total"] == 4
    rest = await call(
        client, "list_todos", status="all", sort_by="priority", order="desc", limit=2, offset=2
    )
    assert [t["priority"] for t in rest["items"]] == [2, 1]

    assert [
        t["title"] for t in (await call(client, "list_todos", status="completed"))["items"]
    ] == ["task 3"]
    assert (await call(client, "list_todos", created_by="ana"))["total"] == 1
    assert (await call(client, "list_todos", due_before="2026-04-15", status="all"))["total"] == 2
    assert (await call(client, "list_todos", search="TASK 2"))["total"] == 1
    assert (await call(client, "list_todos", search="%"))["total"] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"title": "x", "priority": 5}, "priority"),
        ({"title": "x", "due": "next tuesday"}, "due must be a date"),
        ({"title": "x", "recurrence": "sometimes"}, "recurrence must be"),
        ({"title": "x", "url": "javascript:alert(1)"}, "url must be"),
        ({"title": "   "}, "title must not be empty"),
        ({"title": ""}, "title"),
        ({}, "title"),
    ],
)
async def test_invalid_todos_are_clear_tool_errors(
    client: Client[Any], arguments: dict[str, Any], message: str
) -> None:
    assert message in await error(client, "create_todo", **arguments)


async def test_update_needs_a_change(client: Client[Any]) -> None:
    await call(client, "create_todo", title="x")
    assert "nothing to update" in await error(client, "update_todo", id=1)
    assert "todo 9 not found" in await error(client, "update_todo", id=9, title="y")


async def test_notes(client: Client[Any]) -> None:
    await call(client, "create_note", title="Ana's allergies", content="peanuts", user="ana")
    await call(client, "create_note", title="Wifi", content="password on the router")
    assert (await call(client, "list_notes", user="ana"))["items"][0]["content"] == "peanuts"
    assert (await call(client, "list_notes", search="router"))["total"] == 1
    assert [
        n["title"]
        for n in (await call(client, "list_notes", sort_by="title", order="asc"))["items"]
    ] == ["Ana's allergies", "Wifi"]
    updated = await call(client, "update_note", id=2, content="on the fridge")
    assert updated["content"] == "on the fridge"
    await call(client, "delete_note", id=1)
    assert "note 1 not found" in await error(client, "get_note", id=1)


async def test_preferences_are_keyed_by_key_and_specifier(client: Client[Any]) -> None:
    await call(client, "create_preference", key="coffee", specifier="ana", data={"milk": "oat"})
    await call(client, "create_preference", key="coffee", data="black")
    assert (await call(client, "get_preference", key="coffee", specifier="ana"))["data"] == {
        "milk": "oat"
    }
    assert (await call(client, "get_preference", key="coffee"))["data"] == "black"
    assert "already exists" in await error(client, "create_preference", key="coffee", data=1)
    assert (await call(client, "list_preferences", key="coffee"))["total"] == 2
    assert (await call(client, "list_preferences", search="oat"))["total"] == 1
    updated = await call(client, "update_preference", key="coffee", specifier="ana", data=[1, 2])
    assert updated["data"] == [1, 2]
    assert "not found" in await error(client, "update_preference", key="tea", data=1)
    await call(client, "delete_preference", key="coffee", specifier="ana")
    assert (await call(client, "list_preferences"))["total"] == 1


async def test_backgrounds(client: Client[Any]) -> None:
    await call(client, "create_background", key="household", value="Ana, Ben and a cat")
    assert "already exists" in await error(client, "create_background", key="household", value="x")
    assert (await call(client, "get_background", key="household"))["value"] == "Ana, Ben and a cat"
    await call(client, "update_background", key="household", value="Ana, Ben, two cats")
    assert (await call(client, "list_backgrounds", search="two cats"))["total"] == 1
    await call(client, "delete_background", key="household")
    assert "not found" in await error(client, "get_background", key="household")


async def test_results_are_json_text_too(client: Client[Any]) -> None:
    result = await client.call_tool("create_background", {"key": "k", "value": "v"})
    assert json.loads(result.content[0].text)["key"] == "k"  # type: ignore[union-attr]


async def test_memory_survives_a_new_server_and_records_its_migrations(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "assistant.db"
    async with Client(build_memory_server(path)) as first:
        await call(first, "create_todo", title="persist me")
    async with Client(build_memory_server(path)) as second:
        assert (await call(second, "list_todos"))["items"][0]["title"] == "persist me"
    with sqlite3.connect(path) as db:
        assert [row[0] for row in db.execute("SELECT name FROM _migrations")] == ["001_initial"]
