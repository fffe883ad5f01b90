"""Cost and gain over the baseline: what an activation costs, and what it buys.

- **cost**: extra time per step over the baseline (by default `identity`, the network with
  no nonlinearity). For every round that an activation and its seed's baseline both
  trained (`rounds.csv`; under the interleaved schedule the same stretch of time; a round
  of a resumed sequential run, which had no baseline beside it, pairs by index), the
  ratio of their median step times in that round; drift of the machine multiplies both
  and cancels. Per seed, the median of the log ratios; over seeds, their mean with a
  t interval (`stats.level`, the one estimator that `compare`, the plot and the API read
  too). As a percentage of the baseline's step in the same rounds, and in µs as that
  fraction of the baseline's median step. `cost_over` says what the interval is over:
  seeds (each in its own process), or *within this run* with one seed.
- **gain**: the dataset's metric over the baseline's, in the direction that is better
  (test-accuracy points; for RMSE, the baseline's RMSE minus the activation's), paired by
  seed (the same initial weights and batches on both sides): `stats.metric_delta`, the
  rule `compare` applies to two runs, so a gain's interval needs the seeds any interval
  over seeds needs (`stats.MIN_SEEDS`); with fewer there is only the difference.

Where a cost has no interval, `cost_no_interval` says why in one word (`NO_INTERVAL`), so
that every table can mark the cell and never star it.

`pareto` marks the activations that no other beats on both (cost lower-or-equal and gain
higher-or-equal, one of them strictly), among those whose cost can bear it: with an
interval, and read as 0 where that interval holds 0 (a saving it cannot show is none).
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd

from actbench import stats
from actbench.stats import CONFIDENCE
from actbench.task import ACCURACY, Metric

COLUMNS = (
    "cost_us",
    "cost_us_low",
    "cost_us_high",
    "cost_pct",
    "cost_pct_low",
    "cost_pct_high",
    "cost_rounds",
    "cost_seeds",
    "gain",
    "gain_low",
    "gain_high",
    "gain_seeds",
)
KEYS = ["seed", "group", "round"]
# why a cost has no interval, in the word its cell shows (the table's notes say the rest)
NO_INTERVAL = {
    "short": f"fewer than {stats.MIN_POINTS} rounds in a seed",
    "flat": "the same ratio in every round, no spread",
}


def _empty(names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: math.nan for c in COLUMNS}, index=pd.Index(names, name="activation"))
    frame["cost_over"] = ""
    frame["cost_no_interval"] = ""
    return frame


def why_no_interval(level: stats.Level) -> str:
    """The one word (`NO_INTERVAL`) for a level without an interval; '' when it has one."""
    if math.isfinite(level.se) and level.se > 0:
        return ""
    errors = [se for _, se in level.values.values()]
    return "short" if any(not math.isfinite(se) for se in errors) else "flat"


def paired_rounds(rounds: pd.DataFrame, activation: str, baseline: str) -> pd.DataFrame:
    """`activation`'s rounds beside its seed's baseline rounds (`us_median_base`), in time
    order within each seed."""
    if rounds.empty:
        return pd.DataFrame(columns=[*KEYS, "us_median", "us_median_base"])
    mine = rounds[rounds["activation"] == activation]
    base = rounds[rounds["activation"] == baseline]
    paired = mine.merge(base, on=KEYS, suffixes=("", "_base"))
    # rounds whose group had no baseline (a resumed sequential run) pair by index alone
    groups = ["seed", "group"]
    alone = mine[~mine.set_index(groups).index.isin(base.set_index(groups).index)]
    if not alone.empty:
        by_index = base.drop_duplicates(["seed", "round"]).drop(columns="group")
        paired = pd.concat(
            [paired, alone.merge(by_index, on=["seed", "round"], suffixes=("", "_base"))]
        )
    paired = paired[(paired["us_median"] > 0) & (paired["us_median_base"] > 0)]
    return paired.sort_values(KEYS, kind="stable")


def over_baseline(rounds: pd.DataFrame, activation: str, baseline: str) -> dict[int, np.ndarray]:
    """Per seed, `activation`'s per-round step time over its baseline's, in time order."""
    return _ratios(paired_rounds(rounds, activation, baseline))


def _ratios(paired: pd.DataFrame) -> dict[int, np.ndarray]:
    ratio = paired["us_median"] / paired["us_median_base"]
    return {int(s): r.to_numpy(float) for s, r in ratio.groupby(paired["seed"])}


def cost(
    rounds: pd.DataFrame, activation: str, baseline: str, first: Collection[int] = ()
) -> dict[str, float]:
    """Cost columns of `activation` against `baseline` from their paired rounds (`first`:
    the first stage of a run sized by `--precision`, `stats.level`)."""
    paired = paired_rounds(rounds, activation, baseline)
    series = _ratios(paired)
    if not series:
        return {}
    level = stats.level(series, first)
    ratio, low, high = level.interval(CONFIDENCE)
    base_us = float(paired.groupby("seed")["us_median_base"].median().median())
    return {
        "cost_pct": 100 * (ratio - 1),
        "cost_pct_low": 100 * (low - 1),
        "cost_pct_high": 100 * (high - 1),
        "cost_us": (ratio - 1) * base_us,
        "cost_us_low": (low - 1) * base_us,
        "cost_us_high": (high - 1) * base_us,
        "cost_rounds": float(sum(x.size for x in series.values())),
        "cost_seeds": float(level.seeds),
        "cost_over": level.over,
        "cost_no_interval": why_no_interval(level),
    }


def gain(
    trials: pd.DataFrame,
    activation: str,
    baseline: str,
    metric: Metric = ACCURACY,
) -> dict[str, float]:
    """Gain columns: the metric's improvement over the baseline (shown units), by seed."""
    score = trials.pivot_table(index="seed", columns="activation", values=metric.column)
    if activation not in score or baseline not in score:
        return {}
    base, mine = score[baseline].dropna(), score[activation].dropna()
    delta = stats.metric_delta(
        {int(s): float(v) for s, v in base.items()},
        {int(s): float(v) for s, v in mine.items()},
        CONFIDENCE,
        metric.scale,
        metric.sign,
    )
    if delta.seeds == 0:
        return {}
    ends = sorted((metric.sign * delta.low, metric.sign * delta.high))
    return {
        "gain": metric.sign * delta.delta,
        "gain_low": ends[0],
        "gain_high": ends[1],
        "gain_seeds": delta.seeds,
    }


