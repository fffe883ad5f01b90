"""Statistics: one estimator for a level over seeds, and the comparisons built on it.

**A level** is what one run says about one quantity (an activation's step time over its
baseline in the same rounds, over the reference step, or in µs). Each seed (each trial,
trained in its own worker process) contributes one value: the median of the logs of its
time series (rounds, or epochs, in time order). Its uncertainty *within the run* is the
standard error of that median under the stationary bootstrap (Politis & Romano: blocks of
random length, wrapping around; expected block length chosen from the data by Politis &
White; both from `arch.bootstrap`), so an episode of slow rounds widens it where an i.i.d.
bootstrap would claim false precision. Across seeds the level is the mean of the seeds'
values (seeds weigh equally, however long they trained), with a Student-t(k-1) interval
whose standard error is never smaller than the within-seed uncertainty allows
(`sqrt(sum se_s^2) / k`). Seeds run in separate processes, so their spread carries what
differs between processes (memory layout, thread placement) and a rerun of the same command
lands inside the interval. With one seed the interval is *within this run* only: a normal
interval from the bootstrap error, which a rerun need not respect.

**A difference** of two levels (run B against run A) takes the same rule: paired by seed
when both sides hold the same seeds (a t(k-1) interval on the per-seed differences, never
narrower than their within-seed errors allow), Welch's t otherwise. Its one-sided p-value
feeds the CI gate; a difference without at least two seeds a side is not testable.

Score differences (accuracy points, RMSE) are paired by seed (same initial weights and
batches on both sides): a paired t-test and t-interval over the common seeds, or "not
testable" with fewer than `MIN_SEEDS`. The same function gives a run's gain over its baseline
(`costs.gain`) and a comparison's B - A, so `show`, `compare`, the report and the API agree.
Every interval is at `CONFIDENCE`.

**A run sized by `--precision`** (`precision.py`) added seeds to its first ones after
reading their spread; its level's interval is Stein's (`stein`): the first seeds' spread,
t with their degrees of freedom, over all seeds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from actbench.config import DEFAULT_TOLERANCE

CONFIDENCE = 0.95  # the level of every interval actbench shows or tests
# the one rule for an interval over seeds: a Student-t interval needs k - 1 >= 1 degrees of
# freedom, so two seeds; with one, a cost's interval is within the run (which a rerun need not
# respect) and a score's difference has none
MIN_SEEDS = 2
MIN_POINTS = 5  # fewer values in a seed's series: no within-seed error (a median of 4 says little)
MIN_TIMED_STEPS = 100  # fewer timed steps in a trial: its step-time statistics are rough
RESAMPLES = 500  # bootstrap draws per seed: the standard error to about 3 %
DRAW_CHUNK = 50  # draws whose medians are taken at once (memory: 50 x the series)
WITHIN_RUN, OVER_SEEDS = "within this run", "over seeds"


def _scipy():
    """scipy.stats, imported on first use: a sweep's start reads this module's constants
    (`progress.py`) and does without its import (~1 s)."""
    from scipy import stats

    return stats


def block_length(series: np.ndarray) -> float:
    """Expected block length of the stationary bootstrap for `series`, from the data."""
    from arch.bootstrap import optimal_block_length  # ~1 s to import: only when needed

    n = series.size
    if n < 8 or np.ptp(series) == 0:
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):  # a flat stretch: zero variance
        estimate = float(optimal_block_length(series)["stationary"].iloc[0])
    return float(np.clip(estimate, 1.0, n / 2)) if math.isfinite(estimate) else 1.0


def _clean(series: np.ndarray) -> np.ndarray:
    x = np.asarray(series, dtype=np.float64)
    return x[np.isfinite(x) & (x > 0)]


def seed_value(series: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(median of log(series), its stationary-bootstrap standard error; NaN under
    MIN_POINTS values, 0 for a flat series). Remembered by value: a summary asks for each
    (activation, seed) twice, for its cost and for whether a seed lies apart."""
    return _seed_value(_clean(series).tobytes(), seed, RESAMPLES)


