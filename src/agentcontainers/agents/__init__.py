"""Personas and where they are found: the built-in ones, then each ``AGENTS_PATH`` entry."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from agentcontainers.agents.persona import MANIFEST, Agent, Subagent, load_persona
from agentcontainers.errors import ConfigError, NotFound

BUILTIN_DIR = Path(__file__).parent / "builtin"

__all__ = ["BUILTIN_DIR", "Agent", "Subagent", "discover", "find_agent", "load_persona"]


def _candidates(dirs: Iterable[Path]) -> Iterable[Path]:
    for directory in dirs:
        if (directory / MANIFEST).is_file():
            yield directory
        elif directory.is_dir():
            yield from sorted(p for p in directory.iterdir() if (p / MANIFEST).is_file())
        else:
            raise ConfigError(f"AGENTS_PATH entry {directory} is not a directory")


def discover(extra_dirs: Iterable[Path] = ()) -> dict[str, Agent]:
    """All personas by name; a later directory overrides an earlier one of the same name."""
    agents: dict[str, Agent] = {}
    for path in _candidates([BUILTIN_DIR, *extra_dirs]):
        agent = load_persona(path)
        agents[agent.name] = agent
    return agents


def find_agent(name: str, extra_dirs: Iterable[Path] = ()) -> Agent:
    """The persona called ``name``, loading only what is needed to find it.

    Raises:
        NotFound: no persona of that name.
    """
    dirs = list(extra_dirs)
    # Most specific first: AGENTS_PATH overrides built-ins of the same name.
    for path in reversed(list(_candidates([BUILTIN_DIR, *dirs]))):
        if path.name == name:
            agent = load_persona(path)
            if agent.name == name:
                return agent
    agents = discover(dirs)
    if name in agents:
        return agents[name]
    known = ", ".join(sorted(agents)) or "none"
    raise NotFound(f"unknown agent '{name}' (known: {known})")
