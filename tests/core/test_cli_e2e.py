"""The core acceptance tests: the real ``agentcontainers run`` process, the real Claude Code
CLI, the dev model. Each test asserts what a user sees: the envelope, files, the model's input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.core.test_faults_e2e import agent_processes, wait_for

pytestmark = pytest.mark.e2e


def test_simple_prompt(run_cli):
    run = run_cli({"prompt": "who are you"})
    assert run.exit_code == 0
    assert run.status == 200
    body = run.body
    assert body["is_error"] is False
    assert body["type"] == "result" and body["subtype"] == "success"
    assert "who are you" in body["result"]
    assert body["agent"] == "tester"
    uuid.UUID(body["session_id"])
    for key in ("duration_ms", "duration_api_ms", "num_turns", "total_cost_usd", "usage"):
        assert key in body


def test_resume_continues_in_a_new_process(run_cli, dev_model):
    first = run_cli({"prompt": "remember the word alpaca"})
    session = first.body["session_id"]
    second = run_cli({"prompt": "[[history]]", "resume_session_id": session})
    assert second.status == 200, second.body
    assert second.body["session_id"] == session
    assert "remember the word alpaca" in second.body["result"]
    assert "turns: 2" in second.body["result"]


def test_seed_tool_lists_and_custom_env(run_cli, tmp_path):
    run = run_cli(
        {
            "prompt": '[[tool Bash {"command": "echo value=$CUSTOM_VAR"}]]',
            "allowed_tools": ["Read", "Bash"],
            "disallowed_tools": ["Write"],
            "env": {"CUSTOM_VAR": "v-42"},
        }
    )
    assert run.status == 200, run.body
    assert "value=v-42" in run.body["result"]


@pytest.mark.parametrize(
    "policy",
    [{"allowed_tools": ["Read"]}, {"disallowed_tools": ["Bash"]}],
    ids=["whitelist", "blacklist"],
)
def test_bash_outside_the_effective_tools_never_runs(run_cli, tmp_path, policy):
    target = tmp_path / "created-by-bash"
    command = json.dumps({"command": f"touch {target}"})
    run = run_cli({"prompt": f"[[tool Bash {command}]]", **policy})
    assert run.status == 200, run.body
    assert not target.exists()
    assert "tool Bash failed" in run.body["result"]
    assert "No such tool available: Bash" in run.body["result"]

    # the control: the same request without the policy creates the file
    allowed = run_cli({"prompt": f"[[tool Bash {command}]]"})
    assert allowed.status == 200 and target.exists(), allowed.body


def test_request_cannot_enable_a_tool_the_persona_lacks(run_cli):
    run = run_cli({"prompt": "[[echo-tools]]", "allowed_tools": ["Bash", "WebFetch", "Edit"]})
    offered = run.body["result"]
    assert "Bash" in offered
    assert "WebFetch" not in offered and "Edit" not in offered and "Read" not in offered


@pytest.mark.parametrize("key", ["ANTHROPIC_BASE_URL", "LD_PRELOAD", "PATH", "CLAUDE_CONFIG_DIR"])
def test_denied_env_keys_are_refused_by_name(run_cli, key, dev_model):
    dev_model.clear()
    run = run_cli({"prompt": "hi", "env": {key: "x"}})
    assert run.status == 400
    assert run.exit_code == 1
    assert key in run.body["error"]["message"]
    assert run.body["is_error"] is True
    assert run.body["subtype"] == "error_invalid_request"
    assert not [r for r in dev_model.requests() if r["path"].startswith("/v1/messages")]


def test_service_secrets_are_invisible_to_the_agent(run_cli):
    run = run_cli({"prompt": '[[tool Bash {"command": "env | sort"}]]'})
    assert run.status == 200, run.body
    result = run.body["result"]
    assert "PERSONA_VAR=from-persona" in result  # the tool really ran and printed the env
    assert "xoxb-service-secret-do-not-leak" not in result
    assert "SLACK_BOT_TOKEN" not in result
    assert "AGENTS_PATH" not in result and "STATE_DIR" not in result


def test_system_prompt_append_and_model_reach_the_model(run_cli, dev_model):
    run = run_cli({"prompt": "[[echo-system]]", "append_system_prompt": "APPENDED-MARKER-91"})
    system = run.body["result"]
    assert "PERSONA-MARKER-7f3a" in system and "TESTER-INSTRUCTIONS" in system
    assert "APPENDED-MARKER-91" in system

    replaced = run_cli(
        {"prompt": "[[echo-system]]", "append_system_prompt": "APPENDED-MARKER-92"},
        SYSTEM_PROMPT="OPERATOR-PROMPT-55",
    )
    system = replaced.body["result"]
    assert "OPERATOR-PROMPT-55" in system and "APPENDED-MARKER-92" in system
    assert "PERSONA-MARKER-7f3a" not in system

    model = run_cli({"prompt": "[[echo-model]]"}, MODEL="claude-operator-model")
    assert "claude-operator-model" in model.body["result"]
    chosen = run_cli({"prompt": "[[echo-model]]", "model": "claude-request-model"})
    assert "claude-request-model" in chosen.body["result"]


def test_max_turns_stops_a_looping_agent(run_cli):
    run = run_cli({"prompt": '[[loop Bash {"command": "echo again"}]]'}, MAX_TURNS="3")
    assert run.status == 200
    assert run.body["subtype"] == "error_max_turns"
    assert run.body["is_error"] is True
    # a request may lower the operator's limit, never raise it
    lowered = run_cli(
        {"prompt": '[[loop Bash {"command": "echo x"}]]', "max_turns": 2}, MAX_TURNS="3"
    )
    assert lowered.body["subtype"] == "error_max_turns" and lowered.body["num_turns"] <= 3
    raised = run_cli(
        {"prompt": '[[loop Bash {"command": "echo y"}]]', "max_turns": 50}, MAX_TURNS="2"
    )
    assert raised.body["subtype"] == "error_max_turns" and raised.body["num_turns"] <= 3


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        ("not json", 400, "not valid JSON"),
        ("[1, 2]", 400, "JSON object"),
        ("{}", 400, "'prompt' is required"),
        ('{"prompt": "   "}', 400, "'prompt'"),
        ('{"prompt": 7}', 400, "'prompt'"),
        ('{"prompt": "hi", "max_turns": "3"}', 400, "'max_turns'"),
        ('{"prompt": "hi", "allowed_tools": "Bash"}', 400, "'allowed_tools'"),
        ('{"prompt": "hi", "surprise": 1}', 400, "unknown field 'surprise'"),
        ('{"prompt": "hi", "resume_session_id": "../etc/passwd"}', 400, "'resume_session_id'"),
        ('{"prompt": "hi", "agent": "nobody"}', 404, "unknown agent 'nobody'"),
    ],
)
def test_bad_input_gets_a_clear_4xx(run_cli, raw, status, words):
    run = run_cli(raw)
    assert run.status == status, run.body
    assert run.exit_code == 1
    assert words in run.body["error"]["message"]
    assert run.body["is_error"] is True and run.body["result"]


def test_no_request_at_all_is_a_400_envelope(agent_env):
    proc = subprocess.run([sys.executable, "-m", "agentcontainers", "run"], capture_output=True,
                          text=True, env=agent_env, timeout=60)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    envelope = json.loads(proc.stdout)
    assert envelope["statusCode"] == 400
    assert "no request" in json.loads(envelope["body"])["error"]["message"]


def test_unknown_session_is_404(run_cli):
    run = run_cli({"prompt": "hi", "resume_session_id": str(uuid.uuid4())})
    assert run.status == 404
    assert "not found" in run.body["result"]


def test_prompt_over_the_size_limit_is_413(run_cli):
    run = run_cli({"prompt": "x" * 2000}, AGENTCONTAINERS_MAX_PROMPT_BYTES="1000")
    assert run.status == 413
    assert "over the limit" in run.body["error"]["message"]


def test_stdin_request_and_agent_flag(agent_env):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "agentcontainers", "run", "--agent", "tester", "-"],
        input='{"prompt": "from stdin"}',
        capture_output=True,
        text=True,
        env=agent_env,
        timeout=120,
    )
    envelope = json.loads(proc.stdout)
    assert proc.returncode == 0 and envelope["statusCode"] == 200
    assert "from stdin" in json.loads(envelope["body"])["result"]


def test_fs_shim_off_keeps_nothing(run_cli, clean_environ: Path):
    run = run_cli({"prompt": "ephemeral"}, FS_SHIM="0")
    assert run.status == 200
    again = run_cli(
        {"prompt": "[[history]]", "resume_session_id": run.body["session_id"]}, FS_SHIM="0"
    )
    assert again.status == 404
    assert not (clean_environ / "projects").exists()


def test_the_assistant_persona_brings_its_skills_and_subagents(run_cli, dev_model):
    dev_model.clear()
    run = run_cli({"prompt": "[[echo-tools]]", "agent": "assistant"}, AGENTS_PATH="")
    assert run.status == 200, run.body
    assert "Skill" in run.body["result"]
    sent = json.dumps([r for r in dev_model.requests() if r["path"].startswith("/v1/messages")])
    assert "weekly-plan" in sent  # the skill is offered to the model
    assert "meal-planner" in sent  # so is the subagent
    assert "You are Clarice" in sent


def test_clarice_remembers_a_todo_across_processes(run_cli, clean_environ):
    create = json.dumps({"title": "buy oat milk", "priority": 2, "created_by": "alex"})
    saved = run_cli(
        {"prompt": f"[[tool mcp__assistant__create_todo {create}]]", "agent": "assistant"}
    )
    assert saved.status == 200, saved.body
    assert "tool mcp__assistant__create_todo returned" in saved.body["result"], saved.body["result"]
    listed = run_cli({"prompt": "[[tool mcp__assistant__list_todos {}]]", "agent": "assistant"})
    assert listed.status == 200, listed.body
    assert "buy oat milk" in listed.body["result"]
    assert (clean_environ / "assistant.db").is_file()
    # The memory server starts in the process without taking over its logging.
    assert saved.stderr == listed.stderr == ""


def test_the_service_runs_without_fastmcp(agent_env, clean_environ):
    """fastmcp is a test dependency only: the image (no dev extra) has none. Blocked here, the
    assistant still starts its memory server and saves a todo."""
    request = {"prompt": '[[tool mcp__assistant__create_todo {"title": "no fastmcp"}]]',
               "agent": "assistant"}  # fmt: skip
    code = (
        "import sys; sys.modules['fastmcp'] = None\n"
        "from agentcontainers.cli import console\n"
        f"sys.argv = ['agentcontainers', 'run', {json.dumps(request)!r}]\n"
        "console()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=agent_env, timeout=120
    )
    body = json.loads(json.loads(proc.stdout)["body"])
    assert body["is_error"] is False, (body, proc.stderr)
    assert "create_todo returned" in body["result"] and "no fastmcp" in body["result"]


def test_mcp_tools_follow_the_request_lists(run_cli):
    hidden = run_cli({"prompt": "[[echo-tools]]", "agent": "assistant", "allowed_tools": ["Read"]})
    assert "mcp__assistant" not in hidden.body["result"]
    one = run_cli(
        {"prompt": "[[echo-tools]]", "agent": "assistant",
         "allowed_tools": ["Read", "mcp__assistant__list_todos"]}
    )  # fmt: skip
    offered = one.body["result"]
    assert "mcp__assistant__list_todos" in offered
    assert "mcp__assistant__create_todo" not in offered


def test_unknown_mcp_server_is_400(run_cli):
    run = run_cli({"prompt": "hi", "env": {"MCP_SERVERS": "nosuch"}})
    assert run.status == 400
    assert "nosuch" in run.body["error"]["message"]


def test_a_bad_operator_setting_is_named_not_a_traceback(run_cli):
    run = run_cli({"prompt": "hi"}, MAX_TURNS="lots")
    assert run.status == 500
    assert run.body["error"]["code"] == "config"
    assert "MAX_TURNS" in run.body["error"]["message"]


def test_files_the_agent_writes_do_not_change_its_next_run(run_cli, clean_environ):
    settings = json.dumps({"env": {"INJECTED_BY_AGENT": "yes"}, "permissions": {"allow": ["Edit"]}})
    # An adversarial agent hides the path from Claude Code's own guard on settings files.
    script = (
        "echo 'AGENT-WRITTEN-CLAUDE-MD' > CLAUDE.md; d=.cla; d=${d}ude; mkdir -p $d; "
        f"echo '{settings}' > $d/settings.json; cp $d/settings.json $d/settings.local.json; "
        "echo wrote"
    )
    first = run_cli({"prompt": f"[[tool Bash {json.dumps({'command': script})}]]"})
    assert "wrote" in first.body["result"], first.body
    session = first.body["session_id"]
    workspace = clean_environ / "workspaces" / session
    assert (workspace / "CLAUDE.md").is_file() and (workspace / ".claude/settings.json").is_file()
    echoed = run_cli({"prompt": "[[echo-system]]", "resume_session_id": session})
    assert echoed.status == 200, echoed.body
    assert "AGENT-WRITTEN-CLAUDE-MD" not in echoed.body["result"]
    probe = json.dumps({"command": "echo injected=${INJECTED_BY_AGENT:-no}"})
    env = run_cli({"prompt": f"[[tool Bash {probe}]]", "resume_session_id": session})
    assert "injected=no" in env.body["result"], env.body["result"]
    tools = run_cli({"prompt": "[[echo-tools]]", "resume_session_id": session})
    assert "Edit" not in tools.body["result"].split(", ")


def test_progress_on_stderr_keeps_stdout_to_the_envelope(run_cli):
    run = run_cli({"prompt": '[[tool Bash {"command": "echo step"}]]'}, "--progress", "always")
    assert run.status == 200
    lines = run.stderr.splitlines()
    assert any("starting agent 'tester'" in line for line in lines)
    assert any("tool  Bash" in line for line in lines)
    assert any("success · 2 turns" in line for line in lines)


def test_a_budget_stops_a_looping_agent(run_cli):
    loop = '[[loop Bash {"command": "echo again"}]]'
    run = run_cli({"prompt": loop, "max_budget_usd": 0.05})  # a turn costs about $0.03 here
    assert run.status == 200, run.body  # the run completed: it stopped early, by design
    assert run.exit_code == 1 and run.body["is_error"] is True
    assert run.body["subtype"] == "error_max_budget_usd"
    assert run.body["num_turns"] < 10


def test_a_second_turn_of_a_busy_session_is_409(agent_env, run_cli, clean_environ):
    first = run_cli({"prompt": "hello"})
    session = first.body["session_id"]
    slow = subprocess.Popen(
        [sys.executable, "-m", "agentcontainers", "run",
         json.dumps({"prompt": "[[stall 30]]", "resume_session_id": session})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=agent_env,
    )  # fmt: skip
    try:
        wait_for(lambda: agent_processes(clean_environ))  # the first turn holds the session
        busy = run_cli({"prompt": "me too", "resume_session_id": session})
        assert busy.status == 409, busy.body
        assert busy.body["error"]["code"] == "session_busy" and busy.body["session_id"] == session
    finally:
        slow.send_signal(signal.SIGTERM)
        slow.communicate(timeout=60)
    # once the first turn is over, the session takes turns again, whole
    again = run_cli({"prompt": "[[history]]", "resume_session_id": session})
    assert again.status == 200 and "hello" in again.body["result"], again.body


def test_demo_says_it_uses_the_dev_model_and_answers_as_clarice(clean_environ):
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
           "STATE_DIR": str(clean_environ)}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "agentcontainers", "demo"],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "DEV MODEL" in proc.stderr and "not Claude" in proc.stderr
    envelope = json.loads(proc.stdout)
    body = json.loads(envelope["body"])
    assert envelope["statusCode"] == 200 and body["agent"] == "assistant"
    assert "Clarice" in body["result"]
    assert "Traceback" not in proc.stderr


UPSTREAM_TOKEN = "everything-upstream-token-do-not-leak"


def test_an_upstream_mcp_server_through_the_one_shot_cli(run_cli, everything_upstream):
    """`${NAME}_HOST` + the request's MCP_SERVERS, end to end through `agentcontainers run`:
    the agent calls server-everything's tool through the gateway; a run without it cannot;
    the upstream's token reaches neither the agent's environment nor any process it can see."""
    operator = {"EVERYTHING_HOST": everything_upstream.url, "EVERYTHING_TOKEN": UPSTREAM_TOKEN}
    with_server = {"env": {"MCP_SERVERS": "everything"}}

    called = run_cli(
        {"prompt": '[[tool mcp__everything__echo {"message": "via the gateway"}]]', **with_server},
        **operator,
    )
    assert called.status == 200, called.body
    assert "Echo: via the gateway" in called.body["result"]

    without = run_cli({"prompt": '[[tool mcp__everything__echo {"message": "no"}]]'}, **operator)
    assert without.status == 200, without.body
    assert "No such tool available: mcp__everything__echo" in without.body["result"]

    scan = (
        f"env | grep -c {UPSTREAM_TOKEN}; for f in /proc/[0-9]*; do tr '\\0' '\\n' "
        f"< $f/environ 2>/dev/null | grep -q {UPSTREAM_TOKEN} && echo LEAK $f; done; echo scanned"
    )
    looked = run_cli(
        {"prompt": "[[tool Bash " + json.dumps({"command": scan}) + "]]", **with_server},
        **operator,
    )
    assert looked.status == 200, looked.body
    assert "scanned" in looked.body["result"] and "LEAK" not in looked.body["result"]
    assert looked.body["result"].split("returned: ", 1)[1].startswith("0")  # not in its env
