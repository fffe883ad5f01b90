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
and Python's hash seed, the zygote's for every worker of a sweep (a new one every sweep).

The parent cannot wait for a process it did not start: the zygote reaps its children and
reports each exit status (`Zygote.statuses`). Where `os.fork` is missing (Windows) or unsafe
for a process that has imported torch (macOS), `spares.py` starts fresh processes instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import traceback
from multiprocessing import Pipe, reduction
from multiprocessing.connection import Connection, wait


class Zygote:
    """The parent's handle on a zygote process: fork requests go out at once, without
    waiting for its imports; their process ids and exit statuses come back as they come."""

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
        self.pids: dict[int, int] = {}  # request number -> process id
        self.statuses: dict[int, int] = {}  # process id -> exit status, as Popen's
        self.gone = False  # the zygote has exited: nothing more will come

    def fork(self) -> tuple[Forked, Connection]:
        """A new worker process and the parent's end of its pipe."""
        ours, theirs = Pipe()
        try:
            self.conn.send("fork")
            reduction.send_handle(self.conn, theirs.fileno(), self.process.pid)
        except OSError:  # the zygote is gone: the worker's pipe reads EOF at once
            self.gone = True
        finally:
            theirs.close()
        self.requests += 1
        return Forked(self, self.requests - 1), ours

    def pump(self, block: bool) -> None:
        """Read what the zygote has said (all of it; at least one message when `block`)."""
        while not self.gone and (block or self.conn.poll()):
            block = False
            try:
                kind, key, value = self.conn.recv()
            except (EOFError, OSError):
                self.gone = True
                self.process.wait()
                return
            (self.pids if kind == "forked" else self.statuses)[key] = value

    def close(self) -> None:
        """End the zygote (its children have been waited for by then)."""
        self.conn.close()
        self.process.wait()


class Forked:
    """A worker forked by a zygote, with the methods of `subprocess.Popen` the executor uses."""

    def __init__(self, zygote: Zygote, request: int) -> None:
        self.zygote, self.request = zygote, request

    @property
    def pid(self) -> int | None:
        """Its process id once the zygote has forked it; None if it never will."""
        while self.request not in self.zygote.pids and not self.zygote.gone:
            self.zygote.pump(block=True)
        return self.zygote.pids.get(self.request)

    @property
    def returncode(self) -> int | None:
        pid = self.pid
        if pid is None:
            return -signal.SIGKILL if self.zygote.gone else None
        if pid not in self.zygote.statuses and self.zygote.gone:
            return -signal.SIGKILL  # its zygote died; it exits on noticing (worker.py)
        return self.zygote.statuses.get(pid)

    def poll(self) -> int | None:
        self.zygote.pump(block=False)
        return self.returncode

    def wait(self) -> int:
        while (code := self.returncode) is None:
            self.zygote.pump(block=True)
        return code

    def kill(self) -> None:
        pid = self.pid
        if pid is not None and self.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # exited: its status is on its way
                os.kill(pid, signal.SIGKILL)


def _reap(conn: Connection) -> None:
    """Report every child that has exited."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn.send(("exited", pid, os.waitstatus_to_exitcode(status)))


def _child(fd: int, closing: list[int], parent: int) -> None:
    """In the forked worker: drop the zygote's ends and signal handling, run the worker,
    exit without returning into the zygote's loop."""
    code = 1
    try:
        os.setsid()  # its own session, as a fresh worker's: Ctrl-C is the parent's
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for other in closing:
            os.close(other)
        from actbench import worker

        worker.main(Connection(fd), parent)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(conn: Connection) -> None:
    """The zygote's loop: fork a worker per request, report every exit, and end when the
    parent closes its end (or dies: its end closes with it). Its workers watch it as a
    fresh worker watches the parent: gone, they exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    me, requests = os.getpid(), 0
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the wait below
    while True:
        ready = wait([conn, wake_r])
        if wake_r in ready:
            os.read(wake_r, 512)
            _reap(conn)
        if conn in ready:
            try:
                conn.recv()
                fd = reduction.recv_handle(conn)
            except (EOFError, OSError):
                return
            pid = os.fork()
            if pid == 0:
                _child(fd, [conn.fileno(), wake_r, wake_w], me)
            os.close(fd)
            conn.send(("forked", requests, pid))
            requests += 1


if __name__ == "__main__":
    import torch._dynamo  # noqa: F401  (torch, and what building a torch optimizer imports)

    from actbench import worker  # noqa: F401

    main(Connection(int(sys.argv[1])))
    os._exit(0)  # no teardown: the parent waits for this exit, and nothing is left to flush
