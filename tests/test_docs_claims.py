"""The articles' claims put to the data (docs/tutorials.md), and the breakdown's evidence
(docs/measuring.md): every figure those sections quote is recomputed here from the
committed runs and result files, with the current code."""

import json
from pathlib import Path

import pytest

from actbench import summary as summary_mod
from actbench import table
from actbench.storage import RunFolder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
CLAIM_RUNS = ["sgd-table", "sgd-stack", "sgd-stack-compile"]


def flat(text: str) -> str:
    return " ".join(text.split())


def doc(name: str) -> str:
    return flat((ROOT / "docs" / name).read_text(encoding="utf-8"))


def summary(name: str):
    return summary_mod.summarize_folder(RunFolder(RESULTS / name)).set_index("activation")


def ratio(row) -> str:
    """'0.0123 [0.0101, 0.0150]': a gradient ratio as the health table prints it."""
    low, high = row["grad_ratio_last_low"], row["grad_ratio_last_high"]
    return f"{row['grad_ratio_last']:.3g} [{low:.3g}, {high:.3g}]"


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def cost(row) -> str:
    return f"{row['cost_pct']:+.1f} % [{row['cost_pct_low']:+.1f}, {row['cost_pct_high']:+.1f}]"


@pytest.mark.parametrize("name", CLAIM_RUNS)
def test_the_claim_runs_tables_are_the_runs_own(name):
    rows = table.render(summary_mod.summarize_folder(RunFolder(RESULTS / name)), "github", False)
    text = (ROOT / "docs" / "tutorials.md").read_text(encoding="utf-8")
    for row in rows.splitlines():
        if row.startswith("|"):
            assert row in text, row


def test_the_vanishing_gradient_figures_are_the_runs():
    text, s = doc("tutorials.md"), summary("sgd-table")
    for name in ("sigmoid", "relu", "tanh", "elu"):
        assert f"{name} {ratio(s.loc[name])}" in text, name


def test_the_dead_and_saturated_units_are_the_runs():
    text, s = doc("tutorials.md"), summary("sgd-table")
    relu, sigmoid = s.loc["relu"], s.loc["sigmoid"]
    first, last = percent(relu["dead_first"]), percent(relu["dead_last"])
    assert f"dead: {first} after the first epoch, {last} after the last" in text
    first, last = percent(sigmoid["saturated_first"]), percent(sigmoid["saturated_last"])
    assert f"sigmoid's saturated entries: {first} → {last}" in text


def test_the_per_step_costs_of_elu_and_relu_are_the_runs():
    text = doc("tutorials.md")
    for name in CLAIM_RUNS:
        s = summary(name)
        for act in ("relu", "elu"):
            assert f"{act} {cost(s.loc[act])} (`{name}`)" in text, (name, act)


def test_the_kernels_alone_figures_are_the_runs():
    text, s = doc("tutorials.md"), summary("sgd-table")
    for act in ("relu", "elu"):
        assert f"{act}'s kernels alone take {s.loc[act, 'kernel_us']:.0f} µs" in text, act


def test_the_breakdown_check_figures_are_the_scripts():
    report = json.loads((RESULTS / "breakdown_check-cpu.json").read_text())
    text = doc("measuring.md")
    spreads = [s["max_control_spread_pct"] for s in report["sweeps"]]
    assert f"within {max(spreads):.1f} %" in text
    apart = [p["apart_pct"] for p in report["pairs"]]
    share = [p["share_apart_pct"] for p in report["pairs"]]
    assert f"{min(apart):.1f}–{max(apart):.1f} % apart in µs" in text
    assert f"{min(share):.1f}–{max(share):.1f} % as a share of the step" in text
    assert f"{report['within']} pairs" in text
    walls = " and ".join(f"{s['wall_s']:.2f}" for s in report["sweeps"])
    overheads = " and ".join(f"{s['overhead_pct']:.2f} %" for s in report["sweeps"])
    assert f"each sweep took {walls} s of wall time" in text
    assert f"of {overheads}" in text


