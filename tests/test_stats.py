import math

import numpy as np
import pytest

from actbench import stats


def ar1(n: int, phi: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """A log-AR(1) slowdown: stretches of slow and fast rounds, stationary."""
    x = np.empty(n)
    x[0] = rng.standard_normal() * sd / math.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + sd * rng.standard_normal()
    return np.exp(x)


def regimes(n: int, slow: float, rng: np.random.Generator) -> np.ndarray:
    """A neighbour that comes and goes: busy (`slow`x) a quarter of the time, in spells of
    ~20 rounds; a two-state Markov chain started in its stationary state."""
    enter, leave = 1 / 60, 1 / 20
    state, out = int(rng.random() < 0.25), np.empty(n)
    for i in range(n):
        if rng.random() < (leave if state else enter):
            state = 1 - state
        out[i] = slow if state else 1.0
    return out * (1 + 0.01 * rng.standard_normal(n))


def coverage(make_pair, true_ratio: float, simulations: int = 200) -> float:
    hits = 0
    for k in range(simulations):
        rng = np.random.default_rng(10_000 + k)
        a, b = make_pair(rng)
        est = stats.level_ratio(a, b)
        hits += est.low <= true_ratio <= est.high
    return hits / simulations


@pytest.fixture(autouse=True)
def fewer_resamples(monkeypatch):
    """Standard errors from 200 draws: plenty for coverage, and quick."""
    monkeypatch.setattr(stats, "RESAMPLES", 200)


def process_seeds(level: float, seeds: int, rng, process_sd=0.04, n=60) -> dict:
    """Seeds each in a process of its own: a per-process level (log-normal, `process_sd`)
    that no series within it shows, times a drifting series within the run."""
    return {
        s: level * math.exp(process_sd * rng.standard_normal()) * ar1(n, 0.7, 0.02, rng)
        for s in range(seeds)
    }


@pytest.mark.slow
def test_three_paired_seeds_cover_the_true_ratio_at_least_93_percent():
    """What differs between processes moves every seed's level; the t(k-1) interval over
    the seeds covers the true ratio; an interval over rounds alone would not."""

    def pair(rng):
        return process_seeds(1.0, 3, rng), process_seeds(1.2, 3, rng)

    assert coverage(pair, 1.2, simulations=300) >= 0.93


def test_within_one_run_the_block_bootstrap_covers_a_neighbour_that_comes_and_goes():
    """One seed a side, a regime-switching slowdown (1.6x in busy spells), no process
    effect: the stationary bootstrap's error widens the interval enough."""

    def pair(rng):
        return {0: regimes(500, 1.6, rng)}, {0: 1.05 * regimes(500, 1.6, rng)}

    assert 0.90 <= coverage(pair, 1.05, simulations=150) <= 0.99


def test_an_interval_over_seeds_is_never_narrower_than_the_seeds_own_errors():
    """Three seeds that happen to agree exactly, each with a noisy series: the spread over
    seeds is zero, the interval is not."""
    rng = np.random.default_rng(3)
    noise = ar1(200, 0.5, 0.05, rng)
    series = {s: noise for s in range(3)}
    level = stats.level(series)
    within = math.sqrt(sum(se**2 for _, se in level.values.values())) / 3
    assert level.se == pytest.approx(within) and level.se > 0
    assert level.df == 2 and level.over == stats.OVER_SEEDS


def test_one_seed_is_within_this_run_and_not_testable():
    rng = np.random.default_rng(4)
    est = stats.level_ratio({0: ar1(100, 0.5, 0.02, rng)}, {0: 1.3 * ar1(100, 0.5, 0.02, rng)})
    assert est.over == stats.WITHIN_RUN and est.low < est.ratio < est.high
    assert not est.testable and math.isnan(est.p_slower_than(1.05))


def test_a_flat_series_has_no_interval_never_a_zero_width_one():
    est = stats.level_ratio({0: np.full(50, 100.0)}, {0: np.full(50, 121.0)})
    assert est.ratio == pytest.approx(1.21) and math.isnan(est.low) and math.isnan(est.high)


def test_every_seed_weighs_the_same_however_long():
    short, long = np.full(10, 100.0), np.full(1000, 400.0)
    est = stats.level_ratio({0: short, 1: long}, {0: np.full(50, 200.0)})
    assert est.a == pytest.approx(200.0)  # geometric mean of 100 and 400, not ~400
    assert est.ratio == pytest.approx(1.0)


def test_paired_seeds_cancel_what_the_seeds_share():
    rng = np.random.default_rng(0)
    levels = np.exp(0.2 * rng.standard_normal(5))  # the same seeds: the same level each side
    a = {s: lv * 900 * (1 + 0.01 * rng.standard_normal(200)) for s, lv in enumerate(levels)}
    b = {s: 1.1 * lv * 900 * (1 + 0.01 * rng.standard_normal(200)) for s, lv in enumerate(levels)}
    paired = stats.level_ratio(a, b)
    unpaired = stats.level_ratio(a, {s + 10: x for s, x in b.items()})  # other seeds: Welch
    assert paired.ratio == pytest.approx(1.1, rel=0.01)
    assert (paired.high - paired.low) < 0.25 * (unpaired.high - unpaired.low)
    # Welch-Satterthwaite: two sides of 5 seeds with equal spread give about 8 df
    assert 6 < unpaired.df <= 8


def test_verdicts_are_equivalence_statements():
    def verdict(low, high, tol=0.03):
        return stats.RatioEstimate(1, 1, 1, low, high, 0.95).verdict(tol)

    assert verdict(1.04, 1.10) == "slower" and verdict(0.90, 0.96) == "faster"
    assert verdict(0.98, 1.02) == "same"  # inside ± 3 %
    assert verdict(0.99, 1.05) == "undecided"  # neither beyond nor inside
    assert verdict(0.999, 1.001, tol=0.0) == "undecided"  # no tolerance: never "same"
    assert verdict(math.nan, math.nan) == "undecided"


def test_too_few_rounds_give_no_interval():
    est = stats.level_ratio({0: np.ones(2), 1: np.ones(3)}, {0: np.ones(2) * 1.5, 1: np.ones(4)})
    assert math.isnan(est.low) and not est.testable
    assert est.verdict() == "undecided" and math.isnan(est.p_slower_than(1.05))
    assert math.isnan(stats.level_ratio({}, {0: np.ones(5)}).ratio)


def test_one_sided_p_value_is_students_t_and_holm_adjusts():
    """Against scipy's own one-sample t-test on the per-seed log differences."""
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(1)
    a = {s: 900 * math.exp(0.05 * rng.standard_normal()) * np.ones(40) for s in range(4)}
    b = {s: 1.2 * 900 * math.exp(0.05 * rng.standard_normal()) * np.ones(40) for s in range(4)}
    est = stats.level_ratio(a, b)
    diffs = [math.log(b[s][0] / a[s][0]) - math.log(1.05) for s in range(4)]
    expected = scipy_stats.ttest_1samp(diffs, 0.0, alternative="greater").pvalue
    assert est.p_slower_than(1.05) == pytest.approx(expected, rel=1e-9)
    adjusted = stats.holm([0.01, 0.04, 0.03, math.nan])
    assert adjusted[0] == pytest.approx(0.03) and adjusted[1] == pytest.approx(0.06)
    assert math.isnan(adjusted[3])


def test_block_length_follows_the_data():
    rng = np.random.default_rng(2)
    iid = rng.standard_normal(500)
    persistent = ar1(500, 0.95, 0.05, rng)
    assert stats.block_length(iid) < stats.block_length(persistent)
    assert stats.block_length(np.ones(100)) == 1.0 and stats.block_length(iid[:5]) == 1.0


def test_accuracy_is_paired_by_seed():
    a = {0: 0.970, 1: 0.980, 2: 0.975, 3: 0.965}
    b = {s: acc - 0.002 for s, acc in a.items()}  # every seed 0.2 points worse
    b[3] -= 0.001
    d = stats.metric_delta(a, b)
    assert d.verdict() == "worse" and d.delta == pytest.approx(-0.225)
    assert d.low < d.delta < d.high < 0 and d.seeds == 4
    # Welch's test on the same numbers would call this noise: the seeds' spread dominates
    assert d.p_worse_than(0.1) < 0.05 and d.p_worse_than(0.5) > 0.5


def test_accuracy_never_invents_a_p_value():
    assert stats.metric_delta({0: 0.97}, {0: 0.96}).verdict() == "1 seed: not testable"
    same = stats.metric_delta({0: 0.97, 1: 0.98, 2: 0.96}, {0: 0.97, 1: 0.98, 2: 0.96})
    assert same.p_value is None and same.verdict() == "identical"
    shifted = stats.metric_delta({0: 0.97, 1: 0.98, 2: 0.96}, {0: 0.98, 1: 0.99, 2: 0.97})
    assert shifted.p_value is None and shifted.verdict() == "no spread: not testable"
    disjoint = stats.metric_delta({0: 0.97}, {1: 0.97})
    assert disjoint.seeds == 0 and disjoint.verdict() == "no common seeds"
