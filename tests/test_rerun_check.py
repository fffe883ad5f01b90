"""scripts/rerun_check.py's spreads, on values counted by hand."""

import math

import pandas as pd
import pytest

from scripts import rerun_check


def test_seed_spread_is_each_runs_seeds_against_their_own_median():
    trials = {
        "run1": pd.DataFrame(
            {
                "activation": ["relu", "relu", "relu", "identity"],
                "seed": [2, 0, 1, 0],
                "kernel_copy_x": [12.0, 10.0, 11.0, math.nan],
            }
        ),
        "run2": pd.DataFrame(
            {
                "activation": ["relu", "relu", "relu"],
                "seed": [0, 1, 2],
                "kernel_copy_x": [20.0, 10.0, 10.0],
            }
        ),
    }
    out = rerun_check.seed_spread(trials)
    assert list(out) == ["relu"]  # identity has no multiple
    assert out["relu"]["seeds"] == {"run1": [10.0, 11.0, 12.0], "run2": [20.0, 10.0, 10.0]}
    # run1: median 11, farthest 10 or 12 -> 1/11; run2: median 10, farthest 20 -> 100 %
    assert out["relu"]["apart_pct"]["run1"] == pytest.approx(100 / 11)
    assert out["relu"]["apart_pct"]["run2"] == pytest.approx(100.0)


def test_cost_spread_is_the_farthest_run_from_the_median_in_points():
    runs = {
        f"run{i}": pd.DataFrame({"cost_pct": [c]}, index=["elu"])
        for i, c in enumerate([15.0, 14.0, 16.5, 15.5])
    }
    # median of 14, 15, 15.5, 16.5 is 15.25; farthest 14 -> 1.25 points
    assert rerun_check.cost_spread(runs) == {"elu": pytest.approx(1.25)}


def test_cost_spread_leaves_out_a_run_without_a_cost_and_keeps_every_activation():
    runs = {
        "run1": pd.DataFrame({"cost_pct": [10.0, math.nan]}, index=["relu", "gelu"]),
        "run2": pd.DataFrame({"cost_pct": [12.0]}, index=["relu"]),
        "run3": pd.DataFrame({"cost_pct": [11.0, 3.0]}, index=["relu", "tanh"]),
    }
    # relu: median 11, farthest 1 point; tanh: one run, 0; gelu: no cost at all
    assert rerun_check.cost_spread(runs) == {"relu": pytest.approx(1.0), "tanh": 0.0}
