"""Each activation across runs: which runs share a line, and what the chart draws."""

import math

import pandas as pd

from actbench import trend
from actbench.run_record import RunRecord, describe, where


def run(
    started: str,
    threads: int = 1,
    epochs: int = 10,
    model: str = "mlp",
    val_fraction=None,
    hidden=(100,),
) -> RunRecord:
    return RunRecord.from_dict({
        "started": started,
        "metric": "accuracy",
        "status": "complete",
        "config": {
            "dataset": "mnist", "model": model, "hidden": list(hidden), "batch_size": 100,
            "optimizer": "adam", "lr": 0.001, "momentum": 0.9, "mode": "eager",
            "baseline": "identity", "train_limit": None, "epochs": epochs,
            "activations": ["relu"], "seeds": [0, 1, 2], "val_fraction": val_fraction,
        },
        "environment": {
            "device": "cpu", "cpu_model": "Xeon", "hostname": "vm", "threads": threads,
            "git_commit": "abcdef0123456789", "git_dirty": False, "torch_version": "2.14",
        },
    })  # fmt: skip


def summary(cost: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"activation": "relu", "baseline": False, "us_per_step_median": 100 + cost,
             "us_per_step_p25": 99 + cost, "us_per_step_p75": 101 + cost, "cost_pct": cost,
             "cost_pct_low": cost - 1, "cost_pct_high": cost + 1, "gain": 5.0,
             "gain_low": 4.5, "gain_high": 5.5},
            {"activation": "identity", "baseline": True, "us_per_step_median": 100.0,
             "us_per_step_p25": 99.0, "us_per_step_p75": 101.0, "cost_pct": math.nan,
             "cost_pct_low": math.nan, "cost_pct_high": math.nan, "gain": math.nan,
             "gain_low": math.nan, "gain_high": math.nan},
        ]
    )  # fmt: skip


def entries() -> list[trend.Entry]:
    """b and a: one group (epochs differ, which only changes precision); c: two threads."""
    return [
        trend.Entry("b", run("2026-01-02T00:00", epochs=20), summary(6.0)),
        trend.Entry("c", run("2026-01-01T12:00", threads=2), summary(9.0)),
        trend.Entry("a", run("2026-01-01T00:00"), summary(5.0)),
    ]


def test_runs_that_differ_in_machine_or_training_are_in_groups_of_their_own():
    key = trend.group_key
    assert key(run("x", epochs=10)) == key(run("y", epochs=99))  # precision only
    assert key(run("x")) != key(run("x", threads=2)) and key(run("x")) != key(run("x", model="cnn"))
    assert key(run("x")) != key(run("x", val_fraction=0.1))
    assert where(run("x")) != where(run("x", threads=2))


def test_points_are_ordered_by_group_then_date():
    frame = trend.points(entries()).drop_duplicates("run")
    assert list(frame["run"]) == ["a", "b", "c"]  # a's group started first
    assert list(frame["group_no"]) == [1, 1, 2]
    assert list(frame["commit"]) == ["abcdef012"] * 3


def test_the_chart_joins_a_groups_runs_and_never_two_groups():
    fig = trend.figure(trend.points(entries()), {"a": "runs/a.html"})
    relu = [t for t in fig.data if t.name == "relu"]
    cost, _gain, step = relu  # one trace per panel
    # a at 1, b at 2, a gap, c at 4; None breaks the line between the groups
    assert list(cost.x) == [1, 2, None, 4] and list(cost.y) == [5.0, 6.0, None, 9.0]
    assert list(cost.error_y.array) == [1, 1, 0, 1]
    assert list(step.y) == [105.0, 106.0, None, 109.0]
    identity_cost = next(t for t in fig.data if t.name == "identity")
    assert list(identity_cost.x) == []  # the baseline has no cost of its own
    assert cost.customdata[0][0] == "a" and cost.customdata[0][6] == "runs/a.html"
    assert sum(t.showlegend is not False for t in relu) == 1  # one legend entry toggles all


def test_the_charts_numbers_as_a_table():
    frame = trend.table(trend.points(entries()), "cost_pct", "+.1f")
    assert list(frame["run"]) == ["a", "b", "c"]
    assert list(frame["relu"]) == ["+5.0 [+4.0, +6.0]", "+6.0 [+5.0, +7.0]", "+9.0 [+8.0, +10.0]"]
    assert set(frame["identity"]) == {"baseline"}


def test_hidden_widths_part_mlps_but_not_cnns_whose_layers_are_fixed():
    key = trend.group_key
    assert key(run("x", model="cnn")) == key(run("x", model="cnn", hidden=(100, 100, 100)))
    assert "100,100,100" not in key(run("x", model="cnn", hidden=(100, 100, 100)))
    assert key(run("x")) != key(run("x", hidden=(100, 100, 100)))


def test_the_step_times_table_holds_the_third_panels_numbers():
    frame = trend.table(trend.points(entries()), "us_per_step_median", ".1f")
    assert list(frame["relu"]) == [
        "105.0 (IQR 104.0–106.0)", "106.0 (IQR 105.0–107.0)", "109.0 (IQR 108.0–110.0)",
    ]  # fmt: skip
    assert set(frame["identity"]) == {"100.0 (IQR 99.0–101.0)"}  # the baseline's step too


def test_runs_with_other_pins_are_in_groups_of_their_own_and_their_names_say_so():
    plain = run("x")
    pinned = RunRecord.from_dict(
        {**plain.to_dict(), "config": {**plain.to_dict()["config"], "cpu_capability": "avx2"}}
    )
    flushed = RunRecord.from_dict(
        {**plain.to_dict(), "config": {**plain.to_dict()["config"], "flush_denormal": True}}
    )
    keys = {trend.group_key(r) for r in (plain, pinned, flushed)}
    assert len(keys) == 3
    assert "cpu capability avx2" in describe(pinned) and "flush-denormal" in describe(flushed)
    assert "capability" not in describe(plain) and "flush" not in describe(plain)
