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
import signal
import sys
import threading
from pathlib import Path
from types import TracebackType

from actbench import plot
from actbench.storage import RunFolder

AHEAD = (plot.HEALTH, plot.TIMELINE)  # drawn apart: about as long as the other three


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
        sys.stdout.flush(), sys.stderr.flush()  # nothing buffered is written twice
        self.reply, answer = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(self.reply)
            _draw_and_exit(self.folder, answer)
        os.close(answer)
        self.pid = pid
        return self

    def drawn(self) -> list[Path]:
        """The pictures the child wrote (none when there was no child or it failed: the
        caller draws those itself, and sees why)."""
        if self.pid:
            with os.fdopen(self.reply, encoding="utf-8") as reply:
                names = reply.read().split()
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
            if os.waitstatus_to_exitcode(status) == 0:
                self._drawn = [self.folder.path / name for name in names]
        return self._drawn

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.pid:  # the parent failed or was interrupted: the child's work is not wanted
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            os.close(self.reply)
            self.pid = 0


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
