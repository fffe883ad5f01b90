"""A sweep: every (seed, activation) trial on one device, each saved as soon as it ends.

Everything that can be refused (activations, device, threads, output folder, data) is
checked before the first step is trained.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
import torch

from actbench import activations as activations_mod
from actbench import data as data_mod
from actbench import device as device_mod
from actbench import environment, table, timing
from actbench.config import SweepConfig
from actbench.errors import ActbenchError
from actbench.progress import Progress
from actbench.storage import RunFolder
from actbench.trainer import train_trial


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass
class SweepOutcome:
    folder: RunFolder
    summary: pd.DataFrame
    interrupted: bool


class SweepInterrupted(Exception):
    """Ctrl-C during a sweep, after what had finished was saved."""

    def __init__(self, outcome: SweepOutcome) -> None:
        super().__init__("interrupted")
        self.outcome = outcome


def finish(folder: RunFolder, run: dict) -> pd.DataFrame:
    """Write summary.md from what is saved in `folder` and return the summary table."""
    trials = folder.trials()
    summary = table.summarize(trials) if not trials.empty else pd.DataFrame()
    if not summary.empty:
        folder.write_summary(table.markdown_report(run, summary))
    return summary


def run(cfg: SweepConfig, quiet: bool = False) -> SweepOutcome:
    cfg.validate()
    acts = activations_mod.parse_list(",".join(cfg.activations))
    cfg.activations = [a.name for a in acts]
    device = device_mod.resolve(cfg.device)
    threads = device_mod.pin_threads(cfg.threads)
    name = cfg.name or f"{datetime.now():%Y%m%d-%H%M%S}-{device.type}"
    folder = RunFolder.create(cfg.out, name)

    data_dir = cfg.data_dir or data_mod.default_data_dir()
    mnist = data_mod.load(data_dir, download=cfg.download)
    data = data_mod.prepare(mnist, device, cfg.val_fraction, cfg.train_limit, cfg.split_seed)
    if data.x_train.shape[0] < cfg.batch_size:
        raise ActbenchError(
            f"the training split has {data.x_train.shape[0]} images, fewer than one batch of "
            f"{cfg.batch_size}; raise --train-limit or lower --batch-size"
        )
    env = environment.collect(device, threads)
    run_info = {
        "name": name,
        "status": "running",
        "config": cfg.to_json(),
        "environment": env,
        "timing_method": timing.method(device),
        "data": {
            "dir": str(data_dir),
            "reader": mnist.reader,
            "train": int(data.x_train.shape[0]),
            "val": int(data.x_val.shape[0]),
            "test": int(data.x_test.shape[0]),
        },
        "started": _now(),
        "finished": None,
    }
    folder.write_run(run_info)

    trials = [(seed, act) for seed in cfg.seeds for act in acts]
    progress = Progress(len(trials), cfg.epochs, quiet=quiet)
    try:
        for i, (seed, act) in enumerate(trials, start=1):
            progress.trial_started(i, act.name, seed)
            result = train_trial(
                data, act, seed, cfg, device, threads, env["device_name"], on_epoch=progress.epoch
            )
            folder.add_trial(result)
            progress.trial_finished(result)
            if result.diverged:
                warnings.warn(
                    f"{act.name} (seed {seed}) diverged at epoch {result.diverged_epoch}",
                    stacklevel=2,
                )
    except KeyboardInterrupt:
        progress.close()
        run_info.update(status="interrupted", finished=_now())
        folder.write_run(run_info)
        raise SweepInterrupted(SweepOutcome(folder, finish(folder, run_info), True)) from None
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()
    run_info.update(status="complete", finished=_now())
    folder.write_run(run_info)
    return SweepOutcome(folder, finish(folder, run_info), False)
