"""Personas: a directory with a small manifest beside Claude Code's own files.

```
my-agent/
├── agent.toml          name, description, prompt, model, tools, MCP servers, limits, env
├── CLAUDE.md           the persona's instructions (folded into its system prompt)
├── agents/*.md         subagents (YAML front matter: name, description, tools, model)
└── skills/<name>/SKILL.md
```

The directory is read-only to the agent: it is never its working directory.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcontainers.errors import ConfigError

MANIFEST = "agent.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)
_KNOWN_KEYS = {
    "name", "description", "system_prompt", "append_system_prompt", "model", "tools",
    "mcp_servers", "max_turns", "max_budget_usd", "env", "env_allow",
}  # fmt: skip

DEFAULT_TOOLS = (
    "Bash", "Read", "Write", "Edit", "Glob", "Grep", "WebFetch", "WebSearch", "TodoWrite", "Task",
)  # fmt: skip


@dataclass(frozen=True)
class Subagent:
    """A Claude Code subagent (``agents/<name>.md``)."""

    name: str
    description: str
    prompt: str
    tools: tuple[str, ...] | None = None
    model: str | None = None

    def definition(self) -> dict[str, Any]:
        """The entry for Claude Code's ``--agents`` JSON."""
        entry: dict[str, Any] = {"description": self.description, "prompt": self.prompt}
        if self.tools is not None:
            entry["tools"] = list(self.tools)
        if self.model:
            entry["model"] = self.model
        return entry


@dataclass(frozen=True)
class Agent:
    """A persona, loaded from its directory."""

    name: str
    description: str
    path: Path
    instructions: str = ""
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    model: str | None = None
    tools: tuple[str, ...] = DEFAULT_TOOLS
    mcp_servers: tuple[str, ...] = ()
    max_turns: int | None = None
    max_budget_usd: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    env_allow: tuple[str, ...] = ()
    subagents: tuple[Subagent, ...] = ()

    @property
    def skills_dir(self) -> Path | None:
        """The persona's skills folder, when it has one."""
        skills = self.path / "skills"
        return skills if skills.is_dir() else None

    def summary(self) -> dict[str, Any]:
        """What ``agentcontainers agents`` and ``GET /v1/agents`` show."""
        return {
            "name": self.name,
            "description": self.description,
            "model": self.model,
            "tools": list(self.tools),
            "mcp_servers": list(self.mcp_servers),
            "subagents": [s.name for s in self.subagents],
            "skills": sorted(p.name for p in self.skills_dir.iterdir() if p.is_dir())
            if self.skills_dir
            else [],
            "max_turns": self.max_turns,
            "max_budget_usd": self.max_budget_usd,
        }


def load_persona(path: Path) -> Agent:
    """Load the persona in ``path``.

    Raises:
        ConfigError: naming the file and the problem.
    """
    manifest_path = path / MANIFEST
    try:
        manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is not a persona: {MANIFEST} is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{manifest_path}: {exc}") from None
    unknown = set(manifest) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{manifest_path}: unknown keys {sorted(unknown)}")
    name = manifest.get("name", path.name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{manifest_path}: name must be lower-case letters, digits, - or _")
    if manifest.get("system_prompt") and manifest.get("append_system_prompt"):
        raise ConfigError(f"{manifest_path}: set system_prompt or append_system_prompt, not both")
    claude_md = path / "CLAUDE.md"
    try:
        return Agent(
            name=name,
            description=_str(manifest, "description", manifest_path) or "",
            path=path.resolve(),
            instructions=claude_md.read_text(encoding="utf-8") if claude_md.is_file() else "",
            system_prompt=_str(manifest, "system_prompt", manifest_path),
            append_system_prompt=_str(manifest, "append_system_prompt", manifest_path),
            model=_str(manifest, "model", manifest_path),
            tools=tuple(_str_list(manifest, "tools", manifest_path, DEFAULT_TOOLS)),
            mcp_servers=tuple(
                n.lower() for n in _str_list(manifest, "mcp_servers", manifest_path, ())
            ),
            max_turns=_positive(manifest, "max_turns", int, manifest_path),
            max_budget_usd=_positive(manifest, "max_budget_usd", float, manifest_path),
            env=_str_map(manifest, "env", manifest_path),
            env_allow=tuple(_str_list(manifest, "env_allow", manifest_path, ())),
            subagents=tuple(_load_subagent(p) for p in sorted(path.glob("agents/*.md"))),
        )
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read persona files: {exc}") from None


def _load_subagent(path: Path) -> Subagent:
    text = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ConfigError(f"{path}: a subagent file starts with front matter (--- ... ---)")
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition(":")
            if not sep:
                raise ConfigError(f"{path}: front matter line {line!r} is not 'key: value'")
            meta[key.strip()] = value.strip().strip("'\"")
    if not meta.get("name") or not meta.get("description"):
        raise ConfigError(f"{path}: front matter needs name and description")
    tools = meta.get("tools")
    return Subagent(
        name=meta["name"],
        description=meta["description"],
        prompt=match.group(2).strip(),
        tools=tuple(t.strip() for t in tools.split(",") if t.strip()) if tools else None,
        model=meta.get("model") or None,
    )


def _str(manifest: dict[str, Any], key: str, where: Path) -> str | None:
    value = manifest.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    return value or None


def _str_list(
    manifest: dict[str, Any], key: str, where: Path, default: tuple[str, ...]
) -> list[str]:
    value = manifest.get(key)
    if value is None:
        return list(default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def _str_map(manifest: dict[str, Any], key: str, where: Path) -> dict[str, str]:
    value = manifest.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: [{key}] must map names to strings")
    return dict(value)


def _positive(manifest: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = manifest.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: {key} must be a positive number")
    return kind(value)
