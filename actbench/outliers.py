"""A seed whose process ran an activation at another speed, named under the table.

Each seed trains in a worker process of its own, and the cost's interval is over seeds, so
a process that runs one activation slowly (elu's AVX512 kernel at some times and not
others; a mish at +59.5 % in one process against +32–34 % in the others) only widens the
interval and moves its point. Nothing else would say so. Here, per activation, each seed's
cost (the median of its rounds' log ratios over its own baseline, the value the interval
averages: `stats.seed_value`) is set against the median of the other seeds'. A seed is
*apart* when that distance is larger than all of:

- `APART_POINTS` of cost % (smaller is not worth a line),
- `APART_FACTOR` times how far seeds usually lie apart in this run: their standard
  deviation around their activation's mean, pooled over every activation, the candidate
  left out (the other two of three seeds alone cannot say what is usual), and
- `APART_FACTOR` times the two sides' within-seed standard errors combined,

with at least `MIN_SEEDS` seeds (with two, which one is apart cannot be told).

What the rounds can tell about *why* comes with it: the share of the seed's rounds that
lie nearer its own cost than the others' (all of them: the whole process, or a spell as
long as it; some: a spell inside it); whether other seeds trained at the same time at their
usual cost (then it is that process, not the machine) or it trained alone (then a slow
spell fits as well as a slow process); and its kernels alone (`kernels.py`, timed in the
same process) against the others': slower too means the kernel itself ran slower there.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from actbench import costs, stats

APART_POINTS = 5.0  # points of cost %
APART_FACTOR = 4.0
MIN_SEEDS = 3
KERNEL_APART = 1.5  # kernels alone this many times apart: the kernel itself
COLUMNS = (
    "apart_seed",
    "apart_cost_pct",
    "apart_others_pct",
    "apart_rounds_pct",
    "apart_alone",
    "apart_kernel_us",
    "apart_others_kernel_us",
)


def table(rounds: pd.DataFrame, baseline: str | None, history: pd.DataFrame | None) -> pd.DataFrame:
    """Per activation with a seed apart, that seed and what the rounds say of it (columns
    `COLUMNS`); activations without one are absent."""
    empty = pd.DataFrame(columns=list(COLUMNS)).rename_axis("activation")
    if baseline is None or rounds.empty or "start_seconds" not in rounds:
        return empty
    paired = {
        name: _logs(costs.paired_rounds(rounds, name, baseline))
        for name in dict.fromkeys(rounds["activation"])
        if name != baseline
    }
    values = {name: _seed_values(p) for name, p in paired.items()}
    rows = {}
    for name, p in paired.items():
        found = _apart(p, values, name)
        if found is not None:
            rows[name] = {**found, **_kernels(history, name, int(found["apart_seed"]))}
    if not rows:
        return empty
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS)).rename_axis(
        "activation"
    )


def _logs(paired: pd.DataFrame) -> pd.DataFrame:
    ratio = paired["us_median"] / paired["us_median_base"]
    return paired.assign(ratio=ratio, log=np.log(ratio))


def _seed_values(paired: pd.DataFrame) -> dict[int, tuple[float, float]]:
    """Per seed, (median log ratio, its within-seed standard error): `stats.seed_value`."""
    return {
        int(s): stats.seed_value(g["ratio"].to_numpy(), seed=int(s))
        for s, g in paired.groupby("seed")
    }


def _pooled(values: dict[str, dict[int, tuple[float, float]]], name: str, seed: int) -> float:
    """The seeds' standard deviation around their activation's mean, pooled over every
    activation of the run, the candidate left out: how far seeds usually lie apart here
    (three seeds alone cannot say; the run's other activations can)."""
    squares, df = 0.0, 0
    for other, by_seed in values.items():
        logs = np.array([v[0] for s, v in by_seed.items() if (other, s) != (name, seed)])
        logs = logs[np.isfinite(logs)]
        if logs.size >= 2:
            squares += float(((logs - logs.mean()) ** 2).sum())
            df += logs.size - 1
    return math.sqrt(squares / df) if df else math.nan


def _apart(paired: pd.DataFrame, values: dict, name: str) -> dict | None:
    """The seed furthest from the others, if it is apart; None otherwise."""
    mine = values[name]
    if len(mine) < MIN_SEEDS:
        return None
    center = {s: v[0] for s, v in mine.items()}
    seed = max(center, key=lambda s: abs(center[s] - _others_median(center, s)))
    mid = _others_median(center, seed)
    distance = abs(center[seed] - mid)
    within = math.hypot(
        _finite(mine[seed][1]), max(_finite(mine[s][1]) for s in center if s != seed)
    )
    usual = max(_finite(_pooled(values, name, seed)), within)
    points = abs(100 * (math.exp(center[seed]) - math.exp(mid)))
    if not (points > APART_POINTS and distance > APART_FACTOR * usual):  # NaN: none
        return None
    rounds = paired[paired["seed"] == seed]
    nearer = (rounds["log"] - center[seed]).abs() < (rounds["log"] - mid).abs()
    return {
        "apart_seed": seed,
        "apart_cost_pct": 100 * (math.exp(center[seed]) - 1),
        "apart_others_pct": 100 * (math.exp(mid) - 1),
        "apart_rounds_pct": 100 * float(nearer.mean()),
        "apart_alone": not _overlapped(rounds, paired[paired["seed"] != seed]),
    }


def _others_median(center: dict[int, float], seed: int) -> float:
    return float(np.median([v for s, v in center.items() if s != seed]))


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _overlapped(mine: pd.DataFrame, others: pd.DataFrame) -> bool:
    """Whether another seed trained during at least half of this seed's rounds' span."""
    start, end = mine["start_seconds"].min(), mine["start_seconds"].max()
    if others.empty or not end > start:
        return False
    spans = others.groupby("seed")["start_seconds"].agg(["min", "max"])
    shared = (np.minimum(spans["max"], end) - np.maximum(spans["min"], start)).clip(lower=0)
    return bool(shared.max() >= (end - start) / 2)


def _kernels(history: pd.DataFrame | None, name: str, seed: int) -> dict[str, float]:
    """The seed's kernels-alone median beside the other seeds' (NaN where not read)."""
    nan = {"apart_kernel_us": math.nan, "apart_others_kernel_us": math.nan}
    if history is None or "kernel_us" not in history:
        return nan
    mine = history[history["activation"] == name]
    per_seed = mine.groupby("seed")["kernel_us"].median().dropna()
    if seed not in per_seed.index or len(per_seed) < 2:
        return nan
    return {
        "apart_kernel_us": float(per_seed[seed]),
        "apart_others_kernel_us": float(per_seed.drop(seed).median()),
    }


def notes(summary: pd.DataFrame) -> list[str]:
    """One line per activation with a seed apart: which seed, how far, and what the rounds
    say of why."""
    if "apart_seed" not in summary:
        return []
    return [_note(row) for row in summary.to_dict("records") if pd.notna(row["apart_seed"])]


def _note(row: dict) -> str:
    seed, mine, others = int(row["apart_seed"]), row["apart_cost_pct"], row["apart_others_pct"]
    text = (
        f"seed apart: {row['activation']} cost {mine:+.1f} % in seed {seed}'s process, "
        f"{mine - others:+.1f} points from the other seeds' {others:+.1f} % (median); "
        f"{row['apart_rounds_pct']:.0f} % of its rounds lie nearer its own cost. "
    )
    if row["apart_alone"]:
        text += "It trained while no other seed did: a slow spell fits as well as a slow process."
    else:
        text += "Other seeds trained at the same time at their usual cost: that process, not "
        text += "the machine."
    kernel, usual = row.get("apart_kernel_us", math.nan), row.get("apart_others_kernel_us")
    # net of identity's calls, a kernel lost in noise reads 0 or below: no ratio to judge by
    if pd.notna(kernel) and pd.notna(usual) and kernel > 0 and usual > 0:
        text += f" Its kernels alone read {kernel:.1f} µs against {usual:.1f} µs in the others': "
        if abs(math.log(kernel / usual)) > math.log(KERNEL_APART):
            text += "the kernel itself ran at another speed there."
        else:
            text += "the kernel ran as usual; what differs is around it."
    return text
