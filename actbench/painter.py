"""A second core for a run's pictures: a forked process draws the two slowest pictures that
need no summary (health, the timeline) while this one draws the rest.

A sweep's last trial ends on one core: everything after it (the summary, five pictures in
matplotlib, the table) used to run in the parent alone, with every other core idle, and it
was the largest part of the default sweep's wall after its last step (the pictures took
about 4 s of it here, health.png 1.5-2 s). Matplotlib holds no state between figures here
(`plot.py` uses the object API), so a child drawing some of them writes the same bytes the
parent would.

Forks only on Linux (as the zygote does) and in a process with no other Python thread (a
Jupyter kernel's would be copied mid-lock); elsewhere, and for any picture the child did
not write, the parent draws it. The child runs no torch operator and leaves by `os._exit`,
so it neither flushes the parent's buffers nor runs its exit handlers.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from pathlib import Path
from types import TracebackType

from actbench import plot
from actbench.storage import RunFolder

AHEAD = (plot.HEALTH, plot.TIMELINE)  # drawn apart: about as long as the other three
PATIENCE = 120.0  # seconds to wait for the child's answer before drawing here instead


def forks() -> bool:
    """Whether pictures may be drawn in a forked child in this process."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class Painter:
    """`with Painter(folder) as apart:` a child draws `AHEAD` into `folder` meanwhile;
    `apart.drawn()` waits for it and says which files it wrote."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder, self.pid, self.reply, self._drawn = folder, 0, -1, []

    def __enter__(self) -> Painter:
        if not forks():
            return self
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            if stream is not None:
                stream.flush()
        reply, answer = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no memory or no process left for a child: the parent draws
            os.close(reply), os.close(answer)
            return self
        if pid == 0:
            os.close(reply)
            _draw_and_exit(self.folder, answer)
        os.close(answer)
        self.pid, self.reply = pid, reply
        return self

    def drawn(self) -> list[Path]:
        """The pictures the child wrote (none when there was no child, or it failed or took
        longer than `PATIENCE`: the caller draws those itself, and sees why)."""
        if not self.pid:
            return self._drawn
        ready, _, _ = select.select([self.reply], [], [], PATIENCE)
        names = _read_all(self.reply) if ready else None
        if names is None:  # hung (a lock a thread held at the fork): not waited for
            os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        self._close()
        if names is not None and os.waitstatus_to_exitcode(status) == 0:
            self._drawn = [self.folder.path / name for name in names]
        return self._drawn

    def _close(self) -> None:
        os.close(self.reply)
        self.pid, self.reply = 0, -1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.pid:  # the parent failed or was interrupted: the child's work is not wanted
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self._close()


def _read_all(fd: int) -> list[str]:
    """What the child said, to its end (it writes once, then exits)."""
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks).decode().split()


def _draw_and_exit(folder: RunFolder, answer: int) -> None:
    """The child: draw and write `AHEAD`, name what it wrote on `answer`, exit 0 if all
    went well (1 otherwise)."""
    code = 1
    try:
        pictures = plot.figures(folder, only=AHEAD)
        folder.write_pictures({name: plot.png(fig) for name, fig in pictures.items()})
        os.write(answer, " ".join(pictures).encode())
        code = 0
    finally:
        os._exit(code)
