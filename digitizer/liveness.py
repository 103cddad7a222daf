"""Is the process that claimed a step or wrote a temporary still there? (pids are reused)."""

from __future__ import annotations

import os
import time


def alive(pid: int | None, since: float | None) -> bool:
    """Whether process `pid` runs and could be the one that claimed a step or wrote a file
    at `since` (None: any time)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A reused pid belongs to a process that started after the claim was made; a zombie (a
    # killed worker nobody has reaped yet: an orphan under a container's init, say) is dead.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        if fields[0] in (b"Z", b"X"):
            return False
        start_ticks = int(fields[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        started = time.time() - uptime + start_ticks / os.sysconf("SC_CLK_TCK")
        return since is None or started <= since + 1.0
    except (OSError, ValueError, IndexError):
        return True
