"""A run for the trackers people already use: TensorBoard's scalars and hyper-parameter
results, written from the run folder's records (never from training code).

Each trial becomes a TensorBoard run `<run>/<activation>-seed<seed>`: its learning curves
and per-epoch readings as scalars, and its configuration with its test score and step time
as one hyper-parameter session. The run's table (cost and gain over the baseline, with
their intervals) becomes `<run>/table/<activation>`, a session per activation, so that
TensorBoard's HPARAMS tab sorts and filters the table itself.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd

from actbench.errors import ActbenchError
from actbench.storage import RunFolder
from actbench.summary import summarize_folder

SCALARS = {  # history.csv column -> TensorBoard tag
    "train_loss": "loss/train",
    "val_loss": "loss/validation",
    "val_accuracy": "validation/accuracy",
    "val_rmse": "validation/rmse",
    "us_per_step_median": "step/us_per_step_median",
    "profile_activation_us": "step/activation_part_us",
    "kernel_us": "step/kernels_alone_us",
    "dead": "health/dead",
    "saturated": "health/saturated",
    "grad_ratio": "health/grad_ratio",
}
TABLE = (  # summary.csv columns a table session reports
    "us_per_step_median", "cost_us", "cost_us_low", "cost_us_high", "cost_pct",
    "cost_pct_low", "cost_pct_high", "gain", "gain_low", "gain_high",
)  # fmt: skip
HPARAMS = ("dataset", "model", "hidden", "optimizer", "lr", "batch_size", "mode")


def _writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ActbenchError(
            "exporting to TensorBoard needs the tensorboard package: "
            "pip install 'actbench[tensorboard]'"
        ) from None
    return SummaryWriter


def _plain(value):
    """A value TensorBoard's hyper-parameters accept (a list as text)."""
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return value if isinstance(value, bool | int | float | str) else str(value)


def _finite(values: dict) -> dict:
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def tensorboard(folder: RunFolder, logdir: Path) -> Path:
    """Write `folder`'s trials and table under `logdir/<run name>`; returns that folder."""
    writer_class = _writer()
    run, trials, history = folder.info(), folder.trials(), folder.history()
    if trials.empty:
        raise ActbenchError(f"run {folder.path} has no finished trials to export")
    cfg, env = run.config, run.environment
    setup = {k: _plain(getattr(cfg, k)) for k in HPARAMS} | {
        "device": str(env.device), "threads": _plain(env.threads),
    }  # fmt: skip
    metric = run.metric
    root = logdir / folder.name
    try:
        _replaced(root)
        for trial in trials.to_dict("records"):
            name = f"{trial['activation']}-seed{trial['seed']}"
            mine = history[
                (history["activation"] == trial["activation"]) & (history["seed"] == trial["seed"])
            ]
            with writer_class(log_dir=str(root / name)) as writer:
                _curves(writer, mine)
                hparams = setup | {"activation": trial["activation"], "seed": int(trial["seed"])}
                writer.add_hparams(hparams, _trial_metrics(trial, metric), run_name=".")
        _table(writer_class, root / "table", folder, setup)
    except OSError as exc:
        raise ActbenchError(f"cannot write {root}: {exc.strerror or exc}") from None
    return root


def _replaced(root: Path) -> None:
    """An earlier export of this run is replaced, not doubled; anything else is refused."""
    if not root.exists():
        return
    others = [p for p in root.rglob("*") if p.is_file() and "tfevents" not in p.name]
    if others or not root.is_dir():
        raise ActbenchError(f"{root} holds files that are not TensorBoard events; not touched")
    shutil.rmtree(root)


def _curves(writer, history: pd.DataFrame) -> None:
    for row in history.sort_values("epoch").to_dict("records"):
        for column, tag in SCALARS.items():
            value = row.get(column)
            if value is not None and not pd.isna(value):
                writer.add_scalar(tag, float(value), int(row["epoch"]))


def _trial_metrics(trial: dict, metric: str) -> dict:
    return _finite(
        {
            f"hparam/test_{metric}": trial.get(f"test_{metric}"),
            "hparam/us_per_step_median": trial.get("us_per_step_median"),
            "hparam/epochs": trial.get("epochs"),
        }
    )


def _table(writer_class, root: Path, folder: RunFolder, setup: dict) -> None:
    """A hyper-parameter session per activation holding its row of the run's table."""
    summary = summarize_folder(folder)
    metric = summary["metric"].iloc[0]
    for row in summary.to_dict("records"):
        shown = TABLE[:1] if row["baseline"] else TABLE  # the baseline's cost is 0 by definition
        values = {f"hparam/{c}": row.get(c) for c in shown}
        values[f"hparam/test_{metric}"] = row.get(f"test_{metric}_mean")
        hparams = setup | {"activation": row["activation"], "run": folder.name}
        with writer_class(log_dir=str(root / row["activation"])) as writer:
            writer.add_hparams(hparams, _finite(values), run_name=".")
