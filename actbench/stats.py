"""Statistics for comparing runs: pure functions of arrays, no I/O.

Step times are a time series, not independent draws: a noisy neighbour or a frequency
change slows a stretch of consecutive steps. The confidence interval of a median ratio is
therefore a *moving-block* bootstrap (blocks of consecutive steps are resampled), which
widens the interval when a run drifts, where an i.i.d. bootstrap would claim false
precision. Accuracy differences over seeds use Welch's t-test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

MIN_SEEDS_FOR_ACCURACY_TEST = 3


def block_length(n: int) -> int:
    """sqrt(n) consecutive steps: long enough to carry drift, short enough for ~sqrt(n) blocks."""
    return max(1, round(math.sqrt(n)))


def _resampled_medians(
    trials: Sequence[np.ndarray], rng: np.random.Generator, n_boot: int, chunk: int = 128
) -> np.ndarray:
    """Median of the pooled trials, recomputed `n_boot` times with each trial block-resampled."""
    out = np.empty(n_boot)
    for lo in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - lo)
        pooled = []
        for series in trials:
            n = series.size
            block = block_length(n)
            k = -(-n // block)
            starts = rng.integers(0, n - block + 1, size=(rows, k))
            idx = (starts[:, :, None] + np.arange(block)).reshape(rows, -1)[:, :n]
            pooled.append(series[idx])
        out[lo : lo + rows] = np.median(np.concatenate(pooled, axis=1), axis=1)
    return out


def _series(trials: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(x, dtype=np.float64) for x in trials if len(x)]


def pooled_median_ratio(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    a, b = _series(a), _series(b)
    if not a or not b:
        return float("nan")
    return float(np.median(np.concatenate(b)) / np.median(np.concatenate(a)))


@dataclass(frozen=True)
class RatioEstimate:
    """Median(B) / median(A) with a bootstrap confidence interval."""

    ratio: float
    low: float
    high: float
    confidence: float

    def verdict(self, tolerance: float = 0.0) -> str:
        """`faster`/`slower` only when the whole interval is beyond 1 ± tolerance."""
        if self.low > 1.0 + tolerance:
            return "slower"
        if self.high < 1.0 - tolerance:
            return "faster"
        return "same"


def median_ratio(
    a: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    control: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
) -> RatioEstimate:
    """Ratio of pooled medians of B over A, each a list of per-trial step-time series.

    With `control` (the same reference workload timed during A and during B), the ratio is
    divided by the control's own B/A ratio, resampled alongside: what is left is the
    change in the step, not in the machine.
    """
    a, b = _series(a), _series(b)
    if not a or not b:
        nan = float("nan")
        return RatioEstimate(nan, nan, nan, confidence)
    rng = np.random.default_rng(seed)
    ratio = float(np.median(np.concatenate(b)) / np.median(np.concatenate(a)))
    boot = _resampled_medians(b, rng, n_boot) / _resampled_medians(a, rng, n_boot)
    if control is not None:
        ca, cb = _series(control[0]), _series(control[1])
        ratio /= float(np.median(np.concatenate(cb)) / np.median(np.concatenate(ca)))
        boot /= _resampled_medians(cb, rng, n_boot) / _resampled_medians(ca, rng, n_boot)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(boot, [tail, 100 - tail])
    return RatioEstimate(ratio, float(low), float(high), confidence)


@dataclass(frozen=True)
class AccuracyDelta:
    """B minus A in percentage points, and whether the seeds allow a test."""

    delta_points: float
    p_value: float | None  # None: fewer than 3 seeds on a side

    @property
    def testable(self) -> bool:
        return self.p_value is not None

    def verdict(self, alpha: float = 0.05) -> str:
        if not self.testable:
            return "not testable"
        if math.isnan(self.p_value) or self.p_value >= alpha:
            return "same"
        return "better" if self.delta_points > 0 else "worse"


def accuracy_delta(a: Sequence[float], b: Sequence[float]) -> AccuracyDelta:
    """Welch's t-test on per-seed test accuracies (0-1), reported in points."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    delta = 100 * (b.mean() - a.mean())
    if min(a.size, b.size) < MIN_SEEDS_FOR_ACCURACY_TEST:
        return AccuracyDelta(float(delta), None)
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # identical seeds on both sides: nothing to test
        return AccuracyDelta(float(delta), 1.0 if delta == 0 else 0.0)
    p = scipy_stats.ttest_ind(b, a, equal_var=False).pvalue
    return AccuracyDelta(float(delta), float(p))
