"""The breakdown across a run: intervals, internal controls, reconciliation with cost."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actbench import anatomy


def test_the_median_interval_is_the_binomial_order_statistics():
    # n = 10: P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024, so k = 2: the 2nd
    # smallest and the 2nd largest (coverage 1 - 2 * 11/1024 = 97.9 %)
    assert anatomy.median_interval(np.arange(1.0, 11.0)) == (2.0, 9.0)
    assert all(np.isnan(anatomy.median_interval(np.arange(5.0))))  # too few for 95 %


def blocks(matmul: dict[str, float]) -> pd.DataFrame:
    rows = []
    for name, us in matmul.items():
        for epoch in range(1, 9):
            rows.append({"activation": name, "seed": 0, "epoch": epoch,
                         "profile_activation_us": 10.0 + epoch, "profile_matmul_us": us,
                         "profile_loss_us": 5.0, "profile_optimizer_us": 7.0,
                         "profile_other_us": 3.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_controls_that_agree_hold_and_one_that_drifts_says_disturbed():
    history = blocks({"identity": 100.0, "relu": 104.0, "elu": 98.0})
    frame = anatomy.table(pd.DataFrame(), history)
    assert frame.loc["relu", "profile_spread_pct"] == pytest.approx(4.0)  # 104 / median 100
    assert frame.loc["relu", "profile_blocks"] == 8
    summary = frame.reset_index()
    assert anatomy.verdict(summary).startswith("breakdown holds")
    drifted = anatomy.table(pd.DataFrame(), blocks({"identity": 100.0, "relu": 115.0, "elu": 99.0}))
    assert anatomy.verdict(drifted.reset_index()).startswith("breakdown disturbed")


def test_the_part_net_of_the_baseline_is_set_against_the_cost():
    summary = pd.DataFrame(
        {
            "activation": ["identity", "relu"],
            "baseline": [True, False],
            "profile_activation_us": [5.0, 65.0],
            "kernel_us": [0.0, 40.0],
            "cost_us": [0.0, 80.0],
            "cost_us_low": [0.0, 70.0],
        }
    )
    out = anatomy.reconcile(summary).set_index("activation")
    assert out.loc["relu", "profile_net_us"] == 60.0
    assert out.loc["relu", "explained_pct"] == 75.0  # 60 of 80
    assert out.loc["relu", "kernel_of_cost_pct"] == 50.0  # 40 of 80
    assert np.isnan(out.loc["identity", "explained_pct"])


def test_an_optimizer_on_subnormal_numbers_is_no_control_and_the_verdict_says_why():
    history = blocks({"identity": 100.0, "relu": 100.0, "elu": 100.0})
    history["subnormal_pct"] = 0.0
    slow = history["activation"] == "relu"
    history.loc[slow, "profile_optimizer_us"] = 10.5  # 50 % over the others' 7.0
    history.loc[slow, "subnormal_pct"] = 1.5
    verdict = anatomy.verdict(anatomy.table(pd.DataFrame(), history).reset_index())
    assert verdict.startswith("breakdown holds") and "left out for relu" in verdict
    history["subnormal_pct"] = 0.0  # the same slowness with normal numbers: disturbed
    verdict = anatomy.verdict(anatomy.table(pd.DataFrame(), history).reset_index())
    assert verdict.startswith("breakdown disturbed")


def test_the_share_of_the_step_is_the_activation_over_its_own_blocks_total():
    frame = anatomy.table(pd.DataFrame(), blocks({"identity": 100.0, "relu": 100.0}))
    # per block: activation (10 + epoch) over it plus matmul 100, loss 5, optimizer 7, other 3
    by_hand = np.median([100 * a / (a + 115.0) for a in range(11, 19)])
    assert frame.loc["relu", "profile_share_pct"] == pytest.approx(by_hand)


def test_controls_are_read_in_the_same_rounds_so_a_slower_machine_later_is_not_a_disturbance():
    history = blocks({"identity": 100.0, "relu": 100.0, "elu": 100.0})
    late = history["epoch"] > 4
    history.loc[late, "profile_matmul_us"] = 150.0  # the machine slows for everyone
    history = history[~(late & (history["activation"] == "identity"))]  # identity stopped early
    frame = anatomy.table(pd.DataFrame(), history)
    # the medians alone differ (identity 100, the others 125), the same rounds agree
    assert frame.loc["relu", "profile_matmul_us"] == 125.0
    assert frame["profile_spread_pct"].max() == 0.0


def _shares() -> pd.DataFrame:
    """elu's cost is clearly above 0; relu's interval reaches 0 (36 µs of its part against
    a 13 µs cost would read 290 %); relu6's has none; sigmoid's is below 0."""
    return pd.DataFrame(
        {
            "activation": ["identity", "elu", "relu", "relu6", "sigmoid"],
            "baseline": [True, False, False, False, False],
            "profile_activation_us": [4.0, 64.0, 40.0, 30.0, 20.0],
            "kernel_us": [0.0, 50.0, 30.0, 20.0, 10.0],
            "cost_us": [0.0, 80.0, 13.0, 9.0, -11.0],
            "cost_us_low": [0.0, 70.0, -5.0, float("nan"), -20.0],
        }
    )


def test_a_share_of_the_cost_only_where_the_cost_is_clearly_above_0():
    out = anatomy.reconcile(_shares()).set_index("activation")
    assert out.loc["elu", "explained_pct"] == 75.0  # 60 of 80
    assert out.loc["elu", "kernel_of_cost_pct"] == 62.5  # 50 of 80
    for name in ("relu", "relu6", "sigmoid"):
        assert np.isnan(out.loc[name, "explained_pct"]), name
        assert np.isnan(out.loc[name, "kernel_of_cost_pct"]), name
    assert anatomy.explains(anatomy.reconcile(_shares())) == (
        "Its part, net of the baseline's, explains of its timed cost: elu 75% (60 of 80 µs); "
        "— for relu, relu6, sigmoid (the cost's interval reaches 0 or could not be computed: "
        "a share of it would mean nothing). The rest is in `other` (autograd's engine, the "
        "module call) and the neighbouring layers (docs/measuring.md)."
    )


def test_the_total_says_it_is_the_hooked_step_and_how_far_from_the_timed_one():
    summary = pd.DataFrame(
        {
            "activation": ["identity", "relu"],
            "profile_activation_us": [10.0, 50.0],
            "profile_matmul_us": [900.0, 900.0],
            "profile_loss_us": [40.0, 40.0],
            "profile_optimizer_us": [50.0, 50.0],
            "profile_other_us": [500.0, 460.0],  # both steps sum to 1500 µs
            "us_per_step_median": [1200.0, 1000.0],
        }
    )
    assert anatomy.total_note(summary).startswith(
        "total: the parts' sum, the hooked twin's step, not a timed step: here +25 to +50 % "
        "over the table's µs/step,"
    )


def test_the_committed_runs_totals_are_said_to_be_the_hooked_step_and_docs_quote_them():
    """results/airline-lstm: total 1907.8 µs beside a µs/step of 1256.9 (tanh)."""
    from actbench import summary as summary_mod
    from actbench.storage import RunFolder

    root = Path(__file__).resolve().parents[1]
    measuring = " ".join((root / "docs" / "measuring.md").read_text().split())
    for name, span in (("airline-lstm", "+41 to +52 %"), ("default", "+18 to +20 %")):
        summary = summary_mod.summarize_folder(RunFolder(root / "results" / name))
        assert f"here {span} over the table's µs/step" in anatomy.total_note(summary)
        assert f"`results/{name}`" in measuring and span in measuring
    assert "1907.8 µs for tanh beside a µs/step of 1256.9" in measuring
