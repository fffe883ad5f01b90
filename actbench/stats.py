"""Statistics for comparing runs: pure functions of arrays, no I/O.

A row of `compare` is the ratio B/A of one *level* per side. A side's level is the
geometric mean over its trials (seeds) of each trial's median of a time series: per-round
cost over the run's own baseline, per-epoch step time over the reference step, or
per-round step time (see `comparison.py`), so every trial weighs the same however long it
trained.

Its interval is a bootstrap over the two levels the variance sits at. Within a trial the
series is redrawn with the *stationary* bootstrap (Politis & Romano: blocks of random
length, wrapping around the end, so no round is under-sampled), with the expected block
length chosen from the series itself (Politis & White); both from `arch.bootstrap`. Drift
that lasts many rounds makes the blocks long and the interval wide, where an i.i.d.
bootstrap would claim false precision. Between trials, the seeds are redrawn with
replacement (jointly on both sides when they hold the same seeds, which pairs them), the
spread widened by sqrt(k/(k-1)), the bootstrap's known shortfall with k clusters. The
wider of the two is used: redrawing both stages at once counts the within-trial noise
twice (measured: 100 % coverage of a nominal 95 % interval, see tests/test_stats.py).
Run-to-run variance that a single run cannot show is not in the interval; that is why a
row that has a baseline is measured against it (see `comparison.py`).

Accuracy differences are paired by seed (same initial weights and batches on both sides):
a paired t-test and t-interval over the common seeds, or "not testable" with fewer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from arch.bootstrap import StationaryBootstrap, optimal_block_length
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

MIN_SEEDS_FOR_ACCURACY_TEST = 3
MIN_POINTS = 5  # fewer samples a side: no interval (a median of 4 values says little)
RESAMPLES = 2000  # p-values down to 1/2001: enough for Holm over ~16 rows at 2.5 %
DEFAULT_TOLERANCE = 0.03


def block_length(series: np.ndarray) -> float:
    """Expected block length of the stationary bootstrap for `series`, from the data."""
    n = series.size
    if n < 8 or np.ptp(series) == 0:
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):  # a flat stretch: zero variance
        estimate = float(optimal_block_length(series)["stationary"].iloc[0])
    return float(np.clip(estimate, 1.0, n / 2)) if math.isfinite(estimate) else 1.0


def _trial_medians(series: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """`reps` medians of stationary-bootstrap resamples of one trial's series."""
    if series.size < 2 or np.ptp(series) == 0:
        return np.full(reps, float(np.median(series)))
    bootstrap = StationaryBootstrap(block_length(series), series, seed=rng)
    return bootstrap.apply(np.median, reps)[:, 0]


def _level(series: Sequence[np.ndarray]) -> float:
    return float(np.exp(np.mean([np.log(np.median(s)) for s in series])))


def _within(series: Sequence[np.ndarray], reps: int, rng: np.random.Generator) -> np.ndarray:
    """(reps,) log-levels with every trial kept and its series redrawn within."""
    return np.mean([np.log(_trial_medians(s, reps, rng)) for s in series], axis=0)


def _between(series: Sequence[np.ndarray], picks: np.ndarray) -> np.ndarray:
    """(reps,) log-levels with the trials redrawn (`picks`), their medians kept; spread
    by sqrt(k/(k-1)), the bootstrap's known shortfall with k clusters."""
    logs = np.log([np.median(s) for s in series])
    boot = logs[picks].mean(axis=1)
    k = len(series)
    return logs.mean() + (boot - boot.mean()) * math.sqrt(k / (k - 1))


def _clean(trials: Sequence[np.ndarray]) -> list[np.ndarray]:
    out = [np.asarray(x, dtype=np.float64) for x in trials]
    return [x[np.isfinite(x) & (x > 0)] for x in out if len(x)]


