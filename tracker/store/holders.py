"""Who holds a lease, and whether that process is provably gone (tracker/store/leases.py explains why). Standard
library only: the store's fast path (tracker/store/fastpath.py) asks it too, without SQLAlchemy."""

import functools
import hashlib
import os
import socket
import uuid
from pathlib import Path

PROC = Path("/proc")


def holder_id() -> str:
    """Who holds a lease, as people read it: `host:pid:token`, a token unique to this holder; then, where this
    process can be probed, `:place.start` (see the module docstring): `vc01:4242:0badc0de:5e6f7a8b.183502`."""
    held = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    place, started = _place(), _started(os.getpid())
    return f"{held}:{place}.{started[1]}" if place and started else held


def gone(holder: str) -> bool:
    """The holder is a process of this host that no longer runs (exited, killed, a zombie, or its PID reused).
    False whenever that cannot be known for sure: a holder elsewhere, or an id without a place and start time."""
    parts = holder.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    place, _, started = parts[3].partition(".")
    pid = int(parts[1])
    if pid <= 0 or place != _place() or not started.isdigit():
        return False  # pid 0 or -1 would be a process group to os.kill; another place cannot be probed from here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, as another user
    now = _started(pid)
    return now is None or now[0] in ("Z", "X") or now[1] != int(started)


@functools.cache
def _place() -> str | None:
    """Where a process id means one process: this boot of this machine, this PID namespace (a container's
    PIDs are its own, and two machines can share a host name). None where /proc does not tell."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = os.readlink(PROC / "self/ns/pid")
    except OSError:
        return None
    return hashlib.sha256(f"{boot}/{namespace}".encode()).hexdigest()[:8]


def _started(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of a process, from /proc/PID/stat; None when it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after "pid (comm)": the name may hold spaces and parentheses
    return fields[0], int(fields[19])  # fields 3 and 22 of proc(5)