def bearable(frame: pd.DataFrame) -> pd.Series:
    """The cost a best trade-off may be judged by: NaN without an interval or with a
    disturbed timing, 0 where the interval holds 0 (no saving, no cost shown), else the cost
    in µs. Without any other activation to judge, none (a baseline alone is no trade-off)."""
    low, high = frame["cost_us_low"], frame["cost_us_high"]
    usable = low.notna() & (frame["timing"].fillna("") == "")
    cost_us = frame["cost_us"].where(~((low <= 0) & (high >= 0)), 0.0).where(usable)
    if not cost_us[frame["cost_over"] != "baseline"].notna().any():
        return cost_us * math.nan
    return cost_us


def pareto(cost_us: pd.Series, gain: pd.Series) -> pd.Series:
    """True where no other activation is at least as cheap and as good, and better in one."""
    ok = cost_us.notna() & gain.notna()
    c, g = cost_us[ok], gain[ok]
    front = pd.Series(False, index=cost_us.index)
    for name in c.index:
        beaten = (c <= c[name]) & (g >= g[name]) & ((c < c[name]) | (g > g[name]))
        front[name] = not beaten.any()
    return front


def table(
    trials: pd.DataFrame,
    rounds: pd.DataFrame,
    baseline: str | None,
    metric: Metric = ACCURACY,
    first: Collection[int] = (),
) -> pd.DataFrame:
    """Cost and gain of every activation in `trials` (NaN without a baseline or rounds)."""
    names = list(dict.fromkeys(trials["activation"]))
    frame = _empty(names)
    if baseline is None or baseline not in names:
        return frame
    for name in names:
        values = {}
        if name == baseline:
            values = {c: 0.0 for c in COLUMNS if not c.endswith(("rounds", "seeds"))}
            values["cost_over"] = "baseline"
        else:
            values.update(cost(rounds, name, baseline, first))
            values.update(gain(trials, name, baseline, metric))
        for column, value in values.items():
            frame.loc[name, column] = value
    return frame
