"""The session index, SQLite (the default) and PostgreSQL (``AGENTCONTAINERS_DATABASE_URL``),
held to one contract; then what PostgreSQL adds: migrations shared by replicas, a connection
that heals after the server drops it, a clear error when it is unreachable."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcontainers.errors import StateUnavailable
from agentcontainers.sessions.base import SessionIndex, SessionRecord, UsageEntry
from agentcontainers.sessions.sqlite import SQLiteSessionIndex


@pytest.fixture(params=["sqlite", "postgres"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionIndex]:
    if request.param == "sqlite":
        made: SessionIndex = SQLiteSessionIndex(tmp_path / "__store.db")
    else:
        from agentcontainers.sessions.postgres import PostgresSessionIndex

        made = PostgresSessionIndex(request.getfixturevalue("postgres_url"))
    try:
        yield made
    finally:
        made.close()


def record(session_id: str, owner: str = "alice", updated: float = 1.0, **fields) -> SessionRecord:
    return SessionRecord(session_id, owner, "tester", f"/ws/{session_id}", updated_at=updated,
                         created_at=updated, **fields)  # fmt: skip


def entry(owner: str, agent: str, at: float, cost: float, *, error: bool = False) -> UsageEntry:
    return UsageEntry("s", owner, agent, at, cost, 10, 5, 1, 2, 3, 40, error, "success", "m")


def test_records_round_trip_and_replace(index: SessionIndex) -> None:
    assert index.get("a") is None
    index.save(record("a", title="first", turns=1, cost_usd=0.25, input_tokens=7))
    assert index.get("a") == record("a", title="first", turns=1, cost_usd=0.25, input_tokens=7)
    index.save(record("a", title="again", turns=2, status="running"))
    got = index.get("a")
    assert got is not None and (got.title, got.turns, got.status) == ("again", 2, "running")
    index.delete("a")
    assert index.get("a") is None
    index.delete("a")  # forgetting twice is fine


def test_listing_is_per_owner_newest_first_and_paged(index: SessionIndex) -> None:
    for n in range(5):
        index.save(record(f"s{n}", updated=float(n)))
    index.save(record("other", owner="bob", updated=9.0))
    assert [r.id for r in index.list("alice")] == ["s4", "s3", "s2", "s1", "s0"]
    assert [r.id for r in index.list("alice", limit=2, offset=1)] == ["s3", "s2"]
    assert [r.id for r in index.list("bob")] == ["other"]
    assert index.list("nobody") == []


def test_usage_totals_per_agent_owner_and_time(index: SessionIndex) -> None:
    index.record_usage(entry("alice", "tester", 10.0, 0.5))
    index.record_usage(entry("alice", "assistant", 20.0, 0.25, error=True))
    index.record_usage(entry("bob", "tester", 30.0, 1.0))
    everyone = index.usage()
    assert everyone["runs"] == 3 and everyone["total_cost_usd"] == 1.75
    assert everyone["agents"]["tester"] == {
        "runs": 2, "total_cost_usd": 1.5, "input_tokens": 20, "output_tokens": 10, "turns": 6,
        "errors": 0,
    }  # fmt: skip
    assert everyone["agents"]["assistant"]["errors"] == 1
    alice = index.usage("alice", since=15.0)
    assert alice == {
        "since": 15.0,
        "agents": {"assistant": alice["agents"]["assistant"]},
        "total_cost_usd": 0.25,
        "runs": 1,
    }
    assert index.usage("nobody") == {"since": 0.0, "agents": {}, "total_cost_usd": 0.0, "runs": 0}


def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    from agentcontainers.sessions.postgres import PostgresSessionIndex, migrate

    made: list[PostgresSessionIndex] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            made.append(PostgresSessionIndex(postgres_url))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        made[0].save(record("shared"))
        assert all(i.get("shared") is not None for i in made)  # one database, seen by all
        assert migrate(made[0]._conn) == []
    finally:
        for index in made:
            index.close()


def test_a_dropped_connection_is_reopened(postgres_url: str) -> None:
    import psycopg

    from agentcontainers.sessions.postgres import PostgresSessionIndex

    index = PostgresSessionIndex(postgres_url)
    try:
        index.save(record("kept"))
        pid = index._conn.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert index.get("kept") is not None  # the next call reconnects once
        assert index._conn.info.backend_pid != pid
    finally:
        index.close()


def test_an_unreachable_database_is_unavailable_and_named_without_its_password() -> None:
    from agentcontainers.sessions.postgres import PostgresSessionIndex

    url = "postgresql://agent:hunter2@127.0.0.1:1/agents"
    with pytest.raises(StateUnavailable, match="AGENTCONTAINERS_DATABASE_URL") as caught:
        PostgresSessionIndex(url, connect_timeout=2)
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1/agents" in str(caught.value)
