"""legend.py: the legend and the notes under a run's table, written from the case at hand.
Each case's text is written here by hand."""

from __future__ import annotations

import pandas as pd

from actbench import legend, schema, table
from actbench import summary as summary_mod
from actbench.task import ACCURACY, RMSE, Metric

COST = (
    "cost: extra time per step over the baseline `identity` measured in the same rounds (per "
    "seed, the median over rounds of the step-time ratio; drift cancels), as % of the "
    "baseline's step and in µs of its median step; "
)
RAW = " µs/step columns are raw, not drift-corrected. "
TIMING = (
    " timing: ok, or disturbed (a wide spread or a slow tail of step times; ×N: in N seeds; "
    "the wide table and summary.md say why)."
)
STAR = "* = no other activation is both cheaper and more accurate, among those whose cost has "


def run(seeds=(0, 1, 2), rounds: int = 8, metric: Metric = ACCURACY) -> pd.DataFrame:
    """identity and relu: relu costs 10-13 % (a wobble in every seed, so an interval) and
    scores 5.0 points more plus 0.2 a seed (a spread, so an interval over seeds)."""
    trials, times = [], []
    for s in seeds:
        sides = (("identity", 0.92 + 0.001 * s, 1.0), ("relu", 0.97 + 0.003 * s, 1.1))
        for act, score, cost in sides:
            row = dict(activation=act, seed=s, test_accuracy=score, us_per_step_median=700 * cost,
                       us_per_step_p25=690 * cost, us_per_step_p75=710 * cost,
                       us_per_step_mean=701 * cost, epochs=2, steps=1050, warmup_steps=50,
                       diverged=False, diverged_epoch=None)  # fmt: skip
            if metric is RMSE:
                row |= dict(test_accuracy=float("nan"), test_rmse=1.0 - score)
            trials.append(row)
            for r in range(rounds):
                wobble = 1 + 0.01 * ((r + s) % 4) if act == "relu" else 1
                us = 700 * (1 + 0.02 * (r % 3)) * cost * wobble
                times.append(dict(activation=act, seed=s, group=0, round=r, us_median=us))
    t = schema.upgrade_trials(pd.DataFrame(trials))
    return summary_mod.summarize(t, pd.DataFrame(times), "identity", metric)


def test_three_seeds():
    assert legend.legend(run()) == (
        COST + "95% CI: a t interval over 3 seeds, each trained in its own process." + RAW
        + "gain: test accuracy points over the baseline, paired by seed; 95% CI: a paired t "
        "interval over 3 seeds. test accuracy: mean ± std over seeds. "
        + STAR + "an interval and a steady timing." + TIMING
    )  # fmt: skip


def test_two_seeds_say_the_interval_is_wide():
    assert legend.legend(run(seeds=(0, 1))) == (
        COST + "95% CI: a t interval over 2 seeds, each trained in its own process (1 degree "
        "of freedom: wide)." + RAW + "gain: test accuracy points over the baseline, paired by "
        "seed; 95% CI: a paired t interval over 2 seeds. test accuracy: mean ± std over seeds. "
        + STAR + "an interval and a steady timing." + TIMING
    )  # fmt: skip


def test_one_seed_says_within_this_run_and_no_gain_interval():
    summary = run(seeds=(0,))
    assert legend.legend(summary) == (
        COST + "95% CI: within this run only (one seed: a bootstrap over its rounds, which a "
        "rerun may land outside)." + RAW + "gain: test accuracy points over the baseline, "
        "paired by seed; one seed: the difference alone (no CI: 1 seed). test accuracy: one "
        "seed's score. " + STAR + "an interval and a steady timing." + TIMING
    )  # fmt: skip
    cells = table.compact(summary).set_index("activation")
    assert cells.loc["relu *", "gain pts [95% CI]"] == "+5.00 (no CI: 1 seed)"


def test_no_interval_says_why_in_the_cell_and_stars_nothing():
    summary = run(rounds=4)
    assert legend.legend(summary) == (
        COST + "(no CI: short): fewer than 5 rounds in a seed, so no interval and never a *."
        + RAW + "gain: test accuracy points over the baseline, paired by seed; 95% CI: a "
        "paired t interval over 3 seeds. test accuracy: mean ± std over seeds. "
        + STAR + "an interval and a steady timing (none here)." + TIMING
    )  # fmt: skip
    cells = table.compact(summary).set_index("activation")
    assert list(cells.index) == ["relu", "identity"]  # no star, not even the baseline's
    assert cells.loc["relu", "cost % [95% CI]"] == "+11.6 (no CI: short)"
    assert legend.notes(summary, 50) == [
        "no CI: no cost has an interval (4 rounds a seed; an interval needs 5), so no row is "
        "starred."
    ]


def test_a_regression_metric_speaks_of_its_reduction():
    assert legend.legend(run(metric=RMSE)) == (
        COST + "95% CI: a t interval over 3 seeds, each trained in its own process." + RAW
        + "gain: test RMSE reduction from the baseline, paired by seed; 95% CI: a paired t "
        "interval over 3 seeds. test RMSE: mean ± std over seeds. * = no other activation is "
        "both cheaper and lower in test RMSE, among those whose cost has an interval and a "
        "steady timing." + TIMING
    )  # fmt: skip


def test_a_negative_cost_whose_interval_holds_0_is_no_saving():
    summary = run().set_index("activation")
    summary.loc["relu", ["cost_pct", "cost_pct_low", "cost_pct_high"]] = [-2.0, -5.0, 1.0]
    summary = summary.reset_index()
    cells = table.compact(summary).set_index("activation")
    assert cells.filter(like="relu", axis=0).iloc[0]["cost % [95% CI]"] == "≈0 [-5.0, +1.0]"
    assert " ≈0: below 0, but its interval holds 0, so no saving is shown." in legend.legend(
        summary
    )


def test_short_trials_and_a_warm_up_cut_short_are_noted_under_the_table():
    summary = run().assign(timed_steps=8.0, warmup_steps=8.0)
    assert legend.notes(summary, 50) == [
        "rough: every activation timed as few as 8 steps in a trial (fewer than 100), so "
        "µs/step and cost are rough; more --epochs or a larger --train-limit help.",
        "warm-up: 8 steps excluded per trial, not the 50 asked (a trial keeps at least half "
        "its steps).",
    ]
    assert legend.notes(run(), 50) == []  # 1000 timed steps, the warm-up asked


def test_a_kernel_whose_time_moves_over_2x_with_its_inputs_is_named_in_one_line():
    """Hand-made ratios: elu 3.1x slower on large negatives, gelu 0.4x on subnormals (either
    way counts), tanh 1.9x (under 2x: not named), identity none measured."""
    frame = pd.DataFrame(
        {
            "activation": ["elu", "gelu", "tanh", "identity"],
            "sensitive_negative": [3.1, 1.0, 1.9, float("nan")],
            "sensitive_tiny": [1.0, 1.1, 1.0, float("nan")],
            "sensitive_subnormal": [1.2, 0.4, 1.0, float("nan")],
        }
    )
    assert legend.sensitive(frame) == [
        "elu's kernels take 3.1× as long on large negatives",
        "gelu's kernels take 0.4× as long on subnormals",
    ]
    notes = legend.notes(frame.assign(baseline=False, cost_pct=float("nan")))
    lines = [n for n in notes if n.startswith("inputs")]
    assert len(lines) == 1 and "elu's" in lines[0] and "tanh" not in lines[0]


def test_a_run_saved_before_the_input_check_has_no_input_note():
    assert legend.sensitive(pd.DataFrame({"activation": ["relu"]})) == []
