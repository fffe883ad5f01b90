"""When a trial's step times should not be read at face value: the disturbance policy.

torch.utils.benchmark and pyperf warn about the same two signs: a wide spread, or a tail of
steps many times the median that pulls the mean far above it (a neighbour, a page fault
storm, ...). `StepStats` is what a trial records of its step times; `reason` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SPREAD_LIMIT = 0.10  # IQR / median
SLOW_FACTOR = 5.0  # a step this many times the median belongs to the tail
MEAN_LIMIT = 1.25  # mean / median


def reason(median: float, p25: float, p75: float, mean: float, slow_steps: float = 0) -> str:
    """Why a trial's step times should not be read at face value ('' when nothing is off)."""
    if not median > 0:
        return ""
    reasons = []
    if (p75 - p25) / median >= SPREAD_LIMIT:
        reasons.append(f"IQR {100 * (p75 - p25) / median:.0f}% of median")
    if mean / median >= MEAN_LIMIT:
        tail = f", {int(slow_steps)} steps > {SLOW_FACTOR:g}× median" if slow_steps else ""
        reasons.append(f"mean {mean / median:.2f}× median{tail}")
    return "; ".join(reasons)


@dataclass(frozen=True)
class StepStats:
    """Summary of one trial's step times (µs), warm-up already removed."""

    median: float
    p25: float
    p75: float
    mean: float
    std: float
    n: int
    slow_steps: int = 0  # steps over SLOW_FACTOR x the median

    @classmethod
    def of(cls, samples_us: np.ndarray) -> StepStats:
        s = np.asarray(samples_us, dtype=np.float64)
        if s.size == 0:
            nan = float("nan")
            return cls(nan, nan, nan, nan, nan, 0)
        p25, median, p75 = np.percentile(s, [25, 50, 75])
        slow = int(np.count_nonzero(s > SLOW_FACTOR * median))
        return cls(
            float(median), float(p25), float(p75), float(s.mean()), float(s.std()), s.size, slow
        )


def of_trials(trials: pd.DataFrame) -> pd.Series:
    """Per trial: why its step times should not be read at face value ('' if clean)."""
    slow = trials["slow_steps"] if "slow_steps" in trials else pd.Series(0, index=trials.index)
    return pd.Series(
        [
            reason(m, lo, hi, mean, n)
            for m, lo, hi, mean, n in zip(
                trials["us_per_step_median"],
                trials["us_per_step_p25"],
                trials["us_per_step_p75"],
                trials["us_per_step_mean"],
                slow,
                strict=True,
            )
        ],
        index=trials.index,
        dtype=object,
    )


def by_activation(trials: pd.DataFrame) -> pd.Series:
    """Per activation: the disturbed trials' reasons, by seed when there are several."""
    reasons = trials.assign(reason=of_trials(trials))
    several = trials["seed"].nunique() > 1
    out = {}
    for name, rows in reasons.groupby("activation", sort=False):
        flagged = rows[rows["reason"] != ""]
        out[name] = "; ".join(
            f"seed {s}: {r}" if several else r
            for s, r in zip(flagged["seed"], flagged["reason"], strict=True)
        )
    return pd.Series(out, dtype=object)
