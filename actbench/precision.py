"""A precision asked for (`--precision P`): how many seeds each cost's interval needs to be
±P points of cost % wide, and what the run reached.

Stein's two-stage procedure (Stein 1945). The run's seeds as given are the first stage
(n0 of them, two or more: a spread needs two). For every activation, from the same per-seed
values its cost interval is made of (`stats.level`: per seed the median log ratio over its
baseline), their spread s0 (never below the seeds' own within-seed errors, as the interval
rule has it). The target ±P points is a half-width h on that log scale at the first stage's
cost c (`exp(m0) = 1 + c/100`, ±P points spanning `sinh(h) = P / (100 + c)`), and the
activation needs N = max(n0, ceil((t(n0 - 1, 0.975) · s0 / h)²)) seeds. The run trains the
largest N over its activations, at most `--max-seeds` in all, on the next unused seed
numbers: every activation on every added seed, interleaved as any seed's group, in the
same folder (`runner.py`).

The interval then shown is Stein's own (`stats.stein`): the mean over all N seeds, with the
first stage's s0 over sqrt(N) and t(n0 - 1). N depends on s0 alone, so its coverage is
exact under normal per-seed values (`1 - α` or more), and when N stays under the cap its
half-width is at most h by construction. The one-stage rule on all N seeds would not hold
its coverage after an N chosen from the data (`tests/test_precision.py` simulates both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from actbench import costs, stats
from actbench.run_record import RunRecord


def log_half_width(precision: float, cost_pct: float) -> float:
    """The half-width on the log scale that spans ±`precision` points at `cost_pct`."""
    return math.asinh(precision / (100.0 + cost_pct))


def seeds_needed(values: np.ndarray, errors: np.ndarray, precision: float) -> int | None:
    """Stein's N for one activation from its first-stage per-seed values (logs) and their
    within-seed errors; None when they make no interval (a seed too short)."""
    n0 = values.size
    s0 = stats.spread(values, errors)
    if not math.isfinite(s0):
        return None
    h = log_half_width(precision, 100.0 * math.expm1(float(values.mean())))
    t = float(scipy_stats.t.ppf((1 + stats.CONFIDENCE) / 2, n0 - 1))
    return max(n0, math.ceil((t * s0 / h) ** 2))


@dataclass(frozen=True)
class Sizing:
    """The second stage: how many seeds the worst activation needed, and the run's seeds."""

    first: tuple[int, ...]
    needed: int
    seeds: tuple[int, ...]  # the first stage and the seeds added, at most the cap in all

    @property
    def added(self) -> tuple[int, ...]:
        return self.seeds[len(self.first) :]

    def record(self) -> dict:
        """run.json's `precision`: what the first stage decided."""
        return {"first_seeds": list(self.first), "needed": self.needed, "seeds": len(self.seeds)}


def size(
    rounds: pd.DataFrame,
    activations: Sequence[str],
    baseline: str,
    first: Sequence[int],
    precision: float,
    cap: int,
) -> Sizing:
    """The seeds the run needs after its `first` stage, from its saved rounds."""
    needed = len(first)
    for name in activations:
        if name == baseline:
            continue
        series = costs.over_baseline(rounds, name, baseline)
        level = stats.level({s: x for s, x in series.items() if s in first})
        if level.seeds < stats.MIN_SEEDS:
            continue
        v = np.array([x[0] for x in level.values.values()])
        e = np.array([x[1] for x in level.values.values()])
        needed = max(needed, seeds_needed(v, e, precision) or 0)
    extra = min(needed, cap) - len(first)
    added = tuple(range(max(first) + 1, max(first) + 1 + extra))
    return Sizing(tuple(first), needed, tuple(first) + added)


def announce(sizing: Sizing, asked: float, cap: int) -> str:
    """The line a sweep says between its stages."""
    n0, n = len(sizing.first), len(sizing.seeds)
    head = f"precision ±{asked:g} points: the first {n0} seeds ask for {sizing.needed}"
    if not sizing.added:
        return f"{head}; no seed to add"
    capped = f" (the cap, --max-seeds {cap})" if sizing.needed > cap else ""
    return f"{head}; training seeds {sizing.added[0]}-{sizing.added[-1]}, {n} in all{capped}"


def half_widths(summary: pd.DataFrame) -> pd.Series:
    """Each activation's cost half-width in points (NaN without an interval)."""
    rows = summary[summary["cost_over"] != "baseline"].set_index("activation")
    return (rows["cost_pct_high"] - rows["cost_pct_low"]) / 2


def note(run: RunRecord, summary: pd.DataFrame) -> str | None:
    """What was asked and what was reached, under the table of a run sized by --precision."""
    c = run.config
    if c.precision is None or not run.first_seeds:
        return None
    half = half_widths(summary)
    reached = [f"{a} (±{w:.1f})" for a, w in half.items() if w <= c.precision]
    short = [f"{a} (±{w:.1f})" for a, w in half.items() if w > c.precision]
    none = [a for a, w in half.items() if not math.isfinite(w)]
    seeds, n0 = len(c.seeds), len(run.first_seeds)
    parts = [f"precision asked ±{c.precision:g} points"]
    parts.append(f"reached for {', '.join(reached)}" if reached else "reached for none")
    if short:
        capped = run.seeds_needed is not None and run.seeds_needed > seeds
        within = (
            f"within the cap of {c.max_seeds} seeds (they needed {run.seeds_needed})"
            if capped
            else f"with {seeds} seeds"
        )
        parts.append(f"not for {', '.join(short)} {within}")
    if none:
        parts.append(f"no interval for {', '.join(none)}")
    how = (
        f"{n0} first seeds sized the run to {seeds} (Stein's two stages); cost intervals are "
        f"Stein's: the first seeds' spread with t({n0 - 1}), over all {seeds}."
    )
    return "; ".join(parts) + f". {how}"
