"""Workers forked from a process that has imported torch and actbench, and done nothing else.

A worker's imports (torch; torch._dynamo, which a torch optimizer imports when it is built;
actbench) took 4–5 s of a core each on the 2-core host of docs/performance.md, and a default
sweep starts four at once, beside the parent's own imports and checks: its start was bound
by those cores. A zygote imports them once, as a command line of its own (`python -m
actbench.zygote`, started with the run's environment: a pinned `ATEN_CPU_CAPABILITY` is read
as torch starts), then forks one worker per request: the child has every module loaded and
runs `worker.main` on the pipe the parent passed it. The zygote has loaded no data, built no
model and run no operator (torch starts its thread pools at the first parallel op, CUDA at
the first device call), so each worker starts from the state a fresh process reaches after
its imports. What a fresh process would vary and a fork does not: the address-space layout
and Python's hash seed, the zygote's for every worker of a sweep (a new one every sweep);
Python's and numpy's global random states are drawn anew in each worker.

The parent cannot wait for a process it did not start: the zygote reaps its children and
reports each exit status (`Zygote.statuses`). Where `os.fork` is missing (Windows) or unsafe
for a process that has imported torch (macOS), `spares.py` starts fresh processes instead.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import traceback
from multiprocessing import Pipe, reduction
from multiprocessing.connection import Connection, wait


class Zygote:
    """The parent's handle on a zygote process: fork requests go out at once, without
    waiting for its imports; their process ids and exit statuses come back as they come,
    each under its request's number."""

    def __init__(self, env: dict[str, str]) -> None:
        ours, theirs = Pipe()  # a socket pair: it carries the workers' pipes across
        self.process = subprocess.Popen(
            [sys.executable, "-m", "actbench.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=env,
            start_new_session=True,
        )
        theirs.close()
        self.conn = ours
        self.requests = 0
        self.pids: dict[int, int] = {}  # request -> process id
        self.statuses: dict[int, int] = {}  # request -> exit status, as Popen's
        self.gone = False  # the zygote has exited, or was closed: nothing more will come

    def fork(self) -> tuple[Forked, Connection]:
        """A new worker process and the parent's end of its pipe. The request is one
        message (the pipe's other end), so an interrupt cannot leave half of one."""
        ours, theirs = Pipe()
        forked = Forked(self, self.requests)
        self.requests += 1
        try:
            reduction.send_handle(self.conn, theirs.fileno(), self.process.pid)
        except OSError:  # the zygote is gone: the worker's pipe reads EOF at once
            self.gone = True
        finally:
            theirs.close()
        return forked, ours

    def pump(self, block: bool) -> None:
        """Read what the zygote has said (all of it; at least one message when `block`)."""
        while not self.gone and (block or self.conn.poll()):
            block = False
            try:
                kind, request, value = self.conn.recv()
            except (EOFError, OSError):
                self.gone = True
                self.process.wait()
                return
            (self.pids if kind == "forked" else self.statuses)[request] = value

    def close(self) -> None:
        """End the zygote, once the workers handed out have been waited for: killed if it
        still owes a fork (the spares nobody took: not seconds more of its imports)."""
        if not self.gone:
            self.pump(block=False)
            if len(self.pids) < self.requests:
                self.process.kill()
        self.gone = True
        self.conn.close()
        self.process.wait()


class Forked:
    """A worker forked by a zygote, with the methods of `subprocess.Popen` the executor
    uses. Its exit status is the zygote's report; -SIGKILL when its zygote died first (it
    exits on noticing: `worker._orphan_watch`)."""

    def __init__(self, zygote: Zygote, request: int) -> None:
        self.zygote, self.request = zygote, request

    @property
    def pid(self) -> int | None:
        """Its process id once the zygote has forked it (waits for that); None if it
        never will."""
        while self.request not in self.zygote.pids and not self.zygote.gone:
            self.zygote.pump(block=True)
        return self.zygote.pids.get(self.request)

    @property
    def returncode(self) -> int | None:
        code = self.zygote.statuses.get(self.request)
        if code is None and self.zygote.gone:
            return -signal.SIGKILL
        return code

    def poll(self) -> int | None:
        self.zygote.pump(block=False)
        return self.returncode

    def wait(self) -> int:
        while (code := self.returncode) is None:
            self.zygote.pump(block=True)
        return code

    def kill(self) -> None:
        """SIGKILL it, once forked; nothing if it has exited (its report read first, so
        that its process id is not another's by now)."""
        pid = self.pid
        if pid is not None and self.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # exited: its report is on its way
                os.kill(pid, signal.SIGKILL)


def _reap(conn: Connection, children: dict[int, int]) -> None:
    """Report every child that has exited, under its request's number."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn.send(("exited", children.pop(pid), os.waitstatus_to_exitcode(status)))


def _child(fd: int, closing: list[int], zygote: int) -> None:
    """In the forked worker: drop the zygote's ends and signal handling, draw its own
    random state (a fresh process would), run the worker, and exit without returning into
    the zygote's loop."""
    code = 1
    try:
        os.setsid()  # its own session, as a fresh worker's: Ctrl-C is the parent's
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for other in closing:
            os.close(other)
        import numpy  # loaded already, with torch

        from actbench import worker

        random.seed()
        numpy.random.seed()

        worker.main(Connection(fd), zygote)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(conn: Connection) -> None:
    """The zygote's loop: fork a worker per request (a pipe's end passed over `conn`),
    report every exit, and end when the parent closes its end or is gone. Its workers
    watch it as a fresh worker watches the parent: gone, they exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    me, requests, children = os.getpid(), 0, {}
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the wait below
    try:
        while True:
            ready = wait([conn, wake_r])
            if wake_r in ready:
                os.read(wake_r, 512)
                _reap(conn, children)
            if conn in ready:
                fd = reduction.recv_handle(conn)
                pid = os.fork()
                if pid == 0:
                    _child(fd, [conn.fileno(), wake_r, wake_w], me)
                os.close(fd)
                children[pid] = requests
                conn.send(("forked", requests, pid))
                requests += 1
    except (EOFError, OSError):  # the parent closed its end, or died
        return


if __name__ == "__main__":
    import torch._dynamo  # noqa: F401  (torch, and what building a torch optimizer imports)

    from actbench import worker  # noqa: F401

    main(Connection(int(sys.argv[1])))
    os._exit(0)  # no teardown: the parent waits for this exit, and nothing is left to flush