def test_the_probe_time_is_the_breakdown_checks_runs():
    """'take 30–60 ms (`probe_seconds` ...: each trial's median over the epochs read, range
    over both sweeps)'."""
    medians = []
    for i in (0, 1):
        history = RunFolder(RESULTS / f"breakdown_check/sweep{i}").history()
        read = history[history["profile_activation_us"].notna()]  # the epochs read
        medians += list(1000 * read.groupby(["activation", "seed"])["probe_seconds"].median())
    assert f"take {min(medians):.0f}–{max(medians):.0f} ms (`probe_seconds`" in doc("measuring.md")


def test_relus_optimizer_figures_are_the_breakdown_checks_runs():
    text = doc("measuring.md")
    runs = [summary(f"breakdown_check/sweep{i}") for i in (0, 1)]
    costs = " and ".join(f"{s.loc['relu', 'cost_us']:.0f}" for s in runs)
    assert f"relu costs {costs} µs a step over identity" in text
    explained = [s.loc["relu", "explained_pct"] for s in runs]
    assert f"explains {min(explained):.0f}–{max(explained):.0f} % of it" in text
    others = [s.drop(index="relu")["profile_optimizer_us"] for s in runs]
    low, high = min(o.min() for o in others), max(o.max() for o in others)
    assert f"against {low:.0f}–{high:.0f} µs for every other activation" in text
    relu = sorted(f"{s.loc['relu', 'profile_optimizer_us']:.0f}" for s in runs)
    assert f"{relu[0]}–{relu[1]} µs a step in the two sweeps" in text
    assert f"{runs[0].loc['relu', 'subnormal_pct']:.1f} % of relu's weights" in text


def test_the_layer_stacks_changes_are_the_runs():
    """'sigmoid most, +0.26 points; relu +0.05, elu +0.04 ... elu 477 KiB against 320 KiB':
    the article's own stack (sgd-stack) against `--hidden 200` (sgd-table)."""
    text, table_run, stack = doc("tutorials.md"), summary("sgd-table"), summary("sgd-stack")
    gain = 100 * (stack["test_accuracy_mean"] - table_run["test_accuracy_mean"])
    assert gain.drop(index="identity").idxmax() == "sigmoid"
    quoted = (
        f"sigmoid most, {gain['sigmoid']:+.2f} points; relu {gain['relu']:+.2f}, "
        f"elu {gain['elu']:+.2f}"
    )
    assert quoted in text
    kib = stack["saved_bytes"] / 1024
    others = kib.drop(index="elu")
    assert others.nunique() == 1
    assert f"elu {kib['elu']:.0f} KiB against {others.iloc[0]:.0f} KiB" in text


def test_what_the_readings_cost_is_the_breakdown_checks_runs():
    """'summed over a sweep they took 13.0 and 12.8 s, 9.7 % of its timed steps' seconds in
    both sweeps ... because two seed groups train at once': the readings' own seconds
    against the timed steps', from each sweep's history.csv; the negative overhead comes
    from two groups sharing one clock, not from cheap readings."""
    probe, steps, jobs = [], [], []
    for i in (0, 1):
        folder = RunFolder(RESULTS / f"breakdown_check/sweep{i}")
        history = folder.history()
        probe.append(history["probe_seconds"].sum())
        steps.append(history["steps_seconds"].sum())
        jobs.append(json.loads((folder.path / "run.json").read_text())["jobs"])
    shares = [f"{100 * p / s:.1f} %" for p, s in zip(probe, steps, strict=True)]
    share = f"{shares[0]} of its timed steps' seconds in both sweeps"
    if shares[0] != shares[1]:
        share = f"{shares[0]} and {shares[1]} of its timed steps' seconds"
    text = doc("measuring.md")
    assert f"summed over a sweep they took {probe[0]:.1f} and {probe[1]:.1f} s, {share}" in text
    report = json.loads((RESULTS / "breakdown_check-cpu.json").read_text())
    assert all(s["overhead_pct"] < 0 for s in report["sweeps"]) and jobs == [2, 2]
    assert "because two seed groups train at once, so its overhead" in text
    assert "The readings cost the sweep little" not in text
