"""Parse the ``[[...]]`` directives that script the dev model from inside a prompt.

The grammar (whitespace inside the brackets is free, keywords are lower case)::

    [[tool NAME {json}]]     call tool NAME with that input (object; optional, default {})
    [[loop NAME {json}]]     call tool NAME on every turn, forever
    [[echo-system]]          answer with the system prompt
    [[echo-tools]]           answer with the sorted names of the tools offered
    [[echo-model]]           answer with the model name requested
    [[history]]              answer with the user prompts of the conversation so far
    [[error STATUS]]         answer with HTTP STATUS (400-599) and an Anthropic error body
    [[error STATUS N]]       the same, for the first N identical requests only
    [[stall SECONDS]]        wait that long before answering (at most 3600)
    [[drip SECONDS]]         stream slowly: wait that long between SSE events (at most 60)
    [[say TEXT]]             answer with TEXT (up to the first ``]]``, surrounding spaces trimmed)

Anything that does not parse is plain text: :func:`parse` never raises.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "MAX_DRIP_SECONDS",
    "MAX_STALL_SECONDS",
    "Directives",
    "ErrorDirective",
    "TextDirective",
    "ToolDirective",
    "parse",
]

MAX_STALL_SECONDS = 3600.0
MAX_DRIP_SECONDS = 60.0

TextKind = Literal["say", "echo-system", "echo-tools", "echo-model", "history"]

_OPEN = re.compile(
    r"\[\[\s*(tool|loop|echo-system|echo-tools|echo-model|history|error|stall|drip|say)"
)
_CLOSE = re.compile(r"\s*\]\]")
_NAME = re.compile(r"\s+([A-Za-z0-9_.:@/-]+)")
_ERROR = re.compile(r"\s+(\d{3})(?:\s+(\d{1,6}))?\s*\]\]")
_STALL = re.compile(r"\s+(\d{1,9}(?:\.\d{1,9})?)\s*\]\]")
_SAY = re.compile(r"\s(.*?)\]\]", re.DOTALL)


def strict_float(text: str) -> float:
    """Parse a JSON number as float, refusing values JSON cannot carry (inf from ``1e999``)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def no_constants(text: str) -> float:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON."""
    raise ValueError(f"not JSON: {text}")


_DECODER = json.JSONDecoder(parse_float=strict_float, parse_constant=no_constants)


@dataclass(frozen=True)
class ToolDirective:
    """A ``[[tool ...]]`` or ``[[loop ...]]`` directive."""

    name: str
    input: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextDirective:
    """A directive whose answer is text: ``say``, ``echo-*`` or ``history``."""

    kind: TextKind
    text: str = ""


@dataclass(frozen=True)
class ErrorDirective:
    """An ``[[error STATUS [N]]]`` directive; ``times`` is None for "always"."""

    status: int
    times: int | None = None


@dataclass(frozen=True)
class Directives:
    """Everything found in one prompt, in order of appearance."""

    tools: tuple[ToolDirective, ...] = ()
    loop: ToolDirective | None = None
    texts: tuple[TextDirective, ...] = ()
    error: ErrorDirective | None = None
    stall: float = 0.0
    drip: float = 0.0

    @property
    def empty(self) -> bool:
        """True when the prompt holds no directive at all."""
        return not (self.tools or self.loop or self.texts or self.error or self.stall or self.drip)


def parse(text: str) -> Directives:
    """Find the directives in ``text``; malformed ones are ignored as plain text.

    Args:
        text: The prompt (any string).

    Returns:
        The directives found. The first ``loop``, ``error``, ``stall`` and ``drip`` win;
        ``tool`` and text directives accumulate in order.
    """
    if not isinstance(text, str) or "[[" not in text:
        return Directives()
    tools: list[ToolDirective] = []
    texts: list[TextDirective] = []
    loop: ToolDirective | None = None
    error: ErrorDirective | None = None
    stall = drip = 0.0
    pos = 0
    while True:
        match = _OPEN.search(text, pos)
        if match is None:
            break
        keyword, end = match.group(1), match.end()
        parsed = _parse_one(keyword, text, end)
        if parsed is None:
            pos = match.start() + 2
            continue
        item, pos = parsed
        if isinstance(item, ToolDirective):
            if keyword == "tool":
                tools.append(item)
            elif loop is None:
                loop = item
        elif isinstance(item, TextDirective):
            texts.append(item)
        elif isinstance(item, ErrorDirective):
            error = error or item
        elif keyword == "drip":
            drip = drip or item
        elif not stall:
            stall = item
    return Directives(tuple(tools), loop, tuple(texts), error, stall, drip)


_Item = ToolDirective | TextDirective | ErrorDirective | float


def _parse_one(keyword: str, text: str, pos: int) -> tuple[_Item, int] | None:
    """Parse the rest of one directive after its keyword; None when malformed."""
    if keyword in ("tool", "loop"):
        return _parse_tool(text, pos)
    if keyword == "error":
        m = _ERROR.match(text, pos)
        if m is None or not 400 <= int(m.group(1)) <= 599:
            return None
        times = int(m.group(2)) if m.group(2) is not None else None
        return ErrorDirective(int(m.group(1)), times), m.end()
    if keyword in ("stall", "drip"):
        m = _STALL.match(text, pos)
        if m is None:
            return None
        limit = MAX_STALL_SECONDS if keyword == "stall" else MAX_DRIP_SECONDS
        return min(float(m.group(1)), limit), m.end()
    if keyword == "say":
        m = _SAY.match(text, pos)
        if m is None or not m.group(1).strip():
            return None
        return TextDirective("say", m.group(1).strip()), m.end()
    m = _CLOSE.match(text, pos)
    if m is None:
        return None
    return TextDirective(keyword), m.end()  # type: ignore[arg-type]


def _parse_tool(text: str, pos: int) -> tuple[ToolDirective, int] | None:
    """Parse ``NAME [{json}]]]`` of a tool or loop directive."""
    m = _NAME.match(text, pos)
    if m is None:
        return None
    name, pos = m.group(1), m.end()
    tool_input: dict[str, Any] = {}
    stripped = len(text) - len(text[pos:].lstrip())
    if text.startswith("{", stripped):
        try:
            value, pos = _DECODER.raw_decode(text, stripped)
        except (ValueError, RecursionError):
            return None
        if not isinstance(value, dict):
            return None
        tool_input = value
    close = _CLOSE.match(text, pos)
    if close is None:
        return None
    return ToolDirective(name, tool_input), close.end()
