"""Seeds in worker processes of their own: one process per seed, deaths named, cores apart."""

import contextlib
import os
import signal
from dataclasses import replace

import pytest
import torch

from actbench import executor, runner, spares
from actbench.device import Pinning
from actbench.errors import ActbenchError
from actbench.progress import Progress
from tests.conftest import still_running

pytestmark = pytest.mark.workers  # these tests are about the worker processes


@pytest.mark.slow
def test_every_seed_trains_in_a_process_of_its_own(tiny_config, monkeypatch):
    started = []
    real = executor._start

    def start(job, slot):
        w = real(job, slot)
        started.append((job.seed, w.process.pid))
        return w

    monkeypatch.setattr(executor, "_start", start)
    tiny_config = replace(tiny_config, seeds=[0, 1, 2], jobs=1)  # one at a time: no seed split
    outcome = runner.run(tiny_config, quiet=True)
    pids = [pid for _, pid in started]
    assert sorted(s for s, _ in started) == [0, 1, 2]
    assert len(set(pids)) == 3 and os.getpid() not in pids
    assert len(outcome.folder.trials()) == 9


@pytest.mark.slow
def test_a_worker_that_dies_is_an_error_naming_its_seed_and_keeps_what_finished(
    tiny_config, monkeypatch
):
    """Seed 0 finishes; seed 1's worker is killed at its first epoch (SIGKILL, as the
    kernel's OOM killer would): the sweep stops with one line naming seed 1, and seed 0's
    trials stay saved, the run marked failed."""
    workers = {}
    real_start, real_epoch = executor._start, Progress.epoch

    def start(job, slot):
        workers[job.seed] = real_start(job, slot)
        return workers[job.seed]

    def epoch(self, record):
        if record.seed == 1:
            os.kill(workers[1].process.pid, signal.SIGKILL)
        real_epoch(self, record)

    monkeypatch.setattr(executor, "_start", start)
    monkeypatch.setattr(Progress, "epoch", epoch)
    tiny_config = replace(tiny_config, seeds=[0, 1], jobs=1)
    with pytest.raises(ActbenchError, match=r"worker process for seed 1 was killed by signal 9"):
        runner.run(tiny_config, quiet=True)
    folder = tiny_config.out / "tiny"
    trials = runner.RunFolder.open(folder).trials()
    assert set(trials["seed"]) == {0} and len(trials) == 3
    assert runner.RunFolder.open(folder).run_info()["status"] == "failed"


@pytest.mark.slow
def test_an_error_inside_a_worker_names_its_seed(tiny_config):
    """A custom activation that raises while training: one line, the seed, where it failed."""
    tiny_config = replace(tiny_config, activations=["tests.test_worker:broken"])
    with pytest.raises(ActbenchError, match=r"^seed 0: RuntimeError: broken on purpose"):
        runner.run(tiny_config, quiet=True)


_calls = {"n": 0}


def broken(x):
    """Passes actbench's probe (its first calls), then fails in training."""
    _calls["n"] += 1
    if _calls["n"] > 3:
        raise RuntimeError("broken on purpose")
    return x


def test_by_default_as_many_groups_run_at_once_as_the_cpus_hold():
    def pinning(device="cpu", threads=1, cpus="0,1"):
        return Pinning(torch.device(device), "x", threads, cpus, False)

    assert executor.default_jobs(pinning(), groups=3) == 2
    assert executor.default_jobs(pinning(threads=2), groups=3) == 1
    assert executor.default_jobs(pinning(cpus="0,1,2,3,4,5,6,7"), groups=3) == 3  # 3 seeds
    assert executor.default_jobs(pinning(device="meta"), groups=3) == 1  # not a CPU


def test_parallel_jobs_get_cores_of_their_own():
    assert executor.cores_for(2, 1, [0, 1]) == [[0], [1]]
    assert executor.cores_for(2, 2, [0, 1, 2, 3, 4]) == [[0, 1], [2, 3]]
    with pytest.raises(ActbenchError, match=r"^jobs 2 with threads 2 needs 4 CPUs"):
        executor.cores_for(2, 2, [0, 1])


@pytest.mark.slow
def test_two_jobs_train_two_seeds_at_once_on_separate_cores(tiny_config, monkeypatch):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs")
    told = []
    real = executor._go

    def go(w, slot, affinity, alone):
        told.append((affinity, alone))
        real(w, slot, affinity, alone)

    monkeypatch.setattr(executor, "_go", go)
    tiny_config = replace(tiny_config, seeds=[0, 1], jobs=2)
    outcome = runner.run(tiny_config, quiet=True)
    assert sorted(told) == [([0], False), ([1], False)]  # untimed passes keep to their core
    trials = outcome.folder.trials()
    by_seed = dict(zip(trials["seed"], trials["cpu_affinity"].astype(str), strict=False))
    assert sorted(by_seed.values()) == ["0", "1"]


