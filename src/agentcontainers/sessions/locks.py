"""Per-session locks so two turns of one session never interleave (one machine: flock)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from agentcontainers.errors import SessionBusy


@contextlib.contextmanager
def session_lock(lock_dir: Path, session_id: str) -> Iterator[None]:
    """Hold the session's lock for the block, or raise :class:`SessionBusy` at once.

    ``flock`` locks die with their process, so a crashed run never leaves a session stuck.
    """
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / f"{session_id}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SessionBusy(
                f"session {session_id} is busy: another turn is running; retry when it ends"
            ) from None
        yield
    finally:
        os.close(fd)
