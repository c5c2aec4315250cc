"""Process liveness on the local machine, robust to zombies and pid reuse (Linux /proc when present)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def start_token(pid: int) -> str | None:
    """The process start time from /proc (None where /proc is absent): tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counted after the ")" that closes the command name.
    return stat.rsplit(")", 1)[1].split()[19]


def is_alive(pid: int, token: str | None = None) -> bool:
    """True while ``pid`` runs (not a zombie) and, given a token, is still the same process."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own finished child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: signal 0 is all we can know
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return False
    return token is None or fields[19] == token
