"""One seed's group, trained in a worker process of its own.

Every group trains in a process of its own, started ahead of its turn by `spares.spawn`
(`executor.local` hands it its job): on Linux forked from the run's zygote, which imported
torch and actbench and ran nothing (`zygote.py`), elsewhere a fresh `python -m
actbench.worker FD PARENT`; as pyperf runs each benchmark in worker processes, what differs
between processes (allocator state as training goes, thread placement, physical pages;
with fresh processes the address-space layout too) differs between seeds, and the spread
over seeds that every interval is built from carries it. A worker pins its own device,
threads and cores, maps the data the parent handed it (`handoff.py`; loads its own where
none was handed), trains its group under the run's
schedule, and sends every epoch and every finished trial to the parent over a pipe the
moment it has it; the parent saves each trial at once. Pickling happens here, between
rounds, never on a background thread that could stall a timed step.

Ctrl-C is the parent's to handle (it stops the workers); a worker whose parent (a forked
one's: its zygote, which ends with the sweep) died exits by itself within a second of
noticing (once its imports are done).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing import reduction
from multiprocessing.connection import Connection

from actbench import device as device_mod
from actbench import fingerprint, handoff, schedule, shutdown
from actbench.activation import Activation
from actbench.data import DeviceData
from actbench.device import Pinning
from actbench.errors import ActbenchError
from actbench.groups import Group
from actbench.plan import Plan
from actbench.records import EpochRecord, TrialResult


@dataclass(frozen=True)
class Job:
    """What a worker needs; it crosses a process boundary by cloudpickle (a user's code
    defined outside an importable module travels by value)."""

    plan: Plan
    group: Group
    device: str
    threads: int
    handed: bool = False  # the parent's data follows the job (`handoff.py`)

    @property
    def seed(self) -> int:
        return self.group.seed

    @property
    def activations(self) -> tuple[Activation, ...]:
        return self.group.activations


@dataclass(frozen=True)
class Go:
    """The parent's word to start, once the worker has cores: it was started early (while
    the parent checked the data, or while other groups trained), so that its imports cost
    the sweep no wall time of its own."""

    cpu_affinity: list[int] | None
    own_cores: bool  # alone on its cores: untimed passes may use all of them


def train_group(
    plan: Plan,
    group: Group,
    pinning: Pinning,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    data: DeviceData | None = None,
) -> Iterator[TrialResult]:
    """Load the data on the pinned device (unless the parent handed it: `data`) and train
    one group; yield each trial as it finishes, stamped with the group's id. Old objects
    stay out of Python's full collections meanwhile: each one walks every object the
    process holds (≈ 0.2 s with torch and pandas loaded) and would land in a timed step."""
    if data is None:
        data, _ = plan.dataset.load(plan.config, pinning.device)
    ours = not gc.get_freeze_count()  # a process that froze objects itself is left alone
    if ours:
        gc.freeze()
    try:
        trials = schedule.group(plan, data, group.activations, group.seed, pinning, on_epoch)
        reading = fingerprint.worker_reading()  # what the timed steps dispatch and flush
        for result in schedule.run(trials, plan.config.schedule, group.seed, group.paced):
            yield replace(result.in_group(group.id), **reading)
    finally:
        if ours:
            gc.unfreeze()


def _orphan_watch(parent: int) -> None:
    """Exit when the parent is gone (kill -9): nobody would save what this trains."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="actbench-orphan-watch").start()


def _handed(fd: int) -> DeviceData | None:
    """The parent's data in memory file `fd`; None (the worker loads its own) if it cannot
    be mapped here."""
    try:
        return handoff.take(fd)
    except (OSError, RuntimeError):
        return None


def main(conn: Connection, parent: int) -> None:
    """The worker process's entry point. It reads the parent's import path and its `Job`
    (pickled by cloudpickle: the user's code comes by value), waits for `Go`, then sends
    the parent `(kind, payload)` messages: ("epoch", EpochRecord), ("trial", TrialResult),
    ("error", str), ("done", None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops
    shutdown.quick()  # its exit runs on the core its slot's next group starts on
    _orphan_watch(parent)
    try:
        theirs = conn.recv()
        sys.path[:] = [*theirs, *(p for p in sys.path if p not in theirs)]
        job: Job = pickle.loads(conn.recv_bytes())
        data = _handed(reduction.recv_handle(conn)) if job.handed else None
        go: Go = conn.recv()
        pinning = device_mod.pin(
            job.device, job.threads, go.cpu_affinity, job.plan.config.deterministic,
            own_cores=go.own_cores, flush_denormal=job.plan.config.flush_denormal,
        )  # fmt: skip
        results = train_group(
            job.plan, job.group, pinning, lambda record: conn.send(("epoch", record)), data
        )
        for result in results:
            conn.send(("trial", result))
        conn.send(("done", None))
    except EOFError:  # the parent stopped before this worker's turn
        return
    except ActbenchError as error:
        conn.send(("error", str(error)))
    except Exception as error:  # reported by the parent with the seed it belongs to
        last = traceback.extract_tb(error.__traceback__)[-1]
        where = f"{os.path.basename(last.filename)}:{last.lineno}"
        conn.send(("error", f"{type(error).__name__}: {error} (at {where})"))
    finally:
        conn.close()


if __name__ == "__main__":
    main(Connection(int(sys.argv[1])), int(sys.argv[2]))
