"""The README's configuration table lists every variable the service reads."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from agentcontainers.settings import Settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table():
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    variables = {f.metadata["env"] for f in dataclasses.fields(Settings) if "env" in f.metadata}
    # read outside Settings: the agent's locale, and where the state directory defaults to
    assert variables | {"LANG", "LC_ALL", "XDG_STATE_HOME"} <= documented
