"""A sweep: every (seed, activation) trial on one device, each saved as soon as it ends.

Everything that can be refused (activations, device, threads, output folder, data) is
checked before the first step is trained. `resume` continues a saved run with the trials
it is missing, under the configuration it was started with.
"""

from __future__ import annotations

import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

from actbench import activation as activations_mod
from actbench import data as data_mod
from actbench import dataset as datasets
from actbench import device as device_mod
from actbench import environment, executor, plot, report, table, timing, trainer
from actbench import step as step_mod
from actbench.config import SweepConfig
from actbench.errors import ActbenchError
from actbench.progress import Progress
from actbench.records import TrialResult
from actbench.storage import RunFolder

MIN_TIMED_STEPS = 100


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass
class SweepOutcome:
    folder: RunFolder
    summary: pd.DataFrame
    trained: int = 0  # trials trained by this call (0: a resume found nothing to do)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a scheduler, a container stopping), handled like Ctrl-C."""


class SweepInterrupted(Exception):
    """Ctrl-C or SIGTERM during a sweep, after what had finished was saved."""

    def __init__(self, outcome: SweepOutcome, terminated: bool = False) -> None:
        super().__init__("terminated" if terminated else "interrupted")
        self.outcome, self.terminated = outcome, terminated


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a sweep runs, SIGTERM raises `Terminated` (main thread only: elsewhere, e.g.
    a notebook's worker thread, Python allows no signal handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def finish(folder: RunFolder, run: dict) -> pd.DataFrame:
    """Write summary.md, summary.csv and the plots from what is saved; return the summary."""
    if folder.trials().empty:
        return pd.DataFrame()
    summary = table.summarize_folder(folder)
    folder.write_summary(report.markdown_report(run, summary), summary)
    try:
        plot.draw_run(folder, summary)
    except Exception as exc:  # a picture must never cost the numbers
        warnings.warn(f"could not draw plots in {folder.path}: {exc}", stacklevel=2)
    return summary


@dataclass
class _Plan:
    cfg: SweepConfig
    acts: list[activations_mod.Activation]
    pinning: device_mod.Pinning
    filled: dict  # the values the dataset's defaults supplied


def _plan(cfg: SweepConfig) -> _Plan:
    filled = cfg.resolve()
    cfg.validate()
    acts = activations_mod.parse_list(",".join(cfg.activations))
    if cfg.baseline is not None:  # the row every other is measured against runs too
        baseline = activations_mod.resolve(cfg.baseline)
        cfg.baseline = baseline.name
        if baseline.name not in [a.name for a in acts]:
            acts.insert(0, baseline)
    cfg.activations = [a.name for a in acts]
    pinning = device_mod.pin(cfg.device, cfg.threads, cfg.cpu_affinity, cfg.deterministic)
    step_mod.check_mode(cfg.mode, pinning.device)
    return _Plan(cfg, acts, pinning, filled)


def _groups(plan: _Plan, done: set[tuple[str, int]]) -> list[executor.Group]:
    """Per seed, the activations still to train.

    When a resumed seed's baseline has finished but others have not, the baseline trains
    again beside them, so that their costs are still measured in the same rounds as a
    baseline; the sweep keeps only that pacer's rounds, never its row.
    """
    cfg, groups = plan.cfg, []
    for seed in cfg.seeds:
        missing = [a for a in plan.acts if (a.name, seed) not in done]
        if not missing:
            continue
        interleaved = cfg.schedule == "interleaved"
        if interleaved and cfg.baseline is not None and (cfg.baseline, seed) in done:
            missing.insert(0, next(a for a in plan.acts if a.name == cfg.baseline))
        groups.append((seed, missing))
    return groups


def run(cfg: SweepConfig, quiet: bool = False) -> SweepOutcome:
    """Start a new run folder and train every trial of `cfg`; torch's settings in this
    process are as they were afterwards."""
    with device_mod.state_kept():
        return _run(cfg, quiet)


def _run(cfg: SweepConfig, quiet: bool) -> SweepOutcome:
    plan = _plan(cfg)
    data, data_info = _load(plan)  # every refusal comes before a run folder exists
    name = cfg.name or f"{datetime.now():%Y%m%d-%H%M%S}-{plan.pinning.device.type}"
    folder = RunFolder.create(cfg.out, name)
    run_info = {
        "name": name,
        "status": "running",
        "config": cfg.to_json(),
        "dataset_defaults": {
            k: list(v) if isinstance(v, tuple) else v for k, v in plan.filled.items()
        },
        "metric": datasets.get(cfg.dataset).task.metric.name,
        "timing_method": timing.method(plan.pinning.device),
        "reference": trainer.reference_description(cfg),
        "started": _now(),
        "finished": None,
        "data": data_info,
    }
    try:
        return _execute(plan, folder, run_info, data, quiet)
    except BaseException:
        folder.remove_if_empty()  # stopped before its first trial: leave nothing behind
        raise


def resume(
    ref: str | Path, given: SweepConfig, explicit: set[str], quiet: bool = False
) -> SweepOutcome:
    """Finish a saved run: same configuration (flags given now must agree), missing trials only."""
    with device_mod.state_kept():
        return _resume(ref, given, explicit, quiet)


def _resume(ref: str | Path, given: SweepConfig, explicit: set[str], quiet: bool) -> SweepOutcome:
    folder = RunFolder.open(ref, given.out)
    run_info = folder.run_info()
    try:
        saved = SweepConfig.from_json(run_info["config"])
        recorded_env = run_info["environment"]
    except (KeyError, TypeError) as exc:
        raise ActbenchError(f"{folder.path / 'run.json'} is not an actbench run ({exc})") from None
    differ = saved.differences(given, only=explicit)
    if differ:
        raise ActbenchError(
            f"cannot resume {folder.path}: configuration differs from the saved run "
            f"(saved vs given: {'; '.join(differ)})"
        )
    for name in ("data_dir", "download", "executor", "ray_address", "jobs"):
        if name in explicit:  # where data and workers are may change between sessions
            setattr(saved, name, getattr(given, name))
    if saved.threads is None:  # keep the thread count the finished trials were timed with
        saved.threads = recorded_env.get("threads")
    plan = _plan(saved)
    if str(plan.pinning.device) != recorded_env.get("device"):
        raise ActbenchError(
            f"cannot resume {folder.path}: it ran on {recorded_env.get('device')}, "
            f"this would run on {plan.pinning.device}"
        )
    folder.lock()  # held from here to the end of the resume (`_execute` releases it)
    try:
        trials = folder.trials()
        done = set(zip(trials["activation"], trials["seed"], strict=True)) if len(trials) else set()
        if not _groups(plan, done):  # every trial saved: nothing to train
            if run_info.get("status") != "complete":  # e.g. stopped while drawing
                run_info.update(status="complete", finished=run_info.get("finished") or _now())
                folder.write_run(run_info)
                outcome = SweepOutcome(folder, finish(folder, run_info))
            else:
                outcome = SweepOutcome(folder, table.summarize_folder(folder))
            folder.unlock()
            return outcome
        data, run_info["data"] = _load(plan)
    except BaseException:
        folder.unlock()
        raise
    run_info.setdefault("resumed", []).append(_now())
    run_info.update(status="running", finished=None)
    return _execute(plan, folder, run_info, data, quiet)


def _load(plan: _Plan) -> tuple[data_mod.DeviceData, dict]:
    """The data on the device, checked against the configuration, and what run.json says
    of it."""
    cfg, device = plan.cfg, plan.pinning.device
    data, info = datasets.get(cfg.dataset).load(cfg, device)
    if data.x_train.shape[0] < cfg.batch_size:
        raise ActbenchError(
            f"the training split has {data.x_train.shape[0]} examples, fewer than one batch of "
            f"{cfg.batch_size}; raise --train-limit or lower --batch-size"
        )
    return data, {
        **info,
        "train": int(data.x_train.shape[0]),
        "val": int(data.x_val.shape[0]),
        "test": int(data.x_test.shape[0]),
    }


def _execute(
    plan: _Plan, folder: RunFolder, run_info: dict, data: data_mod.DeviceData, quiet: bool
) -> SweepOutcome:
    """Train what `folder` is missing; the folder is locked by the caller, unlocked here."""
    try:
        with _sigterm_as_interrupt():
            return _train(plan, folder, run_info, data, quiet)
    finally:
        folder.unlock()


def _results(
    plan: _Plan, groups: list[executor.Group], group_id: int, progress: Progress, jobs: int
) -> Iterator[TrialResult]:
    """The executor's stream of finished trials: Ray tasks, worker processes, or (for
    activations a fresh process cannot import) this process."""
    cfg, started, finished = plan.cfg, progress.group_started, progress.group_finished
    on_epoch = progress.epoch
    if cfg.executor == "ray":
        return executor.ray_trials(groups, cfg, plan.pinning, group_id, started, finished)
    stay = [a.name for a in plan.acts if not executor.travels(a.name)]
    if stay:
        warnings.warn(
            f"{', '.join(stay)} is defined in __main__ (a notebook or a lambda), which a "
            "worker process cannot import: the seeds train one after another in this "
            "process, so the spread over seeds leaves out what differs between processes "
            "(define it in a module to get worker processes)",
            stacklevel=4,
        )
        return executor.inline(groups, cfg, plan.pinning, group_id, started, on_epoch, finished)
    return executor.local(groups, cfg, plan.pinning, group_id, started, on_epoch, finished, jobs)


def _train(
    plan: _Plan, folder: RunFolder, run_info: dict, data: data_mod.DeviceData, quiet: bool
) -> SweepOutcome:
    cfg, device = plan.cfg, plan.pinning.device
    env = environment.collect(plan.pinning)
    run_info.setdefault("environment", env)
    run_info["timer_overhead_us"] = timing.overhead_us(device)
    saved = folder.trials()
    done = set() if saved.empty else set(zip(saved["activation"], saved["seed"], strict=True))
    groups = _groups(plan, done)
    jobs = cfg.jobs or executor.default_jobs(plan.pinning, len(groups))
    run_info["jobs"] = jobs  # seed groups at once in this (latest) execution
    folder.write_run(run_info)

    group_id = len(run_info.get("resumed", []))  # 0 for the run, k for its k-th resume
    todo = sum((a.name, seed) not in done for seed, acts in groups for a in acts)
    metric = datasets.get(cfg.dataset).task.metric
    progress = Progress(
        len(done) + todo, cfg.epochs, cfg.schedule, quiet, done=len(done), metric=metric
    )
    results = _results(plan, groups, group_id, progress, jobs)
    trained = 0
    try:
        for result in results:
            act_name, seed = result.activation, result.seed
            if (act_name, seed) in done:  # the baseline, trained again as a pacer
                folder.add_rounds(result)
                progress.trial_finished(result, pacer=True)
                continue
            timed = result.steps - result.warmup_steps
            if timed < MIN_TIMED_STEPS:
                warnings.warn(
                    f"{act_name} (seed {seed}) has only {timed} timed steps; its step-time "
                    "statistics are rough (more --epochs or a larger --train-limit help)",
                    stacklevel=2,
                )
            if result.diverged:
                warnings.warn(
                    f"{act_name} (seed {seed}) diverged at epoch {result.diverged_epoch}",
                    stacklevel=2,
                )
            folder.add_trial(result)
            trained += 1
            progress.trial_finished(result)
    except KeyboardInterrupt as stop:
        results.close()  # a Ray executor cancels its unfinished tasks
        progress.close()
        run_info.update(status="interrupted", finished=_now())
        folder.write_run(run_info)
        outcome = SweepOutcome(folder, finish(folder, run_info), trained)
        raise SweepInterrupted(outcome, isinstance(stop, Terminated)) from None
    except ActbenchError:  # a worker failed or died: what finished stays, tabulated
        results.close()
        progress.close()
        run_info.update(status="failed", finished=_now())
        folder.write_run(run_info)
        finish(folder, run_info)
        raise
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()
    progress.close()
    run_info.update(status="complete", finished=_now())
    folder.write_run(run_info)
    return SweepOutcome(folder, finish(folder, run_info), trained)
