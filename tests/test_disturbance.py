import numpy as np
import pandas as pd
import pytest

from actbench.disturbance import StepStats, by_activation, of_trials, reason


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
    why = reason(s.median, s.p25, s.p75, s.mean, s.slow_steps, s.n)
    assert why == "10.0% of steps > 5× median; mean 2.57× median"


def test_spread_is_flagged_for_an_uncounted_run_and_a_calm_trial_is_not():
    assert reason(1000, 940, 1060, 1001) == "IQR 12% of median"
    assert reason(1000, 970, 1030, 1010) == ""
    assert reason(float("nan"), 1, 2, 3) == ""


def test_a_neighbour_shows_as_preempted_steps_and_a_quiet_run_has_none():
    """Steps of one trial: on a quiet machine a wobble of a few percent and a rare slow
    step; beside a neighbour that takes its core, one step in forty is interrupted for a
    time slice (~10x a step)."""
    rng = np.random.default_rng(0)
    quiet = 1000 * (1 + 0.05 * rng.standard_normal(8000))
    quiet[::1000] = 6000  # 8 slow steps: 0.1 %
    shared = quiet.copy()
    shared[::40] = 10_000  # 200 more: 2.5 %
    for steps, expected in ((quiet, ""), (shared, "2.5% of steps > 5× median")):
        s = StepStats.of(steps)
        assert reason(s.median, s.p25, s.p75, s.mean, s.slow_steps, s.n).startswith(expected)


def test_the_spread_alone_is_not_a_disturbance_unless_the_tail_was_never_counted():
    """A quiet 1-thread step varies by 7-11 % IQR: not a neighbour. A run saved before the
    tail was counted has only its spread to go by, as then."""
    assert reason(1000, 940, 1060, 1001, slow_steps=0, timed_steps=5000) == ""
    assert reason(1000, 940, 1060, 1001) == "IQR 12% of median"


def test_each_trial_is_read_from_its_own_row():
    trials = pd.DataFrame(
        {
            "activation": ["relu", "relu"],
            "seed": [0, 1],
            "us_per_step_median": [1000.0, 1000.0],
            "us_per_step_p25": [900.0, 900.0],
            "us_per_step_p75": [1100.0, 1100.0],
            "us_per_step_mean": [1010.0, 1300.0],
            "steps": [1050, 1050],
            "warmup_steps": [50, 50],
            "slow_steps": [2, 30],
        }
    )
    reasons = of_trials(trials)
    assert reasons.iloc[0] == ""
    assert reasons.iloc[1] == "3.0% of steps > 5× median; mean 1.30× median"
    assert by_activation(trials)["relu"] == "seed 1: " + reasons.iloc[1]
