"""The real Claude Code CLI (the bundled binary) against the dev model on a real socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.devmodel import DevModel, run_claude

pytestmark = pytest.mark.e2e


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_plain_prompt_is_answered(cli_env: dict[str, str], workdir: Path) -> None:
    result = run_claude("who are you", cli_env, cwd=workdir)
    assert result["is_error"] is False, result
    assert result["subtype"] == "success"
    assert "AgentContainers dev model" in result["result"]
    assert "“who are you”" in result["result"]
    assert result["usage"]["input_tokens"] > 100
    assert result["usage"]["output_tokens"] > 10


def test_persona_system_prompt_is_named(cli_env: dict[str, str], workdir: Path) -> None:
    result = run_claude(
        "who are you", cli_env, "--system-prompt", "You are Clarice, a librarian.", cwd=workdir
    )
    assert result["result"].startswith("Speaking as Clarice: "), result["result"]


def test_tool_directive_runs_bash_for_real(cli_env: dict[str, str], workdir: Path) -> None:
    prompt = 'make it [[tool Bash {"command": "echo made-by-bash > made.txt && cat made.txt"}]]'
    result = run_claude(prompt, cli_env, "--allowedTools", "Bash", cwd=workdir)
    assert result["is_error"] is False, result
    assert (workdir / "made.txt").read_text() == "made-by-bash\n"
    assert result["result"] == "tool Bash returned: made-by-bash"
    assert result["num_turns"] == 2


def test_tools_run_in_sequence(cli_env: dict[str, str], workdir: Path) -> None:
    prompt = (
        '[[tool Bash {"command": "echo 1 > n.txt"}]] '
        '[[tool Bash {"command": "echo 2 >> n.txt && cat n.txt"}]] [[say all done]]'
    )
    result = run_claude(prompt, cli_env, "--allowedTools", "Bash", cwd=workdir)
    assert result["result"].splitlines()[1:] == ["tool Bash returned: 1", "2", "all done"]
    assert result["result"].startswith("tool Bash returned: ")
    assert result["num_turns"] == 3


def test_unavailable_tool_is_reported_verbatim(cli_env: dict[str, str], workdir: Path) -> None:
    result = run_claude('[[tool NoSuchTool {"a": 1}]]', cli_env, cwd=workdir)
    assert result["is_error"] is False
    assert result["result"].startswith("tool NoSuchTool failed: ")
    assert "No such tool available: NoSuchTool" in result["result"]


def test_denied_tool_is_reported(cli_env: dict[str, str], workdir: Path) -> None:
    result = run_claude('[[tool Bash {"command": "touch denied.txt"}]]', cli_env, cwd=workdir)
    assert result["result"].startswith("tool Bash failed: ")
    assert not (workdir / "denied.txt").exists()
    assert [d["tool_name"] for d in result["permission_denials"]] == ["Bash"]


def test_loop_hits_max_turns(cli_env: dict[str, str], workdir: Path) -> None:
    result = run_claude(
        '[[loop Bash {"command": "echo again"}]]',
        cli_env,
        "--allowedTools",
        "Bash",
        "--max-turns",
        "2",
        cwd=workdir,
    )
    assert result["is_error"] is True
    assert result["subtype"] == "error_max_turns"


def test_echo_system_and_tools(cli_env: dict[str, str], workdir: Path) -> None:
    system = run_claude(
        "[[echo-system]]", cli_env, "--append-system-prompt", "You are Clarice.", cwd=workdir
    )
    assert system["result"].rstrip().endswith("You are Clarice.")
    tools = run_claude("[[echo-tools]]", cli_env, "--tools", "Bash,Read", cwd=workdir)
    assert set(tools["result"].split(", ")) >= {"Bash", "Read"}
    assert "Write" not in tools["result"]


def test_echo_model(cli_env: dict[str, str], workdir: Path) -> None:
    result = run_claude("[[echo-model]]", cli_env, "--model", "claude-sonnet-4-5", cwd=workdir)
    assert result["result"] == "claude-sonnet-4-5"


@pytest.mark.parametrize("status", [429, 529, 500])
def test_error_directive_fails_the_run(cli_env: dict[str, str], workdir: Path, status: int) -> None:
    env = {**cli_env, "CLAUDE_CODE_MAX_RETRIES": "0"}
    result = run_claude(f"[[error {status}]]", env, cwd=workdir)
    assert result["is_error"] is True
    assert result["api_error_status"] == status
    assert f"[[error {status}]]" in result["result"]


def test_error_with_a_count_is_retried_away(cli_env: dict[str, str], workdir: Path) -> None:
    env = {**cli_env, "CLAUDE_CODE_MAX_RETRIES": "2"}
    result = run_claude("[[error 529 1]] [[say second try]]", env, cwd=workdir)
    assert result["is_error"] is False, result
    assert result["result"] == "second try"


def test_stall_delays_the_answer(cli_env: dict[str, str], workdir: Path) -> None:
    result = run_claude("[[stall 1]] [[say late]]", cli_env, cwd=workdir)
    assert result["result"] == "late"
    assert result["duration_api_ms"] >= 1000


def test_resumed_session_reaches_the_model_with_earlier_turns(
    cli_env: dict[str, str], workdir: Path
) -> None:
    first = run_claude("first prompt", cli_env, cwd=workdir)
    second = run_claude(
        "second prompt [[history]]", cli_env, "--resume", first["session_id"], cwd=workdir
    )
    assert second["session_id"] == first["session_id"]
    assert second["result"] == "turns: 2\n1: first prompt\n2: second prompt [[history]]"


def test_requests_are_recorded(dev_model: DevModel, cli_env: dict[str, str], workdir: Path) -> None:
    result = run_claude("[[say recorded]]", cli_env, cwd=workdir)
    mine = dev_model.requests("/v1/messages", session=result["session_id"])
    assert len(mine) == 1
    assert dev_model.requests(limit=1)[-1] == mine[0]
    record = mine[0]
    assert record["prompt"] == "[[say recorded]]"
    assert record["stream"] is True
    assert "Bash" in record["tools"]
    assert "x-api-key" not in record["headers"]
    assert record["model"] == result["modelUsage"].popitem()[0]
