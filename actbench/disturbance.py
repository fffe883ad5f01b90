"""When a trial's step times should not be read at face value: the disturbance policy.

A neighbour that competes for a trial's core shows as preemption: steps the scheduler
interrupted take several times the median (a time slice is a few ms, a step about one). A
trial is disturbed when at least `PREEMPTED_LIMIT` of its timed steps took `SLOW_FACTOR`
times its median or more, or when such a tail pulls the mean `MEAN_LIMIT` times above the
median (what torch.utils.benchmark and pyperf warn about). Calibrated on this project's
2-core machine with default sweeps, quiet and under an on/off CPU hog
(`scripts/calibrate_disturbance.py`; docs/measuring.md quotes its file): quiet trials stay
below the limit, trials that share their core with the hog go above it. The spread of the
steps (IQR over median) is not a sign: it is wide on a quiet machine too. Runs saved before
the tail was counted are read by their spread, as then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # a worker imports this module for `StepStats`: pandas only for tables
    import pandas as pd

SPREAD_LIMIT = 0.10  # IQR / median: only for runs saved without `slow_steps`
SLOW_FACTOR = 5.0  # a step this many times the median was interrupted
PREEMPTED_LIMIT = 0.01  # the share of such steps that makes a trial disturbed
MEAN_LIMIT = 1.25  # mean / median


def reason(
    median: float,
    p25: float,
    p75: float,
    mean: float,
    slow_steps: float = float("nan"),
    timed_steps: float = float("nan"),
) -> str:
    """Why a trial's step times should not be read at face value ('' when nothing is off).
    Without a count of slow steps (older runs) the spread decides."""
    if not median > 0:
        return ""
    reasons = []
    counted = np.isfinite(slow_steps) and np.isfinite(timed_steps) and timed_steps > 0
    if counted and slow_steps / timed_steps >= PREEMPTED_LIMIT:
        reasons.append(f"{100 * slow_steps / timed_steps:.1f}% of steps > {SLOW_FACTOR:g}× median")
    elif not counted and (p75 - p25) / median >= SPREAD_LIMIT:
        reasons.append(f"IQR {100 * (p75 - p25) / median:.0f}% of median")
    if mean / median >= MEAN_LIMIT:
        reasons.append(f"mean {mean / median:.2f}× median")
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
    """Per trial: why its step times should not be read at face value ('' if clean).
    `trials` in today's columns (`schema.upgrade_trials`: an uncounted tail is NaN)."""
    import pandas as pd  # ~0.4 s a worker (and the zygote before its first fork) need not pay

    slow, timed = trials["slow_steps"], trials["steps"] - trials["warmup_steps"]
    return pd.Series(
        [
            reason(m, lo, hi, mean, n, k)
            for m, lo, hi, mean, n, k in zip(
                trials["us_per_step_median"],
                trials["us_per_step_p25"],
                trials["us_per_step_p75"],
                trials["us_per_step_mean"],
                slow,
                timed,
                strict=True,
            )
        ],
        index=trials.index,
        dtype=object,
    )


def by_activation(trials: pd.DataFrame) -> pd.Series:
    """Per activation: the disturbed trials' reasons, by seed when there are several."""
    import pandas as pd

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
