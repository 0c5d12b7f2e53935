"""A child process started with :class:`subprocess.Popen`, driven from an anyio event loop.

Why not ``anyio.open_process``: it can only start a process from inside a running event loop,
and the one-shot CLI wants the agent's CLI booting before the loop's own imports (``asyncio``
and anyio's backend, about 30 ms) are paid. Starting every process this one way keeps one code
path for all ingresses. The pipes are non-blocking and awaited with
:func:`anyio.wait_readable` / :func:`anyio.wait_writable`; the exit is awaited on a pidfd.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from typing import IO, Any

import anyio

_CHUNK = 65536


class _PipeEnd:
    """Our end of a pipe to the child, non-blocking."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        os.set_blocking(pipe.fileno(), False)

    def _fileno(self) -> int:
        if self._pipe.closed:
            raise anyio.ClosedResourceError
        return self._pipe.fileno()

    async def aclose(self) -> None:
        """Close this end (for stdin: the child reads end of file)."""
        self._pipe.close()


class PipeReader(_PipeEnd):
    """The child's stdout, as an anyio byte receive stream (``receive``, ``EndOfStream``)."""

    async def receive(self, max_bytes: int = _CHUNK) -> bytes:
        """The next bytes the child wrote.

        Raises:
            anyio.EndOfStream: the child closed its end.
            anyio.ClosedResourceError: this end was closed.
        """
        while True:
            try:
                data = os.read(self._fileno(), max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self._fileno())
                continue
            if not data:
                raise anyio.EndOfStream
            return data


class PipeWriter(_PipeEnd):
    """The child's stdin, as an anyio byte send stream (``send``, ``aclose``)."""

    async def send(self, data: bytes) -> None:
        """Write all of ``data``.

        Raises:
            anyio.BrokenResourceError: the child closed its end.
            anyio.ClosedResourceError: this end was closed.
        """
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fileno(), view)
            except BlockingIOError:
                await anyio.wait_writable(self._fileno())
                continue
            except BrokenPipeError as exc:
                raise anyio.BrokenResourceError from exc
            view = view[written:]


class ChildProcess:
    """A started child with piped stdin and stdout: ``pid``, ``returncode``, ``wait()``."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        assert popen.stdin is not None and popen.stdout is not None
        self._popen = popen
        self.pid = popen.pid
        self.stdin = PipeWriter(popen.stdin)
        self.stdout = PipeReader(popen.stdout)
        self._pidfd: int | None = None

    @classmethod
    def start(cls, argv: list[str], **options: Any) -> ChildProcess:
        """``Popen(argv, stdin=PIPE, stdout=PIPE, **options)``; works with or without a
        running event loop."""
        return cls(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **options))

    @property
    def returncode(self) -> int | None:
        """The exit status once the child has ended (and been reaped), else None."""
        return self._popen.poll()

    async def wait(self) -> int:
        """Wait for the child to end; its exit status."""
        while (code := self._popen.poll()) is None:
            if self._pidfd is None:
                try:
                    self._pidfd = os.pidfd_open(self.pid)
                except (AttributeError, OSError):  # not Linux 5.3+: poll
                    self._pidfd = -1
            if self._pidfd >= 0:
                await anyio.wait_readable(self._pidfd)  # readable once the child has exited
            else:
                await anyio.sleep(0.05)
        return code

    async def aclose(self) -> None:
        """Close the pipes and wait for the child to end."""
        await self.stdin.aclose()
        await self.stdout.aclose()
        try:
            await self.wait()
        finally:
            if self._pidfd is not None and self._pidfd >= 0:
                with contextlib.suppress(OSError):
                    os.close(self._pidfd)
                self._pidfd = None
