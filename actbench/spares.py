"""Worker processes started ahead of their jobs, so that their imports overlap other work.

A worker spends its first seconds importing torch and actbench. Started when its group's
turn comes, those seconds are wall time with a core held and nothing timed: at a sweep's
start the parent's own checks (the data loaded, the network tried, the machine read) would
run first and every worker's imports after them. So a sweep starts the workers of its
first two waves (`ahead`) as soon as its plan is resolved, before those checks, and
`executor.local` hands each one a job when its turn comes: a worker imports, then waits on
its pipe for the parent's import path and its job. Whatever is not handed a job (a check
refused the run, Ctrl-C) is killed when the sweep ends.

On Linux a spare is forked from the run's zygote (`zygote.py`), a process that imported
torch and actbench once and has done nothing else; elsewhere it is a fresh `python -m
actbench.worker` process. Either way nothing is forked from a process that has trained.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path

from actbench.config import capability_env
from actbench.zygote import Forked, Zygote


@dataclass
class Spawned:
    """A worker process that is importing or waiting for its job, and the parent's end of
    its pipe (EOF when the process is gone)."""

    process: subprocess.Popen | Forked
    conn: Connection

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.conn.close()


def environment(cpu_capability: str | None = None) -> dict[str, str]:
    """The worker imports this actbench (a checkout's, not another install's) first; an
    installed one it finds where Python does. Its torch dispatches `cpu_capability` when
    the run pins one (read once, when torch starts)."""
    pinned = {**os.environ, **capability_env(cpu_capability)}
    here = str(Path(__file__).resolve().parent.parent)
    if here in sys.path and Path(here).name in ("site-packages", "dist-packages"):
        return pinned
    path = os.environ.get("PYTHONPATH")
    return {**pinned, "PYTHONPATH": here if not path else f"{here}{os.pathsep}{path}"}


def forks() -> bool:
    """Whether workers are forked from a zygote: on Linux (macOS forbids forking a process
    that has loaded the frameworks torch links; Windows cannot fork)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def spawn(cpu_capability: str | None = None, zygote: Zygote | None = None) -> Spawned:
    """Start a worker process: forked by `zygote`, or a fresh one. Its own session: Ctrl-C
    is the parent's to handle (it stops the workers)."""
    if zygote is not None:
        return Spawned(*zygote.fork())
    ours, theirs = Pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "actbench.worker", str(theirs.fileno()), str(os.getpid())],
        pass_fds=[theirs.fileno()],
        env=environment(cpu_capability),
        start_new_session=True,
    )
    theirs.close()  # the child holds the only other end: EOF when it is gone
    return Spawned(process, ours)


_early: dict[str | None, Zygote] = {}  # started by `prestart`, by pinned capability


def prestart(cpu_capability: str | None = None) -> None:
    """Start the zygote of a sweep that is about to be planned, for its `Spares` to take:
    the command line calls this before its own imports (torch, pandas, scipy: seconds of a
    core), so that the zygote's overlap them. One left untaken ends with this process (its
    end of the zygote's pipe closes)."""
    if forks() and cpu_capability not in _early:
        _early[cpu_capability] = Zygote(environment(cpu_capability))
        atexit.register(_end_early)


def _end_early() -> None:
    """Kill the zygotes no sweep took (a refused command): not seconds of imports more."""
    for zygote in _early.values():
        zygote.process.kill()
    _early.clear()


class Spares:
    """Workers started ahead, all with the run's environment, handed out first come, and
    the data each is handed with its job (`handoff.py`) once the parent has checked it."""

    def __init__(self, cpu_capability: str | None = None) -> None:
        self.cpu_capability = cpu_capability
        self.idle: list[Spawned] = []
        self.zygote: Zygote | None = None
        self.data: int | None = None  # a descriptor of the data's memory file

    def hand(self, data: int | None) -> None:
        """Hand every worker the data in memory file `data` (None: each loads its own);
        the descriptor is closed with the spares."""
        self.data = data

    def _spawn(self) -> Spawned:
        if self.zygote is None and forks():
            early = _early.pop(self.cpu_capability, None)
            self.zygote = early or Zygote(environment(self.cpu_capability))
        return spawn(self.cpu_capability, self.zygote)

    def start(self, count: int) -> None:
        """Have `count` workers started and not yet handed out."""
        while len(self.idle) < count:
            self.idle.append(self._spawn())

    def take(self) -> Spawned:
        """A started worker, the longest started first; a new one when none is left."""
        return self.idle.pop(0) if self.idle else self._spawn()

    def close(self) -> None:
        """End every worker that was never handed a job, then the zygote (the workers
        handed out have been waited for by then). A forked one has nothing left to import:
        its pipe closed, it reads EOF and exits; a fresh one may be importing: killed."""
        for spare in self.idle:
            with contextlib.suppress(OSError):
                if isinstance(spare.process, Forked):
                    spare.conn.close()
                else:
                    spare.kill()
        self.idle.clear()
        if self.data is not None:
            os.close(self.data)
            self.data = None
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None


@contextlib.contextmanager
def ahead(count: int, cpu_capability: str | None = None) -> Iterator[Spares]:
    """`count` workers started now; those not handed a job killed on the way out."""
    spares = Spares(cpu_capability)
    try:
        spares.start(count)
        yield spares
    finally:
        spares.close()
