"""Where seed groups train: worker processes on this machine (`local`), or Ray tasks (`ray`).

Work comes as groups: the trials of one seed, trained together under the run's schedule
(`schedule.py`). Either way an executor yields finished `TrialResult`s as they complete,
and the sweep persists each one at once, so resume, tables, plots and compare cannot tell
them apart.

- `local`: every group trains in a worker process of its own (`worker.py`; forked from the
  run's zygote, which imported torch and nothing more, or a fresh `python -m
  actbench.worker` where forking is not safe: `spares.py`), `jobs` of them
  at once, each pinned to cores of its own when there are several; the next wave's are
  started ahead (`spares.py`), so their imports cost no wall time, and wait for their
  turn. The parent schedules, relays progress and hands back results. A worker that dies
  is an error that names its seed; what finished before it is already saved.
- `ray`: a task is one group; it asks for one GPU when the run is on CUDA, or for
  `threads` CPUs otherwise, so groups never share a device; it loads its dataset on its own
  node and records the host it ran on. Its trials come back together when the task ends.

A worker never re-runs the caller's main module (multiprocessing's spawn would import a
plain script's `__main__` again, and fail on one piped to stdin): its job arrives over a
pipe, pickled by cloudpickle, so the user's factories, loaders and activations defined in a
notebook, a script or the REPL reach it by value.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing import reduction
from multiprocessing.connection import Connection, wait

import cloudpickle

from actbench import spares as spares_mod
from actbench import worker
from actbench.config import capability_env
from actbench.device import Pinning
from actbench.errors import ActbenchError
from actbench.groups import Group
from actbench.plan import Plan
from actbench.records import EpochRecord, TrialResult
from actbench.spares import Spares
from actbench.zygote import Forked

Started = Callable[[Group], None]
Finished = Callable[[Group], None]


def default_jobs(pinning: Pinning, groups: int) -> int:
    """Seed groups at once when `--jobs` is not given: as many as the CPUs hold at
    `threads` each (on this 2-core machine two one-thread groups measured the same costs
    as one at a time, 64 of 64 checks; docs/measuring.md), one on an accelerator, whose
    groups would share the device."""
    if pinning.device.type != "cpu":
        return 1
    cpus = len(pinning.cpu_affinity.split(",")) if pinning.cpu_affinity else 1
    return max(1, min(groups, cpus // pinning.threads))


def cores_for(jobs: int, threads: int, allowed: Sequence[int]) -> list[list[int]]:
    """The cores of each of `jobs` slots, `threads` each, from `allowed`; refused when
    they do not fit (two timed steps sharing a core would time each other)."""
    if jobs * threads > len(allowed):
        raise ActbenchError(
            f"{{jobs}} {jobs} with {{threads}} {threads} needs {jobs * threads} CPUs; this "
            f"process may use {len(allowed)} ({','.join(map(str, allowed))})",
            ["jobs", "threads"],
        )
    return [list(allowed[j * threads : (j + 1) * threads]) for j in range(jobs)]


@dataclass
class _Worker:
    group: Group
    slot: int
    process: subprocess.Popen | Forked
    conn: Connection


def check_travels(plan: Plan) -> None:
    """Refuse, before a run folder exists, a plan that cannot be sent to a worker (a
    factory or loader holding a lock, an open file, a generator)."""
    try:
        cloudpickle.dumps(plan)
    except Exception as exc:
        raise ActbenchError(
            f"cannot send this run to a worker process: {type(exc).__name__}: {exc} (a "
            "factory, loader or activation holds something that cannot be pickled)"
        ) from None


def _start(job: worker.Job, spares: Spares) -> _Worker:
    """Hand `job` to a started worker (`spares.py`); it imports, then waits for
    `worker.Go` (see `_go`)."""
    w = spares.take()
    job = replace(job, handed=spares.data is not None)
    # the caller's import path, so that modules it found (a test's, a notebook's folder)
    # are found by reference; what is defined in no module travels by value
    try:
        w.conn.send(list(sys.path))
        w.conn.send_bytes(cloudpickle.dumps(job))
        if spares.data is not None:  # the parent's data, mapped, not loaded again
            # over the socket itself (no pid is needed off Windows; a forked worker's would
            # wait for the zygote's report)
            reduction.send_handle(w.conn, spares.data, None)
    except OSError:  # it died while importing: found when its pipe is read
        pass
    except BaseException:  # Ctrl-C, or a job that would not pickle: no worker left behind
        w.kill()
        raise
    return _Worker(job.group, -1, w.process, w.conn)


def _allowed(pinning: Pinning) -> list[int]:
    return [int(c) for c in pinning.cpu_affinity.split(",")] if pinning.cpu_affinity else []


def ahead(
    plan: Plan, pinning: Pinning, jobs: int, count: int
) -> contextlib.AbstractContextManager[Spares | None]:
    """The workers of `plan`'s first `count` groups, started now so that their imports
    overlap the parent's checks (`spares.py`), once `jobs` slots are known to fit the
    CPUs; none for Ray, whose tasks start their own."""
    if plan.config.executor == "ray":
        return contextlib.nullcontext()
    if jobs > 1:
        cores_for(jobs, pinning.threads, _allowed(pinning))  # refused before any starts
    return spares_mod.ahead(count, plan.config.cpu_capability)


def _go(w: _Worker, slot: int, affinity: list[int] | None, alone: bool) -> None:
    w.slot = slot
    with contextlib.suppress(OSError):  # it died while waiting: found when its pipe is read
        w.conn.send(worker.Go(affinity, alone))


def _died(w: _Worker) -> ActbenchError:
    code = w.process.returncode
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited ({code})"
    return ActbenchError(
        f"the worker process for seed {w.group.seed} {how} before its trials finished; the trials "
        "that finished are saved, {resume} trains the rest",
        ["resume"],
    )


def _messages(w: _Worker) -> Iterator[tuple[str, object]]:
    """What `w` has sent so far; ('eof', None) once its end of the pipe is closed."""
    try:
        while w.conn.poll():
            yield w.conn.recv()
    except (EOFError, OSError):
        yield "eof", None


def local(
    groups: Sequence[Group],
    plan: Plan,
    pinning: Pinning,
    started: Started,
    on_epoch: Callable[[EpochRecord], None],
    finished: Finished,
    jobs: int = 1,
    spares: Spares | None = None,
) -> Iterator[TrialResult]:
    """Train every group in a worker process of its own, `jobs` at a time, a whole wave
    more started ahead (from `spares` first): each imports while the others train, and is
    ready when a slot frees. On a CPU a slot frees when its worker says it is done, not
    when its process has gone (its exit would hold the next group back); on an
    accelerator once it has gone, with the device memory it held."""
    jobs = max(1, min(jobs, len(groups)))
    slots = (
        cores_for(jobs, pinning.threads, _allowed(pinning))
        if jobs > 1
        else [plan.config.cpu_affinity]
    )
    device, threads = str(pinning.device), pinning.threads
    pending = [worker.Job(plan, group, device, threads) for group in groups]
    own = spares is None  # made here: closed here (its zygote with it)
    spares = spares or Spares(plan.config.cpu_capability)
    waiting: list[_Worker] = []  # started early, importing, not yet told to go
    free, running = list(range(jobs)), {}
    leaving: list[subprocess.Popen | Forked] = []  # done: they exit on their own

    def top_up() -> None:
        """The slots' workers and a wave more, started ahead so that they are ready."""
        while pending and len(waiting) + len(running) < 2 * jobs:
            waiting.append(_start(pending.pop(0), spares))

    def done(w: _Worker) -> None:
        """`w` sent all it trained: its slot is free, its pipe closed, its process left to
        exit (a child it forked may hold the pipe open: nothing waits for that)."""
        if pinning.device.type != "cpu":
            w.process.wait()
        del running[w.group]
        w.conn.close()
        leaving.append(w.process)
        free.append(w.slot)
        finished(w.group)

    try:
        top_up()
        while waiting or running:
            while waiting and free:
                w, slot = waiting.pop(0), free.pop(0)
                _go(w, slot, slots[slot], alone=jobs == 1)
                running[w.group] = w
                started(w.group)
            top_up()
            ready = wait([w.conn for w in running.values()])
            for w in [w for w in running.values() if w.conn in ready]:
                for kind, payload in _messages(w):
                    if kind == "epoch":
                        on_epoch(payload)
                    elif kind == "trial":
                        yield payload
                    elif kind == "error":
                        raise ActbenchError(f"seed {w.group.seed}: {payload}")
                    elif kind == "done":
                        done(w)
                        break
                    elif kind == "eof":  # gone before it was done
                        w.process.wait()
                        raise _died(w)
            leaving[:] = [p for p in leaving if p.poll() is None]  # reaped once gone
    finally:
        for w in [*running.values(), *waiting]:  # interrupted or failed: stop the rest
            w.process.kill()
        for w in [*running.values(), *waiting]:
            w.process.wait()
            w.conn.close()
        for process in leaving:
            process.wait()
        if own:
            spares.close()


