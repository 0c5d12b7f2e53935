"""A local AWS Lambda Runtime API: what Lambda's own service answers inside a function.

It implements the runtime side of the protocol as AWS documents it ("Using the Lambda runtime
API for custom runtimes", API version 2018-06-01), so the real ``awslambdaric`` client, run by
the image's entrypoint with ``LAMBDA=true``, can be driven on a machine with no AWS:

- ``GET  /2018-06-01/runtime/invocation/next`` blocks until an invocation is queued, then
  answers 200 with the event as the body and the headers ``Lambda-Runtime-Aws-Request-Id``,
  ``Lambda-Runtime-Deadline-Ms``, ``Lambda-Runtime-Invoked-Function-Arn`` and
  ``Lambda-Runtime-Trace-Id`` (plus ``Lambda-Runtime-Client-Context`` and
  ``Lambda-Runtime-Cognito-Identity`` when given).
- ``POST /2018-06-01/runtime/invocation/{AwsRequestId}/response`` -> 202; an unknown request
  id -> 400; a payload over 6 MB (Lambda's synchronous limit) -> 413.
- ``POST /2018-06-01/runtime/invocation/{AwsRequestId}/error`` -> 202, with the
  request headers recorded (``Lambda-Runtime-Function-Error-Type`` when the client sends it).
- ``POST /2018-06-01/runtime/init/error`` -> 202; the runtime is expected to exit.

Usage::

    with LambdaRuntimeAPI() as api:
        env["AWS_LAMBDA_RUNTIME_API"] = api.address          # "127.0.0.1:PORT"
        ... start the runtime ...
        outcome = api.invoke({"prompt": "hi"}, timeout=60)  # waits for /response or /error
        assert outcome.kind == "response"
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_VERSION = "2018-06-01"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:agentcontainers"

_NEXT = f"/{API_VERSION}/runtime/invocation/next"
_INIT_ERROR = f"/{API_VERSION}/runtime/init/error"
_INVOCATION = re.compile(rf"^/{API_VERSION}/runtime/invocation/([^/]+)/(response|error)$")


@dataclass
class Outcome:
    """What the runtime posted back for one invocation."""

    request_id: str
    kind: str  # "response" or "error"
    body: bytes
    headers: dict[str, str]  # names in lower case

    def json(self) -> Any:
        """The posted payload, decoded."""
        return json.loads(self.body)


@dataclass
class _Invocation:
    request_id: str
    event: bytes
    headers: dict[str, str]
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime that is stopped mid-poll resets its connection: expected, not news.
        pass


class LambdaRuntimeAPI:
    """The Runtime API on 127.0.0.1, serving queued invocations one at a time."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._pending: queue.Queue[_Invocation] = queue.Queue()
        self._invocations: dict[str, _Invocation] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.init_errors: list[Outcome] = []
        self.next_polls = 0
        self._server = _QuietServer((host, port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> LambdaRuntimeAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LambdaRuntimeAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def enqueue(
        self,
        event: Any,
        *,
        deadline_s: float = 900.0,
        client_context: dict[str, Any] | None = None,
        cognito_identity: dict[str, Any] | None = None,
    ) -> str:
        """Queue an invocation whose payload is ``event`` (JSON-encoded unless bytes)."""
        request_id = str(uuid.uuid4())
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + deadline_s) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
            f"Parent={uuid.uuid4().hex[:16]};Sampled=0",
        }
        if client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = json.dumps(client_context)
        if cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = json.dumps(cognito_identity)
        invocation = _Invocation(request_id, body, headers)
        with self._lock:
            self._invocations[request_id] = invocation
        self._pending.put(invocation)
        return request_id

    def wait(self, request_id: str, timeout: float) -> Outcome:
        """The runtime's answer to ``request_id``; ``TimeoutError`` if none comes in time."""
        invocation = self._invocations[request_id]
        if not invocation.done.wait(timeout):
            raise TimeoutError(f"no response to invocation {request_id} within {timeout} s")
        assert invocation.outcome is not None
        return invocation.outcome

    def invoke(self, event: Any, *, timeout: float = 120.0, **options: Any) -> Outcome:
        """Queue ``event`` and wait for the runtime's response or error."""
        return self.wait(self.enqueue(event, **options), timeout)

    # --- HTTP side ------------------------------------------------------------------------------

    def _next_invocation(self) -> _Invocation | None:
        while not self._closing.is_set():
            try:
                return self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _complete(self, request_id: str, kind: str, body: bytes, headers: dict[str, str]) -> bool:
        with self._lock:
            invocation = self._invocations.get(request_id)
            if invocation is None or invocation.done.is_set():
                return False
            invocation.outcome = Outcome(request_id, kind, body, headers)
        invocation.done.set()
        return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, payload: dict[str, Any], **headers: str) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != _NEXT:
                    self._reply(404, {"errorMessage": f"unknown path {self.path}"})
                    return
                api.next_polls += 1
                invocation = api._next_invocation()
                if invocation is None:  # shutting down
                    self._reply(500, {"errorMessage": "runtime API is shutting down"})
                    return
                self.send_response(200)
                for name, value in invocation.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(invocation.event)))
                self.end_headers()
                self.wfile.write(invocation.event)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                if self.path == _INIT_ERROR:
                    api.init_errors.append(Outcome("", "init_error", body, headers))
                    self._reply(HTTPStatus.ACCEPTED, {"status": "OK"})
                    return
                match = _INVOCATION.match(self.path)
                if match is None:
                    self._reply(404, {"errorMessage": f"unknown path {self.path}"})
                    return
                request_id, kind = match.groups()
                if kind == "response" and len(body) > MAX_RESPONSE_BYTES:
                    api._complete(
                        request_id,
                        "error",
                        b'{"errorType": "Function.ResponseSizeTooLarge"}',
                        headers,
                    )
                    self._reply(
                        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        {
                            "errorMessage": "Response payload size exceeded maximum allowed "
                            f"payload size ({MAX_RESPONSE_BYTES} bytes).",
                            "errorType": "RequestEntityTooLarge",
                        },
                    )
                    return
                if not api._complete(request_id, kind, body, headers):
                    self._reply(
                        HTTPStatus.BAD_REQUEST,
                        {
                            "errorMessage": f"Invalid request ID: {request_id}",
                            "errorType": "InvalidRequestID",
                        },
                    )
                    return
                self._reply(HTTPStatus.ACCEPTED, {"status": "OK"})

        return Handler
