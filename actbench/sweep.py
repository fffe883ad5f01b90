"""A sweep: every (seed, activation) trial on one device, each saved as soon as it ends.

Everything that can be refused (activations, device, threads, output folder, data) is
checked before the first step is trained. `resume` continues a saved run with the trials
it is missing, under the configuration it was started with.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

from actbench import activations as activations_mod
from actbench import data as data_mod
from actbench import device as device_mod
from actbench import environment, executor, plot, table, timing
from actbench import step as step_mod
from actbench.config import SweepConfig
from actbench.errors import ActbenchError
from actbench.model import image_shape
from actbench.progress import Progress
from actbench.storage import RunFolder

MIN_TIMED_STEPS = 100


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass
class SweepOutcome:
    folder: RunFolder
    summary: pd.DataFrame


class SweepInterrupted(Exception):
    """Ctrl-C during a sweep, after what had finished was saved."""

    def __init__(self, outcome: SweepOutcome) -> None:
        super().__init__("interrupted")
        self.outcome = outcome


def finish(folder: RunFolder, run: dict) -> pd.DataFrame:
    """Write summary.md, summary.csv and the plots from what is saved; return the summary."""
    if folder.trials().empty:
        return pd.DataFrame()
    summary = table.summarize_folder(folder)
    folder.write_summary(table.markdown_report(run, summary), summary)
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


def _plan(cfg: SweepConfig) -> _Plan:
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
    return _Plan(cfg, acts, pinning)


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
    """Start a new run folder and train every trial of `cfg`."""
    plan = _plan(cfg)
    name = cfg.name or f"{datetime.now():%Y%m%d-%H%M%S}-{plan.pinning.device.type}"
    folder = RunFolder.create(cfg.out, name)
    run_info = {
        "name": name,
        "status": "running",
        "config": cfg.to_json(),
        "timing_method": timing.method(plan.pinning.device),
        "started": _now(),
        "finished": None,
    }
    return _execute(plan, folder, run_info, quiet)


def resume(
    ref: str | Path, given: SweepConfig, explicit: set[str], quiet: bool = False
) -> SweepOutcome:
    """Finish a saved run: same configuration (flags given now must agree), missing trials only."""
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
    for name in ("data_dir", "download", "executor", "ray_address"):
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
    run_info.setdefault("resumed", []).append(_now())
    run_info.update(status="running", finished=None)
    return _execute(plan, folder, run_info, quiet)


def _execute(plan: _Plan, folder: RunFolder, run_info: dict, quiet: bool) -> SweepOutcome:
    cfg, device = plan.cfg, plan.pinning.device
    data_dir = cfg.data_dir or data_mod.default_data_dir()
    mnist = data_mod.load(data_dir, download=cfg.download)
    data = data_mod.prepare(
        mnist, device, cfg.val_fraction, cfg.train_limit, cfg.split_seed, image_shape(cfg.model)
    )
    if data.x_train.shape[0] < cfg.batch_size:
        raise ActbenchError(
            f"the training split has {data.x_train.shape[0]} images, fewer than one batch of "
            f"{cfg.batch_size}; raise --train-limit or lower --batch-size"
        )
    env = environment.collect(plan.pinning)
    run_info.setdefault("environment", env)
    run_info["timer_overhead_us"] = timing.overhead_us(device)
    run_info["data"] = {
        "dir": str(data_dir),
        "reader": mnist.reader,
        "train": int(data.x_train.shape[0]),
        "val": int(data.x_val.shape[0]),
        "test": int(data.x_test.shape[0]),
    }
    folder.write_run(run_info)

    saved = folder.trials()
    done = set() if saved.empty else set(zip(saved["activation"], saved["seed"], strict=True))
    groups = _groups(plan, done)
    group_id = len(run_info.get("resumed", []))  # 0 for the run, k for its k-th resume
    todo = sum((a.name, seed) not in done for seed, acts in groups for a in acts)
    progress = Progress(len(done) + todo, cfg.epochs, cfg.schedule, quiet, done=len(done))
    if cfg.executor == "ray":
        results = executor.ray_trials(
            groups, cfg, plan.pinning, cfg.ray_address, group_id, progress.group_started
        )
    else:
        results = executor.local(
            groups, data, cfg, plan.pinning, group_id, progress.group_started, progress.epoch
        )
    try:
        for result in results:
            act_name, seed = result.activation, result.seed
            if (act_name, seed) in done:  # the baseline, trained again as a pacer
                folder.add_rounds(result)
                progress.trial_finished(result, pacer=True)
                continue
            folder.add_trial(result)
            progress.trial_finished(result)
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
    except KeyboardInterrupt:
        results.close()  # a Ray executor cancels its unfinished tasks
        progress.close()
        run_info.update(status="interrupted", finished=_now())
        folder.write_run(run_info)
        raise SweepInterrupted(SweepOutcome(folder, finish(folder, run_info))) from None
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()
    progress.close()
    run_info.update(status="complete", finished=_now())
    folder.write_run(run_info)
    return SweepOutcome(folder, finish(folder, run_info))
