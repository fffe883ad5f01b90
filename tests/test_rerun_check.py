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


def test_two_rounds_correlate_by_lag_and_process_each_pair_in_both_orders():
    """Hand count: process A reads +1 then +2, process B -1 then -2, a second apart. Within a
    process the pairs (1, 2), (-1, -2), both orders: sum xy 8 over sum x² 10, r = 0.8. Across
    processes (1, -1), (1, -2), (2, -1), (2, -2), both orders: -18 over 20, r = -0.9. With
    fewer pairs than asked for, no correlation is said."""
    frame = pd.DataFrame(
        {"process": ["A", "A", "B", "B"], "t": [0.0, 1.0, 0.0, 1.0], "y": [1, 2, -1, -2]}
    )
    alike = rerun_check.round_correlation([frame], min_pairs=2)
    assert alike["same process"]["under 3 s"] == {"pairs": 2, "r": pytest.approx(0.8)}
    assert alike["other processes"]["under 3 s"] == {"pairs": 4, "r": pytest.approx(-0.9)}
    assert alike["same process"]["over 60 s"]["pairs"] == 0
    assert math.isnan(
        rerun_check.round_correlation([frame], min_pairs=3)["same process"]["under 3 s"]["r"]
    )


def test_a_rounds_residual_is_its_log_multiple_less_its_activations_median(tmp_path):
    """relu reads e then e³ (logs 1 and 3, median 2), identity none; epoch 1's last round of
    steps started at 101 s, epoch 2's at 110 s: 0 and 9 s after the first round read. Seed 0's
    relu trained in group 1 (rounds of group 0 at other times are another process's)."""
    pd.DataFrame(
        {
            "activation": ["relu", "relu", "identity"],
            "seed": [0, 0, 0],
            "epoch": [1, 2, 1],
            "kernel_copy_x": [math.e, math.e**3, math.nan],
        }
    ).to_csv(tmp_path / "history.csv", index=False)
    pd.DataFrame({"activation": ["relu", "identity"], "seed": [0, 0], "group": [1, 0]}).to_csv(
        tmp_path / "trials.csv", index=False
    )
    pd.DataFrame(
        {
            "activation": ["relu"] * 4 + ["identity"],
            "seed": [0] * 5,
            "group": [1, 1, 1, 0, 0],
            "epoch": [1, 1, 2, 2, 1],
            "start_seconds": [100.0, 101.0, 110.0, 500.0, 90.0],
        }
    ).to_csv(tmp_path / "rounds.csv", index=False)
    frame = rerun_check.round_residuals(tmp_path)
    assert frame["process"].tolist() == ["0/1", "0/1"]
    assert frame["t"].tolist() == [0.0, 9.0]
    assert frame["y"].tolist() == pytest.approx([-1.0, 1.0])


def test_a_run_whose_every_multiple_rose_with_its_reference_step_says_so():
    """Hand count: the runs' medians are a 10 and b 20. run3 reads both 1.2 times theirs and
    its reference step 110 µs against a median of 100: +20 % and +10 %; run2 both 0.8 times
    (-20 %) at 95 µs (-5 %); run1 exactly the medians."""
    runs = {
        "run1": pd.DataFrame({"kernel_copy_x": [10.0, 20.0]}, index=["a", "b"]),
        "run2": pd.DataFrame({"kernel_copy_x": [8.0, 16.0]}, index=["a", "b"]),
        "run3": pd.DataFrame({"kernel_copy_x": [12.0, 24.0]}, index=["a", "b"]),
    }
    shift = rerun_check.machine_shift(runs, {"run1": 100.0, "run2": 95.0, "run3": 110.0})
    assert shift["run3"]["multiples_pct"] == pytest.approx(20.0)
    assert shift["run3"]["reference_pct"] == pytest.approx(10.0)
    assert shift["run2"]["multiples_pct"] == pytest.approx(-20.0)
    assert shift["run2"]["reference_pct"] == pytest.approx(-5.0)
    assert shift["run1"] == {"reference_us": 100.0, "reference_pct": 0.0, "multiples_pct": 0.0}
