"""``agentcontainers dev-model``: the command module and the real server process."""

from __future__ import annotations

import argparse
import signal
import socket
from pathlib import Path

import httpx
import pytest

from agentcontainers.cli import dev_model
from agentcontainers.devmodel.server import url_of
from tests.fixtures.devmodel import DevModel, start_dev_model, stop_dev_model


def test_command_module_convention() -> None:
    assert isinstance(dev_model.HELP, str)
    assert "\n" not in dev_model.HELP
    assert "stand-in" in dev_model.HELP
    parser = argparse.ArgumentParser()
    dev_model.add_arguments(parser)
    args = parser.parse_args(["--host", "::1", "--port", "0"])
    assert (args.host, args.port, args.log_level) == ("::1", 0, "warning")
    defaults = parser.parse_args([])
    assert (defaults.host, defaults.port) == ("127.0.0.1", 8765)


def test_url_of_brackets_ipv6() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert url_of("127.0.0.1", sock) == f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert url_of("::1", sock).startswith("http://[::1]:")


@pytest.mark.e2e
def test_server_says_what_it_is_and_answers(dev_model: DevModel) -> None:
    assert "stand-in for the Anthropic Messages API, not Claude" in dev_model.log.read_text()
    response = httpx.post(
        f"{dev_model.url}/v1/messages",
        json={
            "model": "m",
            "max_tokens": 10,
            "tools": [],
            "messages": [{"role": "user", "content": "[[say hi]]"}],
        },
    )
    assert response.status_code == 200
    assert response.headers["x-dev-model"] == "stand-in"
    assert response.json()["content"] == [{"type": "text", "text": "hi"}]


@pytest.mark.e2e
def test_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    server = start_dev_model(tmp_path / "stderr.log")
    try:
        assert httpx.get(f"{server.url}/api/hello").status_code == 200
        server.process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert server.process.wait(timeout=10) in (0, -signal.SIGTERM)
    finally:
        stop_dev_model(server.process)
    assert "Traceback" not in server.log.read_text()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/hello")


@pytest.mark.e2e
def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        with pytest.raises(RuntimeError, match=r"cannot listen on 127\.0\.0\.1"):
            start_dev_model(tmp_path / "stderr.log", "--port", port)