@functools.lru_cache(maxsize=256)
def _seed_value(values: bytes, seed: int, resamples: int) -> tuple[float, float]:
    logs = np.log(np.frombuffer(values, dtype=np.float64))
    if logs.size == 0:
        return math.nan, math.nan
    center = float(np.median(logs))
    if logs.size < MIN_POINTS:
        return center, math.nan
    if np.ptp(logs) == 0:
        return center, 0.0
    from arch.bootstrap import StationaryBootstrap

    rng = np.random.default_rng(seed)
    resampler = StationaryBootstrap(block_length(logs), logs, seed=rng)
    # the draws `apply(np.median, ...)` would take, a median along each chunk of their
    # indices: the same values, without a call of np.median per draw or all draws at once
    medians, rows = [], []
    for _ in resampler.bootstrap(resamples):
        rows.append(resampler.index)
        if len(rows) == DRAW_CHUNK:
            medians.append(np.median(logs[np.stack(rows)], axis=1))
            rows = []
    if rows:
        medians.append(np.median(logs[np.stack(rows)], axis=1))
    return center, float(np.concatenate(medians).std(ddof=1))


@dataclass(frozen=True)
class Level:
    """A run's log-level of one quantity: mean over seeds of each seed's value."""

    log: float
    se: float  # standard error of `log` (NaN: no interval)
    df: float  # Student-t degrees of freedom (inf: within one run, normal)
    seeds: int
    values: Mapping[int, tuple[float, float]]  # seed -> (value, within-seed se)

    @property
    def over(self) -> str:
        return OVER_SEEDS if self.seeds >= MIN_SEEDS else WITHIN_RUN

    def interval(self, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
        """(level, low, high) on the original scale (exp of the log-level)."""
        return _interval(self.log, self.se, self.df, confidence)


def _interval(log: float, se: float, df: float, confidence: float) -> tuple[float, float, float]:
    nan = math.nan
    if not math.isfinite(log):
        return nan, nan, nan
    if not (math.isfinite(se) and se > 0):  # no interval, never a zero-width one
        return math.exp(log), nan, nan
    half = float(_scipy().t.ppf((1 + confidence) / 2, df)) * se
    return math.exp(log), math.exp(log - half), math.exp(log + half)


def _combined(values: np.ndarray, errors: np.ndarray) -> tuple[float, float, float]:
    """(mean, its standard error, df) of per-seed values: over seeds with t(k-1), never
    below the within-seed errors' share; one seed: its own error, normal."""
    k = values.size
    within = math.sqrt(float(np.sum(errors**2))) / k if np.all(np.isfinite(errors)) else math.nan
    if k == 1:
        return float(values[0]), within, math.inf
    between = float(values.std(ddof=1)) / math.sqrt(k)
    if not math.isfinite(within):  # a seed too short for its own error: no interval
        return float(values.mean()), math.nan, float(k - 1)
    return float(values.mean()), max(between, within), float(k - 1)


def spread(values: np.ndarray, errors: np.ndarray) -> float:
    """One seed's standard deviation as the interval rule reads it from per-seed `values`
    and their within-seed `errors` (its standard error times sqrt(k)); NaN: no interval."""
    _, se, _ = _combined(values, errors)
    return se * math.sqrt(values.size)


def level(series: Mapping[int, np.ndarray], first: Collection[int] = ()) -> Level:
    """The level of per-seed time series (`seed -> series`, each in time order). `first`:
    the first stage of a run whose seeds were sized by `--precision` (`stein`)."""
    values = {s: seed_value(x, seed=s) for s, x in series.items() if _clean(x).size}
    if not values:
        return Level(math.nan, math.nan, math.nan, 0, {})
    v = np.array([x[0] for x in values.values()])
    e = np.array([x[1] for x in values.values()])
    log, se, df = _combined(v, e)
    early = [s for s in values if s in set(first)]
    if MIN_SEEDS <= len(early) < len(values):
        se, df = stein(v, e, np.isin(list(values), early))
    return Level(log, se, df, len(values), values)


def stein(values: np.ndarray, errors: np.ndarray, first: np.ndarray) -> tuple[float, float]:
    """(standard error, df) of the mean of all `values` by Stein's two-stage rule: the
    spread of the `first` stage's values alone (the seeds that sized the run; never below
    their within-seed errors, as `_combined`), over sqrt(all), with t(n0 - 1). The second
    stage's count depended on that spread only, so the interval's coverage is exact under
    normality, where the one-stage rule on all seeds would fall short (docs/measuring.md)."""
    n0 = int(first.sum())
    _, se0, _ = _combined(values[first], errors[first])
    return se0 * math.sqrt(n0 / values.size), float(n0 - 1)


@dataclass(frozen=True)
class RatioEstimate:
    """Level(B) / level(A) with its interval, over seeds or within one run (`over`)."""

    a: float
    b: float
    ratio: float
    low: float
    high: float
    confidence: float
    log_se: float = math.nan
    df: float = math.nan
    over: str = WITHIN_RUN

    @property
    def testable(self) -> bool:
        """Whether a gate may act on it: an interval over seeds (a within-run one says
        nothing about a rerun)."""
        return self.over == OVER_SEEDS and math.isfinite(self.log_se) and self.log_se > 0

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
        """One-sided t p-value of 'B/A <= limit' (small: B is slower than that); NaN when
        not testable."""
        if not self.testable:
            return math.nan
        t = (math.log(self.ratio) - math.log(limit)) / self.log_se
        return float(_scipy().t.sf(t, self.df))


def _welch_df(a: Level, b: Level) -> float:
    va, vb = a.se**2, b.se**2
    denominator = va**2 / a.df + vb**2 / b.df  # an infinite df adds nothing
    return math.inf if denominator == 0 else (va + vb) ** 2 / denominator


def difference(a: Level, b: Level, confidence: float = CONFIDENCE) -> RatioEstimate:
    """B over A. Paired by seed when both hold the same seeds (two or more), else Welch."""
    nan = math.nan
    if not (math.isfinite(a.log) and math.isfinite(b.log)):
        return RatioEstimate(nan, nan, nan, nan, nan, confidence)
    over = OVER_SEEDS if a.over == b.over == OVER_SEEDS else WITHIN_RUN
    if over == OVER_SEEDS and set(a.values) == set(b.values):
        seeds = sorted(a.values)
        d = np.array([b.values[s][0] - a.values[s][0] for s in seeds])
        e = np.array([math.hypot(b.values[s][1], a.values[s][1]) for s in seeds])
        log, se, df = _combined(d, e)
    else:
        log, se, df = b.log - a.log, math.hypot(a.se, b.se), _welch_df(a, b)
    ratio, low, high = _interval(log, se, df, confidence)
    return RatioEstimate(
        math.exp(a.log), math.exp(b.log), ratio, low, high, confidence, se, df, over
    )


def level_ratio(
    a: Mapping[int, np.ndarray], b: Mapping[int, np.ndarray], confidence: float = CONFIDENCE
) -> RatioEstimate:
    """B/A of two sides given as per-seed time series (`seed -> series`)."""
    return difference(level(a), level(b), confidence)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (NaN stays NaN): family-wise error over the rows a gate checks."""
    from statsmodels.stats.multitest import multipletests

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
        return float(_scipy().t(self.seeds - 1).cdf((margin - self.worse_by) / self.se))


def metric_delta(
    a: dict[int, float],
    b: dict[int, float],
    confidence: float = CONFIDENCE,
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
    if diffs.size < MIN_SEEDS:
        seeds = f"{diffs.size} seed" + ("s" if diffs.size > 1 else "")
        return MetricDelta(mean, nan, nan, None, diffs.size, f"{seeds}: not testable", sign=sign)
    if np.ptp(diffs) == 0:
        # every seed moved by the same amount: no interval, never a zero-width one
        return MetricDelta(mean, nan, nan, None, diffs.size, "no spread: not testable", sign=sign)
    se = float(diffs.std(ddof=1) / math.sqrt(diffs.size))
    half = float(_scipy().t(diffs.size - 1).ppf((1 + confidence) / 2)) * se
    p = float(_scipy().ttest_1samp(diffs, 0.0).pvalue)
    return MetricDelta(mean, mean - half, mean + half, p, diffs.size, "", se, sign)
