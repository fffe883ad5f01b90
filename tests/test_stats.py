import numpy as np
import pytest

from actbench import stats


def rng(seed=0):
    return np.random.default_rng(seed)


def test_known_ratio_is_found_and_called_slower():
    a = rng(1).normal(1000, 20, 3000)
    est = stats.median_ratio([a], [a * 1.2], n_boot=500)
    assert est.ratio == pytest.approx(1.2, rel=1e-9)
    assert est.low < 1.2 < est.high and est.low > 1.0
    assert est.verdict() == "slower" and est.verdict(tolerance=0.25) == "same"


def test_faster_is_the_mirror_image():
    a = rng(2).normal(1000, 20, 3000)
    assert stats.median_ratio([a], [a * 0.8], n_boot=500).verdict() == "faster"


def test_same_distribution_is_mostly_called_same():
    verdicts = []
    for seed in range(40):
        r = rng(seed)
        a, b = r.gamma(20, 50, 600), r.gamma(20, 50, 600)
        verdicts.append(stats.median_ratio([a], [b], n_boot=400, seed=seed).verdict())
    assert verdicts.count("same") >= 34  # nominal 95% coverage, with slack for 40 draws


def test_block_bootstrap_widens_the_interval_for_drifting_series(monkeypatch):
    r = rng(3)
    drift = np.cumsum(r.normal(0, 5, 4000))  # a slow random walk, like a noisy neighbour
    a = 1000 + drift + r.normal(0, 10, 4000)
    b = 1000 + r.normal(0, 10, 4000)
    blocked = stats.median_ratio([a], [b], n_boot=400)
    monkeypatch.setattr(stats, "block_length", lambda n: 1)
    iid = stats.median_ratio([a], [b], n_boot=400)
    assert (blocked.high - blocked.low) > 2 * (iid.high - iid.low)


def test_several_trials_are_pooled():
    a = [np.full(100, 10.0), np.full(100, 30.0)]
    b = [np.full(100, 20.0), np.full(100, 60.0)]
    assert stats.median_ratio(a, b, n_boot=50).ratio == pytest.approx(2.0)


def test_no_samples_is_nan_not_a_crash():
    assert np.isnan(stats.median_ratio([], [np.ones(5)]).ratio)


def test_block_length():
    assert stats.block_length(10_000) == 100 and stats.block_length(1) == 1


def test_accuracy_needs_three_seeds_a_side():
    d = stats.accuracy_delta([0.97, 0.98], [0.99, 0.99, 0.99])
    assert d.delta_points == pytest.approx(1.5) and not d.testable
    assert d.verdict() == "not testable"


def test_accuracy_difference_is_tested_with_welch():
    worse = stats.accuracy_delta([0.980, 0.981, 0.982], [0.970, 0.971, 0.9705])
    assert worse.verdict() == "worse" and worse.p_value < 0.01
    assert worse.delta_points == pytest.approx(-1.05, abs=1e-9)
    noisy = stats.accuracy_delta([0.97, 0.98, 0.975], [0.972, 0.978, 0.976])
    assert noisy.verdict() == "same"
    identical = stats.accuracy_delta([0.97] * 3, [0.97] * 3)
    assert identical.verdict() == "same"
