import numpy as np
import pytest

from actbench.disturbance import StepStats, reason


def test_stats_on_known_samples():
    s = StepStats.of(np.arange(1, 101, dtype=float))
    assert s.median == 50.5 and s.p25 == pytest.approx(25.75) and s.p75 == pytest.approx(75.25)
    assert s.mean == 50.5 and s.n == 100 and s.std == pytest.approx(np.std(np.arange(1, 101)))


def test_stats_of_nothing_is_nan_not_a_crash():
    s = StepStats.of(np.array([]))
    assert s.n == 0 and np.isnan(s.median)


def test_a_tail_of_slow_steps_is_counted_and_flagged():
    steps = np.r_[np.full(900, 600.0), np.full(100, 10_000.0)]  # one step in ten takes 10 ms
    s = StepStats.of(steps)
    assert s.median == 600 and s.slow_steps == 100
    why = reason(s.median, s.p25, s.p75, s.mean, s.slow_steps)
    assert "mean 2.57× median" in why and "100 steps > 5× median" in why


def test_spread_is_flagged_and_a_calm_trial_is_not():
    assert reason(1000, 940, 1060, 1001) == "IQR 12% of median"
    assert reason(1000, 970, 1030, 1010) == ""
    assert reason(float("nan"), 1, 2, 3) == ""
