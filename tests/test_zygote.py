"""Workers forked from a zygote: each a process of its own, a child of the zygote, its exit
reported back; killed, reaped; the zygote gone, its workers report it."""

import os
import signal
import subprocess
import sys

import pytest

from actbench import spares
from actbench.zygote import Zygote
from tests.conftest import still_running

pytestmark = [
    pytest.mark.workers,
    pytest.mark.skipif(not spares.forks(), reason="forks workers on Linux only"),
]


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:  # pid (comm) state ppid ...
        return int(stat.read().rsplit(")", 1)[1].split()[1])


@pytest.mark.slow
def test_forked_workers_are_the_zygotes_children_and_their_exits_come_back():
    zygote = Zygote(spares.environment())
    try:
        (first, first_conn), (second, second_conn) = zygote.fork(), zygote.fork()
        pids = {first.pid, second.pid}
        assert len(pids) == 2 and os.getpid() not in pids and zygote.process.pid not in pids
        # each waits on its pipe for the parent's import path: alive, the zygote's child
        assert [_parent_of(pid) for pid in pids] == [zygote.process.pid] * 2
        assert (first.poll(), second.poll()) == (None, None)
        first_conn.close()  # the worker reads EOF before its job: it returns, exit 0
        assert first.wait() == 0
        second.kill()
        assert second.wait() == -signal.SIGKILL
        second_conn.close()
    finally:
        zygote.close()
    assert zygote.process.returncode == 0


@pytest.mark.slow
def test_a_worker_whose_zygote_is_gone_reads_as_killed():
    zygote = Zygote(spares.environment())
    worker, conn = zygote.fork()
    assert worker.pid is not None
    zygote.process.kill()
    assert worker.wait() == -signal.SIGKILL  # and the worker itself exits on noticing
    conn.close()
    zygote.close()


THREADS = """
import os, sys
for name in sys.argv[1:]:
    __import__(name)
print(len(os.listdir("/proc/self/task")))
"""


def _threads_after(*modules: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", THREADS, *modules], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def test_what_the_zygote_imports_starts_no_thread_that_torch_alone_does_not():
    """An operator run at import (a module-level tensor) starts torch's thread pool, and a
    worker forked after it hangs on its first parallel operator: the zygote's imports must
    leave the threads as `import torch` leaves them."""
    assert _threads_after("torch", "torch._dynamo", "actbench.worker") == _threads_after("torch")


@pytest.mark.slow
def test_the_sweep_forks_from_the_zygote_the_command_line_started_first():
    spares.prestart(None)
    early = spares._early[None].process.pid
    pool = spares.Spares(None)
    try:
        pool.start(1)
        assert _parent_of(pool.idle[0].process.pid) == early
        assert None not in spares._early  # taken: a second sweep would start its own
    finally:
        pool.close()


@pytest.mark.slow
def test_a_zygote_no_sweep_took_is_killed_when_the_command_ends():
    """A command refused after `prestart` (bad input): its zygote does not import on."""
    program = (
        "from actbench import spares; spares.prestart(); print(spares._early[None].process.pid)"
    )
    pid = int(subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                             check=True).stdout)  # fmt: skip
    assert not still_running([pid])  # SIGKILL was sent as the command exited