@dataclass(frozen=True)
class RatioEstimate:
    """Level(B) / level(A) with a bootstrap interval and the bootstrap replicates."""

    a: float
    b: float
    ratio: float
    low: float
    high: float
    confidence: float
    boot: np.ndarray

    def verdict(self, tolerance: float = DEFAULT_TOLERANCE) -> str:
        """`slower`/`faster` when the whole interval lies beyond 1 ± tolerance, `same` when it
        lies inside it (an equivalence statement), `undecided` otherwise."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return "undecided"
        if self.low > 1.0 + tolerance:
            return "slower"
        if self.high < 1.0 - tolerance:
            return "faster"
        if self.low >= 1.0 - tolerance and self.high <= 1.0 + tolerance:
            return "same"
        return "undecided"

    def p_slower_than(self, limit: float) -> float:
        """One-sided bootstrap p-value of 'B/A <= limit' (small: B is slower than that)."""
        if self.boot.size == 0:
            return math.nan
        return float((np.sum(self.boot <= limit) + 1) / (self.boot.size + 1))


def level_ratio(
    a: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    confidence: float = 0.95,
    seeds: tuple[Sequence[int], Sequence[int]] | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> RatioEstimate:
    """B/A of the two sides' levels, each a list of per-trial series (time order).

    `seeds` (the seed of each trial, per side) pairs the trial draws when both sides hold
    the same seeds."""
    a, b = _clean(a), _clean(b)
    nan = math.nan
    if not a or not b:
        return RatioEstimate(nan, nan, nan, nan, nan, confidence, np.empty(0))
    level_a, level_b = _level(a), _level(b)
    ratio = level_b / level_a
    if min(sum(s.size for s in a), sum(s.size for s in b)) < MIN_POINTS:
        return RatioEstimate(level_a, level_b, ratio, nan, nan, confidence, np.empty(0))
    rng = np.random.default_rng(seed)
    log_ratio = _within(b, resamples, rng) - _within(a, resamples, rng)
    if min(len(a), len(b)) > 1:  # seeds to redraw: is the spread between them larger?
        picks_a = rng.integers(0, len(a), size=(resamples, len(a)))
        paired = seeds is not None and len(a) == len(b) and list(seeds[0]) == list(seeds[1])
        picks_b = picks_a if paired else rng.integers(0, len(b), size=(resamples, len(b)))
        between = _between(b, picks_b) - _between(a, picks_a)
        if between.var() > log_ratio.var():
            log_ratio = between
    boot = np.exp(log_ratio - log_ratio.mean()) * ratio  # centred on the estimate
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(boot, [tail, 100 - tail])
    return RatioEstimate(level_a, level_b, ratio, float(low), float(high), confidence, boot)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (NaN stays NaN): family-wise error over the rows a gate checks."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


@dataclass(frozen=True)
class MetricDelta:
    """B minus A in the metric's shown units (accuracy points, RMSE) over the common seeds,
    with a paired test. `sign` says which way is better (+1: higher, -1: lower)."""

    delta: float
    low: float
    high: float
    p_value: float | None  # None: not testable (too few common seeds, or no spread)
    seeds: int
    why_untestable: str = ""
    se: float = math.nan  # standard error of the mean difference (shown units)
    sign: int = 1

    @property
    def testable(self) -> bool:
        return self.p_value is not None

    @property
    def worse_by(self) -> float:
        """How much worse B is than A (negative: better), in shown units."""
        return -self.sign * self.delta

    def verdict(self, alpha: float = 0.05) -> str:
        if not self.testable:
            return self.why_untestable or "not testable"
        if self.p_value >= alpha:
            return "n.s."
        return "worse" if self.worse_by > 0 else "better"

    def p_worse_than(self, margin: float) -> float:
        """One-sided paired-t p-value of 'B is worse than A by at most `margin`' (small: B
        is worse by more)."""
        if not self.testable:
            return math.nan
        return float(scipy_stats.t(self.seeds - 1).cdf((margin - self.worse_by) / self.se))


def metric_delta(
    a: dict[int, float],
    b: dict[int, float],
    confidence: float = 0.95,
    scale: float = 100.0,
    sign: int = 1,
) -> MetricDelta:
    """Paired over the seeds both sides trained: mean per-seed difference (x `scale`: a
    fraction's points by default), its t-interval, and the paired t-test's p-value."""
    common = sorted(set(a) & set(b))
    diffs = np.array(
        [scale * (b[s] - a[s]) for s in common if math.isfinite(a[s]) and math.isfinite(b[s])]
    )
    nan = math.nan
    if diffs.size == 0:
        return MetricDelta(nan, nan, nan, None, 0, "no common seeds", sign=sign)
    mean = float(diffs.mean())
    if not diffs.any():  # a fact, not a test: every common seed scored the same
        return MetricDelta(0.0, nan, nan, None, diffs.size, "identical", sign=sign)
    if diffs.size < MIN_SEEDS_FOR_ACCURACY_TEST:
        seeds = f"{diffs.size} seed" + ("s" if diffs.size > 1 else "")
        return MetricDelta(mean, nan, nan, None, diffs.size, f"{seeds}: not testable", sign=sign)
    if np.ptp(diffs) == 0:
        return MetricDelta(mean, mean, mean, None, diffs.size, "no spread: not testable", sign=sign)
    se = float(diffs.std(ddof=1) / math.sqrt(diffs.size))
    half = float(scipy_stats.t(diffs.size - 1).ppf((1 + confidence) / 2)) * se
    p = float(scipy_stats.ttest_1samp(diffs, 0.0).pvalue)
    return MetricDelta(mean, mean - half, mean + half, p, diffs.size, "", se, sign)