def remote_group(pickled: bytes) -> list[TrialResult]:
    """One seed's group inside a Ray worker: its own pins, its own copy of the data. The
    job comes pickled by cloudpickle (Ray's own copy of it does not know which of the
    user's files travel by value)."""
    import pickle

    from actbench import device as device_mod

    job: worker.Job = pickle.loads(pickled)
    # Ray sets CUDA_VISIBLE_DEVICES to the one GPU it granted, so that is "cuda" here
    c = job.plan.config
    pinning = device_mod.pin(
        job.device, job.threads, None, c.deterministic, False, c.flush_denormal
    )
    return list(worker.train_group(job.plan, job.group, pinning))


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ActbenchError(
            "{executor} ray needs Ray: pip install 'actbench[ray]' (or pip install ray)",
            ["executor"],
        ) from None
    return ray


def ray_trials(
    groups: Sequence[Group],
    plan: Plan,
    pinning: Pinning,
    started: Started,
    finished: Finished,
) -> Iterator[TrialResult]:
    """Submit every group as a Ray task and yield its results in the order groups finish."""
    ray = _import_ray()
    we_started = not ray.is_initialized()
    if we_started:
        try:
            ray.init(
                address=plan.config.ray_address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except Exception as exc:  # no cluster at that address, port in use, ...
            raise ActbenchError(
                f"cannot start or join Ray at {plan.config.ray_address or 'local'}: {exc}"
            ) from None
    on_gpu = pinning.device.type == "cuda"
    pinned = capability_env(plan.config.cpu_capability)  # read as torch starts
    task = ray.remote(
        num_gpus=1 if on_gpu else 0,
        num_cpus=0 if on_gpu else pinning.threads,
        runtime_env={"env_vars": pinned} if pinned else None,
    )(remote_group)
    pending, of = [], {}
    for group in groups:
        job = worker.Job(plan, group, pinning.device.type, pinning.threads)
        ref = task.remote(cloudpickle.dumps(job))
        pending.append(ref)
        of[ref] = group
        started(group)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                results = ray.get(done[0])
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, ActbenchError):
                    raise ActbenchError(f"seed {of[done[0]].seed}: {cause}") from None
                raise
            yield from results
            finished(of[done[0]])
    finally:
        for ref in pending:  # interrupted or failed: stop what has not finished
            ray.cancel(ref, force=True)
        if we_started:
            ray.shutdown()