@pytest.mark.slow
def test_the_last_seed_is_split_to_fill_the_idle_core_with_its_baseline_beside_each_part(
    tiny_config, monkeypatch
):
    """Three seeds on two slots: seed 2's relu and tanh train in two processes at once, each
    beside a copy of seed 2's baseline, whose rounds pair with theirs; one row per trial."""
    started = []
    real = executor._start

    def start(job, slot):
        started.append((job.seed, job.group.id, [a.name for a in job.activations]))
        return real(job, slot)

    monkeypatch.setattr(executor, "_start", start)
    config = replace(tiny_config, seeds=[0, 1, 2], jobs=2, patience=0)
    outcome = runner.run(config, quiet=True)
    assert sorted(started) == [
        (0, 0, ["identity", "relu", "tanh"]),
        (1, 0, ["identity", "relu", "tanh"]),
        (2, 0, ["identity", "relu"]),
        (2, 1, ["identity", "tanh"]),
    ]
    trials = outcome.folder.trials()
    assert len(trials) == 9 and not trials.duplicated(["activation", "seed"]).any()
    rounds = outcome.folder.rounds().query("seed == 2")
    groups = rounds.groupby("activation")["group"].unique().map(sorted).to_dict()
    assert groups == {"identity": [0, 1], "relu": [0], "tanh": [1]}
    summary = outcome.summary.set_index("activation")
    assert summary.loc[["relu", "tanh"], "cost_rounds"].gt(0).all()
    # the pacer (group 1) stopped with tanh: no round of it after tanh's last
    last = rounds.groupby(["activation", "group"])["round"].max()
    assert last["identity", 1] <= last["tanh", 1] + 1
    assert trials.set_index(["activation", "seed"]).loc[("identity", 2), "group"] == 0


def _spares_seen(monkeypatch) -> tuple[list[list[int]], list[int]]:
    """The pids of the workers started ahead, as the parent's data check begins, and the
    pid each group was handed to."""
    ahead, handed = [], []
    real_ahead, real_start = executor.ahead, executor._start

    def check(plan, pinning, spares):
        ahead.append([s.process.pid for s in spares_now[0].idle])
        return real_check(plan, pinning, spares)

    @contextlib.contextmanager
    def spy(plan, pinning, jobs, count):
        with real_ahead(plan, pinning, jobs, count) as spares:
            spares_now[0] = spares
            yield spares

    def start(job, spares):
        w = real_start(job, spares)
        handed.append(w.process.pid)
        return w

    spares_now, real_check = [None], runner._data_info
    monkeypatch.setattr(executor, "ahead", spy)
    monkeypatch.setattr(executor, "_start", start)
    monkeypatch.setattr(runner, "_data_info", check)
    return ahead, handed


@pytest.mark.slow
def test_the_first_two_waves_of_workers_start_before_the_data_is_checked(tiny_config, monkeypatch):
    """Three seeds on two slots: four groups (seed 2 split in two), two waves, so four
    workers are importing while the parent loads the data, and each group trains in one of
    them."""
    ahead, handed = _spares_seen(monkeypatch)
    runner.run(replace(tiny_config, seeds=[0, 1, 2], jobs=2, patience=0), quiet=True)
    assert len(ahead) == 1 and len(ahead[0]) == 4
    assert sorted(handed) == sorted(ahead[0])


def _spawned_then_refused(monkeypatch) -> list[spares.Spawned]:
    """Every worker started from now on; the parent's data check refuses the run."""
    started = []
    real_spawn = spares.spawn

    def spawn(capability=None, zygote=None):
        started.append(real_spawn(capability, zygote))
        return started[-1]

    def refuse(plan, pinning, spares):
        raise ActbenchError("no data here")

    monkeypatch.setattr(spares, "spawn", spawn)
    monkeypatch.setattr(runner, "_data_info", refuse)
    return started


@pytest.mark.slow
def test_a_run_refused_by_its_checks_leaves_no_worker_behind(tiny_config, monkeypatch):
    started = _spawned_then_refused(monkeypatch)
    with pytest.raises(ActbenchError, match="no data here"):
        runner.run(replace(tiny_config, seeds=[0, 1], jobs=2), quiet=True)
    assert len(started) == 2
    assert not still_running([s.process.pid for s in started])  # ended: none left behind
    assert not (tiny_config.out / "tiny").exists()


@pytest.mark.slow
def test_a_resume_refused_by_its_checks_leaves_no_worker_behind_and_the_run_unlocked(
    tiny_config, monkeypatch
):
    """A run stopped after its first trial; its resume starts the missing groups' workers,
    then its data check refuses: every one of them killed, the run's lock released."""
    config = replace(tiny_config, seeds=[0, 1], jobs=2)
    real_add = runner.RunFolder.add_trial

    def stop(folder, result):
        real_add(folder, result)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.RunFolder, "add_trial", stop)
    with pytest.raises(runner.SweepInterrupted):
        runner.run(config, quiet=True)
    monkeypatch.setattr(runner.RunFolder, "add_trial", real_add)
    started = _spawned_then_refused(monkeypatch)
    with pytest.raises(ActbenchError, match="no data here"):
        runner.resume(config.out / config.name, config, set(), quiet=True)
    assert len(started) == 2  # one group per seed still to train
    assert not still_running([s.process.pid for s in started])
    assert not (config.out / config.name / ".lock").exists()
