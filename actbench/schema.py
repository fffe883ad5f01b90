"""What a run folder's files must hold, checked on every read.

A run folder is a contract between the sweep that writes it and everything that reads it
later (`show`, `compare`, `plot`, `--resume`), perhaps after a copy, an edit or a full
disk. Each read checks columns, types, activation names and seeds against the run's own
`run.json`, so damage becomes one line naming the file, the row and what is wrong, never
a traceback and never a silently wrong table (a stray `garbage,row` line is not an
activation named `garbage`). Columns added in later versions are optional, so older runs
still read.
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from actbench.config import SweepConfig
from actbench.errors import ActbenchError
from actbench.records import TrialResult

INT, FLOAT, TEXT = "integer", "number", "text"
COUNT = "count"  # a whole number >= 0 where present (a column older rows may lack)
COLUMNS: dict[str, dict[str, str]] = {
    "trials.csv": {
        "activation": TEXT,
        "seed": INT,
        "test_accuracy": FLOAT,
        "epochs": INT,
        "steps": INT,
        "warmup_steps": INT,
        "us_per_step_median": FLOAT,
        "us_per_step_p25": FLOAT,
        "us_per_step_p75": FLOAT,
        "us_per_step_mean": FLOAT,
    },
    "history.csv": {
        "activation": TEXT,
        "seed": INT,
        "epoch": INT,
        "train_loss": FLOAT,
        "val_loss": FLOAT,
        "val_accuracy": FLOAT,
        "us_per_step_median": FLOAT,
    },
    "rounds.csv": {
        "activation": TEXT,
        "seed": INT,
        "group": INT,
        "round": INT,
        "epoch": INT,
        "steps": INT,
        "us_median": FLOAT,
    },
}
OPTIONAL: dict[str, dict[str, str]] = {  # checked when present (added in later versions)
    "trials.csv": {
        "group": INT,
        "slow_steps": COUNT,
        "train_seconds": FLOAT,
        "test_rmse": FLOAT,
        "test_rmse_raw": FLOAT,
    },
    "history.csv": {"reference_us": FLOAT, "val_rmse": FLOAT},
    "rounds.csv": {"start_seconds": FLOAT},
    "memory.csv": {"saved_bytes": INT},
}
KEYS = {
    "trials.csv": ["activation", "seed"],
    "history.csv": ["activation", "seed", "epoch"],
    "rounds.csv": ["activation", "seed", "group", "round"],
    "memory.csv": ["activation", "seed", "layer"],
}


def run_info(info: object, path: Path) -> dict:
    """run.json: an object whose config names the activations and seeds."""
    config = info.get("config") if isinstance(info, dict) else None
    if not isinstance(config, dict):
        raise ActbenchError(f"{path} is not an actbench run (no configuration object)")
    names, seeds = config.get("activations"), config.get("seeds")
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise ActbenchError(f"{path}: config.activations is not a list of names")
    if not (isinstance(seeds, list) and seeds and all(isinstance(s, int) for s in seeds)):
        raise ActbenchError(f"{path}: config.seeds is not a list of integers")
    return info


# What older versions left out of run.json, and what it meant then: runs saved before
# schedules and baselines trained one trial after another, alone; before datasets, on MNIST
# (scored by accuracy); before --momentum, SGD had momentum 0.9; before the reference step
# took the run's own model, it timed this one.
BEFORE = {
    "schedule": "sequential",
    "baseline": None,
    "dataset": "mnist",
    "window": None,
    "model": "mlp",
    "mode": "eager",
}
OLD_SGD_MOMENTUM = 0.9
OLD_REFERENCE = "mlp 100-100-100, relu, batch 100, forward+backward"
OLD_STEPS = "steps.npz"  # every trial's steps in one file, rewritten per trial (before 0.9)
OLD_ROUND_STEPS = 10  # steps per round, for runs saved before rounds.csv


def upgrade(info: dict) -> dict:
    """run.json in today's format, whatever version wrote it: the one place that knows the
    older formats (`run_record.RunRecord` reads only today's). Config keys it never had take
    what they meant then (`BEFORE`), else today's defaults."""
    saved = info["config"]
    config = {**SweepConfig().to_json(), **BEFORE, **saved}
    if "momentum" not in saved:
        config["momentum"] = OLD_SGD_MOMENTUM if saved.get("optimizer") == "sgd" else 0.0
    upgraded = {
        **info,
        "config": config,
        "metric": info.get("metric") or "accuracy",
        "reference": info.get("reference", OLD_REFERENCE),
    }
    if isinstance(info.get("environment"), dict):
        upgraded["environment"] = _environment(info["environment"])
    return upgraded


def _environment(env: dict) -> dict:
    """The first versions recorded the usable CPUs as a list (today "0,1") and a dirty tree
    as a commit ending in "-dirty" (today `git_dirty`)."""
    env = dict(env)
    if isinstance(env.get("cpu_affinity"), list):
        env["cpu_affinity"] = ",".join(map(str, env["cpu_affinity"])) or None
    commit = env.get("git_commit")
    if isinstance(commit, str) and commit.endswith("-dirty") and "git_dirty" not in env:
        env["git_commit"], env["git_dirty"] = commit.removesuffix("-dirty"), True
    return env


# trials.csv columns later versions added, and what a row without them means: the run's
# mode and model, the run itself (group 0: no resume), a tail never counted (NaN: the
# spread decides, `disturbance.reason`), and every reading not taken then (NaN, as a trial
# records one it did not take).
TRIALS_NOT_MEASURED = tuple(
    f.name for f in fields(TrialResult) if isinstance(f.default, float) and math.isnan(f.default)
)


def upgrade_trials(frame: pd.DataFrame, config: SweepConfig | None = None) -> pd.DataFrame:
    """trials.csv rows in today's format, the columns older versions did not write as they
    meant then; `config`: the run's (upgraded), else what a run was before modes."""
    mode, model = (
        (BEFORE["mode"], BEFORE["model"]) if config is None else (config.mode, config.model)
    )
    before = {"mode": mode, "model": model, "group": 0, "slow_steps": math.nan}
    before |= dict.fromkeys(TRIALS_NOT_MEASURED, math.nan)
    missing = {name: value for name, value in before.items() if name not in frame}
    return frame.assign(**missing) if missing else frame


def old_step_files(folder: Path) -> list[Path]:
    """The step file of a run saved before 0.9 (one steps.npz for every trial), if any:
    read before the per-trial files, so a trial saved again since overrides it."""
    old = folder / OLD_STEPS
    return [old] if old.is_file() else []


def rounds_from_steps(steps: dict[tuple[str, int], np.ndarray]) -> pd.DataFrame:
    """rounds.csv's per-round medians for a run saved before rounds were: its saved steps,
    in blocks of `OLD_ROUND_STEPS` (what a round was then)."""
    rows = []
    for (activation, seed), us in steps.items():
        if not len(us):
            continue
        blocks = np.array_split(np.asarray(us, float), max(1, len(us) // OLD_ROUND_STEPS))
        rows += [
            {"activation": activation, "seed": seed, "group": 0, "round": i,
             "us_median": float(np.median(b))}
            for i, b in enumerate(blocks)
        ]  # fmt: skip
    return pd.DataFrame(rows, columns=["activation", "seed", "group", "round", "us_median"])


def table(frame: pd.DataFrame, path: Path, names: set[str], seeds: set[int]) -> pd.DataFrame:
    """`frame` (read from `path`) with checked, converted columns; or a one-line refusal."""
    kind = path.name
    spec = COLUMNS.get(kind, {})
    missing = [c for c in spec if c not in frame]
    if missing:
        raise ActbenchError(f"{path} is damaged: missing column(s) {', '.join(missing)}")
    frame = frame.copy()
    present = {c: t for c, t in OPTIONAL.get(kind, {}).items() if c in frame}
    for column, want in {**spec, **present}.items():
        frame[column] = _convert(frame[column], want, column, path)
    for column, allowed, what in (("activation", names, "activation"), ("seed", seeds, "seed")):
        if column in frame:
            bad = frame[~frame[column].isin(allowed)]
            if not bad.empty:
                value = _plain(bad[column].iloc[0])
                raise ActbenchError(
                    f"{path} is damaged: row {_row(bad)} has {what} {value!r}, "
                    f"which this run does not train ({', '.join(map(str, sorted(allowed)))})"
                )
    keys = KEYS.get(kind)
    if keys:
        duplicated = frame[frame.duplicated(keys, keep=False)]
        if not duplicated.empty:
            raise ActbenchError(
                f"{path} is damaged: row {_row(duplicated)} repeats "
                f"{', '.join(f'{k} {_plain(duplicated[k].iloc[0])!r}' for k in keys)}"
            )
    return frame


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds, so messages read `7`, not np.int64(7)."""
    return value.item() if isinstance(value, np.generic) else value


def _row(frame: pd.DataFrame) -> int:
    return int(frame.index[0]) + 2  # 1-based, after the header line


def _convert(values: pd.Series, want: str, column: str, path: Path) -> pd.Series:
    if want == TEXT:
        bad = values.isna() | (values.astype(str).str.strip() == "")
        converted = values.astype(str)
    else:
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()  # present but not a number
        if want == INT:
            bad |= converted.isna() | (converted % 1 != 0)
            converted = converted.fillna(0).astype(np.int64) if not bad.any() else converted
        elif want == COUNT:
            bad |= converted.notna() & ((converted % 1 != 0) | (converted < 0))
    if bad.any():
        raise ActbenchError(
            f"{path} is damaged: row {_row(values[bad].to_frame())}: {column} "
            f"{values[bad].iloc[0]!r} is not a{'n' if want == INT else ''} {want}"
        )
    return converted


def steps(
    arrays: dict[str, np.ndarray], path: Path, names: set[str], seeds: set[int]
) -> dict[tuple[str, int], np.ndarray]:
    """A steps file's trials (any version's, `upgrade_steps`), each one this run trains."""
    out = upgrade_steps(arrays, path)
    for activation, seed in out:
        if activation not in names or seed not in seeds:
            raise ActbenchError(
                f"{path} is damaged: trial {activation!r}, seed {seed} is not in this run"
            )
    return out


def upgrade_steps(arrays: dict[str, np.ndarray], path: Path) -> dict[tuple[str, int], np.ndarray]:
    """A steps file's step times by (activation, seed), whatever version wrote it. Today's
    file is one trial's: `activation` and `seed` are scalars beside its `us`. Older files
    laid trials end to end, cut by an `offset` array: before 0.9 one steps.npz held every
    trial, and each trial's own file kept that layout (one-element arrays) until steps/
    had a format of its own."""
    if "offset" not in arrays:
        acts, seed, us = _arrays(arrays, path, ("activation", "seed", "us"))
        if not (acts.ndim == seed.ndim == 0 and us.ndim == 1):
            raise ActbenchError(f"{path} is damaged: not one trial's activation, seed and steps")
        return {(str(acts.item()), int(seed.item())): us}
    acts, seed, offset, us = _arrays(arrays, path, ("activation", "seed", "offset", "us"))
    if not (acts.ndim == seed.ndim == offset.ndim == us.ndim == 1):
        raise ActbenchError(f"{path} is damaged: arrays are not one-dimensional")
    if len(acts) != len(seed) or len(offset) != len(acts) + 1:
        raise ActbenchError(f"{path} is damaged: {len(acts)} trials but {len(offset)} offsets")
    if offset[0] != 0 or np.any(np.diff(offset) < 0) or offset[-1] != len(us):
        raise ActbenchError(f"{path} is damaged: offsets do not cover its {len(us)} steps")
    trials = zip(acts, seed, offset[:-1], offset[1:], strict=True)
    return {(str(a), int(s)): us[start:end] for a, s, start, end in trials}


def _arrays(arrays: dict[str, np.ndarray], path: Path, names: tuple[str, ...]) -> list:
    try:
        return [arrays[name] for name in names]
    except KeyError as exc:
        raise ActbenchError(f"{path} is damaged: no array {exc}") from None
