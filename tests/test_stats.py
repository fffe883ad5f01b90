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
        est = stats.level_ratio(a, b, resamples=400, seed=k)
        hits += est.low <= true_ratio <= est.high
    return hits / simulations


def test_interval_covers_a_known_ratio_under_ar1_drift():
    """Several trials a side, each a drifting series: the 95 % interval covers the true
    ratio 90-98 % of the time."""

    def pair(rng):
        a = [800 * ar1(150, 0.8, 0.03, rng) for _ in range(3)]
        b = [880 * ar1(150, 0.8, 0.03, rng) for _ in range(3)]
        return a, b

    assert 0.90 <= coverage(pair, 1.1) <= 0.98


def test_interval_covers_a_known_ratio_under_a_neighbour_that_comes_and_goes():
    """One trial a side, a regime-switching slowdown (1.6x in busy spells): the block
    bootstrap widens the interval enough."""

    def pair(rng):
        return [regimes(500, 1.6, rng)], [1.05 * regimes(500, 1.6, rng)]

    assert 0.90 <= coverage(pair, 1.05) <= 0.98


def test_seed_to_seed_variance_is_in_the_interval():
    """Seeds differ by ~20 % while each trial is precise: an interval that resampled only
    within trials would be far too narrow; resampling seeds covers the truth."""

    def pair(rng):
        levels_a = np.exp(0.2 * rng.standard_normal(4))
        levels_b = np.exp(0.2 * rng.standard_normal(4))
        a = [lv * 900 * (1 + 0.005 * rng.standard_normal(100)) for lv in levels_a]
        b = [lv * 900 * (1 + 0.005 * rng.standard_normal(100)) for lv in levels_b]
        return a, b

    assert coverage(pair, 1.0, simulations=150) >= 0.88


def test_paired_seeds_cancel_what_the_seeds_share():
    rng = np.random.default_rng(0)
    levels = np.exp(0.2 * rng.standard_normal(5))  # the same seeds: the same level each side
    a = [lv * 900 * (1 + 0.01 * rng.standard_normal(200)) for lv in levels]
    b = [1.1 * lv * 900 * (1 + 0.01 * rng.standard_normal(200)) for lv in levels]
    seeds = list(range(5))
    paired = stats.level_ratio(a, b, seeds=(seeds, seeds), resamples=500)
    unpaired = stats.level_ratio(a, b, resamples=500)
    assert paired.ratio == pytest.approx(1.1, rel=0.01)
    assert (paired.high - paired.low) < 0.25 * (unpaired.high - unpaired.low)


def test_every_trial_weighs_the_same_however_long():
    short, long = np.full(10, 100.0), np.full(1000, 400.0)
    est = stats.level_ratio([short, long], [np.full(50, 200.0)], resamples=50)
    assert est.a == pytest.approx(200.0)  # geometric mean of 100 and 400, not ~400
    assert est.ratio == pytest.approx(1.0)


def test_verdicts_are_equivalence_statements():
    def verdict(low, high, tol=0.03):
        return stats.RatioEstimate(1, 1, 1, low, high, 0.95, np.empty(0)).verdict(tol)

    assert verdict(1.04, 1.10) == "slower" and verdict(0.90, 0.96) == "faster"
    assert verdict(0.98, 1.02) == "same"  # inside ± 3 %
    assert verdict(0.99, 1.05) == "undecided"  # neither beyond nor inside
    assert verdict(0.999, 1.001, tol=0.0) == "undecided"  # no tolerance: never "same"
    assert verdict(math.nan, math.nan) == "undecided"


def test_too_few_samples_give_no_interval():
    est = stats.level_ratio([np.ones(2)], [np.ones(2) * 1.5])
    assert est.ratio == pytest.approx(1.5) and math.isnan(est.low)
    assert est.verdict() == "undecided" and math.isnan(est.p_slower_than(1.05))
    assert math.isnan(stats.level_ratio([], [np.ones(5)]).ratio)


def test_one_sided_p_value_and_holm():
    rng = np.random.default_rng(1)
    slow = stats.level_ratio(
        [900 * ar1(300, 0.5, 0.02, rng)], [1.2 * 900 * ar1(300, 0.5, 0.02, rng)], resamples=500
    )
    assert slow.p_slower_than(1.05) < 0.01 and slow.p_slower_than(1.5) > 0.99
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
