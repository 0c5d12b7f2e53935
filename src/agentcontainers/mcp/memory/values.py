"""Parsing and checking the values the memory tools accept, with messages a model can act on."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from mcp.server.mcpserver.exceptions import ToolError
from pydantic_core import from_json, to_json


class MemoryStoreError(ToolError):
    """A memory operation cannot be done; the message says why (the tool error the model sees)."""


class NotFound(MemoryStoreError):
    """No such record."""


class Conflict(MemoryStoreError):
    """A record with that key already exists, or the change contradicts its state."""


class Invalid(MemoryStoreError):
    """A value is malformed."""


_RECURRENCE_WORDS = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}
_EVERY = re.compile(r"^every\s+(\d+)\s+(day|week|month|year)s?$")
_RRULE = re.compile(r"^FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)(?:;INTERVAL=(\d+))?$")
_UNITS = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def due(value: str | None) -> str | None:
    """Normalise a due date: ``YYYY-MM-DD`` or an ISO 8601 date-time (kept with its offset)."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat(timespec="seconds")
    except ValueError:
        raise Invalid(
            f"due must be a date (YYYY-MM-DD) or an ISO 8601 date-time, not {value!r}"
        ) from None


def recurrence(value: str | None) -> str | None:
    """Normalise a recurrence to ``FREQ=<DAILY|WEEKLY|MONTHLY|YEARLY>;INTERVAL=<n>``.

    Accepts ``daily``/``weekly``/``monthly``/``yearly``, ``every N days`` (weeks, months,
    years) and that RRULE subset.
    """
    if value is None:
        return None
    text = value.strip()
    word = _RECURRENCE_WORDS.get(text.lower())
    if word:
        return f"FREQ={word};INTERVAL=1"
    every = _EVERY.match(text.lower())
    rrule = _RRULE.match(text.upper())
    if every:
        interval, frequency = int(every.group(1)), _UNITS[every.group(2)]
    elif rrule:
        interval, frequency = int(rrule.group(2) or 1), rrule.group(1)
    else:
        raise Invalid(
            "recurrence must be daily, weekly, monthly, yearly, 'every N days|weeks|months|years'"
            f" or FREQ=...;INTERVAL=N, not {value!r}"
        )
    if not 1 <= interval <= 1000:
        raise Invalid(f"recurrence interval must be between 1 and 1000, not {interval}")
    return f"FREQ={frequency};INTERVAL={interval}"


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def next_due(current: str, rule: str) -> str:
    """The due date after ``current`` under the normalised recurrence ``rule``."""
    match = _RRULE.match(rule)
    if not match:
        raise Invalid(f"stored recurrence {rule!r} is not understood")
    frequency, interval = match.group(1), int(match.group(2) or 1)
    moment: date | datetime = (
        date.fromisoformat(current) if len(current) == 10 else datetime.fromisoformat(current)
    )
    if frequency == "DAILY":
        moment = moment + timedelta(days=interval)
    elif frequency == "WEEKLY":
        moment = moment + timedelta(weeks=interval)
    else:
        months = interval if frequency == "MONTHLY" else 12 * interval
        moment = _add_months(moment, months)
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="seconds")
    return moment.isoformat()


def url(value: str | None) -> str | None:
    """Check an external URL (http, https or mailto)."""
    if value is None:
        return None
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https", "mailto") or not (parts.netloc or parts.path):
        raise Invalid(f"url must be an http(s) or mailto URL, not {value!r}")
    return text


def text(value: str, field: str, *, max_length: int = 10_000, empty: bool = False) -> str:
    """Strip and check a text field's length."""
    stripped = value.strip()
    if not stripped and not empty:
        raise Invalid(f"{field} must not be empty")
    if len(stripped) > max_length:
        raise Invalid(f"{field} is too long ({len(stripped)} characters; at most {max_length})")
    return stripped


def priority(value: int) -> int:
    """Check a priority: 1 (most urgent) to 4 (least)."""
    if isinstance(value, bool) or not 1 <= value <= 4:
        raise Invalid(f"priority must be 1 (most urgent) to 4 (least), not {value!r}")
    return value


def dump(value: Any) -> str:
    """Serialise JSON data for storage."""
    return to_json(value).decode()


def load(value: str | None) -> Any:
    """Read stored JSON data."""
    return None if value is None else from_json(value)
