"""One writer per run folder: an exclusive OS-level lock, held while a sweep or resume runs.

`flock` on `<run>/.lock`: the kernel drops it when the process ends, however it ends (a
`kill -9` included), so there is never a stale lock to clean up. The holder writes its
pid, host and start time into the file, so a refused writer can say who holds it, and
removes the file when it lets go (a killed holder leaves the file, not the lock). Because
the file may be removed, a new holder checks that the file it locked is still the one at
that path, and tries again if not.
Readers (`show`, `compare`, `plot`) take no lock: every file is replaced atomically, so
they never see half a write. Written by hand rather than with `filelock` (which torch
installs): its Unix lock opens the file with O_TRUNC, so a refused writer would wipe the
holder's pid before it could read it.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from actbench.errors import ActbenchError

try:
    import fcntl
except ImportError:  # Windows: no flock; a run folder is not locked there
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"


class RunLock:
    """`acquire()` when a writer starts, `release()` when it is done (a sweep holds it from
    creating or reopening its folder to its last write)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        if fcntl is None or self._fd is not None:
            return self
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise ActbenchError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                raise ActbenchError(
                    f"run folder {self.path.parent} is being written by {holder}; wait for it "
                    "to finish (or stop it), or pick another --name"
                ) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # its holder removed it as we opened it: lock the new one
        os.ftruncate(fd, 0)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        }
        os.write(fd, (json.dumps(info) + "\n").encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # while still held: see the module docstring
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _holder(fd: int) -> str:
    """'pid 123 on host vm (since ...)', from what the holder wrote."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"pid {info['pid']} on host {info['host']} (since {info['since']})"
    except (OSError, ValueError, KeyError):
        return "another process"
