"""A session's transcript, read from Claude Code's JSONL file into plain messages.

Each entry is ``{"role": "user" | "assistant", "timestamp"?, one of "text" | "tool_use" |
"tool_result"}``, one per content block, oldest first. Claude Code's bookkeeping lines
(attachments, API request records, summaries), subagent side chains and meta messages are left
out, and so are the ``<system-reminder>`` blocks it inserts into prompts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)
MAX_TOOL_TEXT = 20_000


def read_transcript(path: Path) -> list[dict[str, Any]]:
    """The messages of the JSONL transcript at ``path`` (empty when there is none yet)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    entries: list[dict[str, Any]] = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line being written, or damage: skip it
        if isinstance(record, dict):
            entries.extend(messages_of(record))
    return entries


def messages_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The transcript entries of one JSONL record (none for bookkeeping records)."""
    role = record.get("type")
    if role not in ("user", "assistant") or record.get("isSidechain") or record.get("isMeta"):
        return []
    message = record.get("message")
    if not isinstance(message, dict):
        return []
    stamp = {"timestamp": record["timestamp"]} if isinstance(record.get("timestamp"), str) else {}
    content = message.get("content")
    if isinstance(content, str):
        text = _clean(content)
        return [{"role": role, **stamp, "text": text}] if text else []
    if not isinstance(content, list):
        return []
    entries = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            text = _clean(str(block.get("text") or ""))
            if text:
                entries.append({"role": role, **stamp, "text": text})
        elif kind == "tool_use":
            tool_use = {key: block.get(key) for key in ("id", "name", "input")}
            entries.append({"role": role, **stamp, "tool_use": tool_use})
        elif kind == "tool_result":
            tool_result = {
                "tool_use_id": block.get("tool_use_id"),
                "content": _tool_text(block.get("content"))[:MAX_TOOL_TEXT],
                "is_error": bool(block.get("is_error")),
            }
            entries.append({"role": role, **stamp, "tool_result": tool_result})
    return entries


def _clean(text: str) -> str:
    return _REMINDER.sub("", text).strip()


def _tool_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", "")) if part.get("type") == "text" else f"[{part.get('type')}]"
            for part in content
            if isinstance(part, dict)
        ]
        return "\n".join(parts).strip()
    return "" if content is None else json.dumps(content)
