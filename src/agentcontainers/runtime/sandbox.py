"""What the agent process can see of the machine: a bubblewrap sandbox when one can be made.

Claude Code's Bash tool runs whatever the model asks, as the service's own user. The agent's
environment is already built from an allowlist (:mod:`agentcontainers.policy`), but a process
of the same user can read more than its environment: ``/proc/<service pid>/environ`` holds
every secret the service was started with, and the state directory holds every other
session's transcript, the session index and the assistant's memory.

``bwrap`` (bubblewrap, the sandbox Flatpak uses) closes both. The agent gets:

- its own PID namespace and ``/proc``: the service and every other process are invisible,
  and when the CLI's process tree ends, nothing of it survives (the namespace dies with it);
- a read-only view of the file system but ``/tmp``, and an empty state directory with only
  its own workspace and its own transcripts mounted back writable; the persona directory
  stays read-only;
- no capabilities, even when the service runs as root.

Where bubblewrap cannot run (no ``bwrap``, or a container without user namespaces; AWS
Lambda is one), ``auto`` runs the CLI as before, and :func:`protect_service_process` still
makes the service's own ``/proc`` files unreadable to other processes of its user (a
non-root service, as in the image and on Lambda). ``AGENTCONTAINERS_SANDBOX=bwrap`` makes the
sandbox a requirement instead; ``none`` turns it off.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from pathlib import Path

from agentcontainers.errors import ConfigError

log = logging.getLogger(__name__)

_BASE = ("--die-with-parent", "--unshare-pid", "--unshare-ipc", "--cap-drop", "ALL")
# /tmp stays the machine's, writable: tools hand files to the operator there, as without a
# sandbox (the agent's own TMPDIR is in its workspace; the state directory is hidden anyway).
_VIEW = ("--ro-bind", "/", "/", "--bind", "/tmp", "/tmp", "--proc", "/proc", "--dev", "/dev")


@functools.cache
def _working_bwrap() -> str | None:
    """The ``bwrap`` binary when it can build this sandbox here; checked once per process."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    try:
        probe = subprocess.run(
            [bwrap, *_BASE, *_VIEW, "--", "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("bubblewrap cannot run here (%s): agents run without a sandbox", exc)
        return None
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip() or f"exit {probe.returncode}"
        log.warning("bubblewrap cannot run here (%s): agents run without a sandbox", reason)
        return None
    return bwrap


def sandbox_command(mode: str) -> str | None:
    """The ``bwrap`` to wrap agent processes with under ``mode`` (``auto``, ``bwrap`` or
    ``none``, as :class:`~agentcontainers.settings.Settings` validated it), or None.

    Raises:
        ConfigError: ``mode`` is ``bwrap`` and bubblewrap cannot run here.
    """
    if mode == "none":
        return None
    bwrap = _working_bwrap()
    if bwrap is None and mode == "bwrap":
        raise ConfigError(
            "AGENTCONTAINERS_SANDBOX=bwrap, but bubblewrap cannot run here "
            "(install the bubblewrap package; containers need user namespaces)"
        )
    return bwrap


def wrap(
    bwrap: str,
    argv: list[str],
    *,
    cwd: Path,
    writable: list[Path],
    read_only: list[Path],
    hidden: list[Path],
) -> list[str]:
    """``argv`` run in the sandbox: the file system read-only, ``hidden`` directories empty,
    ``read_only`` and ``writable`` paths (which may lie inside hidden ones) mounted back."""
    command = [bwrap, *_BASE, *_VIEW]
    for path in hidden:
        if path.is_dir():
            command += ["--tmpfs", str(path)]
    for path in read_only:
        if path.exists():
            command += ["--ro-bind", str(path), str(path)]
    for path in writable:
        command += ["--bind", str(path), str(path)]
    return [*command, "--chdir", str(cwd), "--", *argv]


def protect_service_process() -> None:
    """Make this process's ``/proc`` files (``environ``, ``mem``) unreadable to other processes
    of its user, such as an agent's tools: ``prctl(PR_SET_DUMPABLE, 0)``. Root keeps access
    (``CAP_SYS_PTRACE``), which is why the sandbox matters when the service runs as root.
    Also disables core dumps of this process, which would hold the same secrets."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):  # not Linux
        return
