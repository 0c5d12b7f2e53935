"""The memory tools' value parsers: valid input is normalised stably, anything else is a clear
``Invalid`` (never another exception)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcontainers.mcp.memory import values
from agentcontainers.mcp.memory.values import Invalid


@given(st.dates())
def test_dates_round_trip(day: date) -> None:
    assert values.due(day.isoformat()) == day.isoformat()


@given(st.datetimes(timezones=st.timezones()))
def test_datetimes_are_kept_with_their_offset(moment: datetime) -> None:
    assert values.due(moment.isoformat()) == moment.replace(microsecond=0).isoformat()


@given(st.text(max_size=40))
def test_any_text_is_a_due_date_or_invalid(text: str) -> None:
    try:
        values.due(text)
    except Invalid as exc:
        assert "due must be" in str(exc)


@given(st.text(max_size=40))
def test_any_text_is_a_recurrence_or_invalid(text: str) -> None:
    try:
        rule = values.recurrence(text)
    except Invalid as exc:
        assert "recurrence" in str(exc)
    else:
        assert rule is not None and values.recurrence(rule) == rule


@pytest.mark.parametrize(
    ("given_rule", "expected"),
    [
        ("weekly", "FREQ=WEEKLY;INTERVAL=1"),
        ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2"),
        ("Every 1 day", "FREQ=DAILY;INTERVAL=1"),
        ("FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=1"),
        ("freq=monthly;interval=3", "FREQ=MONTHLY;INTERVAL=3"),
    ],
)
def test_recurrence_spellings(given_rule: str, expected: str) -> None:
    assert values.recurrence(given_rule) == expected


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2900, 1, 1)),
    st.sampled_from(["daily", "weekly", "monthly", "yearly", "every 3 months", "every 10 days"]),
)
def test_the_next_occurrence_is_later(day: date, rule: str) -> None:
    following = values.next_due(day.isoformat(), values.recurrence(rule) or "")
    assert date.fromisoformat(following) > day


def test_month_ends_are_clamped() -> None:
    assert values.next_due("2024-01-31", "FREQ=MONTHLY;INTERVAL=1") == "2024-02-29"
    assert values.next_due("2024-02-29", "FREQ=YEARLY;INTERVAL=1") == "2025-02-28"


@given(st.text(max_size=60))
def test_any_text_is_a_url_or_invalid(text: str) -> None:
    try:
        checked = values.url(text)
    except Invalid:
        return
    assert checked is not None and checked.split(":", 1)[0] in ("http", "https", "mailto")


@given(st.integers(min_value=-10, max_value=10))
def test_priorities(value: int) -> None:
    if 1 <= value <= 4:
        assert values.priority(value) == value
    else:
        with pytest.raises(Invalid, match="priority must be 1"):
            values.priority(value)
