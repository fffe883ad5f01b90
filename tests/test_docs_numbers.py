"""Every table and headline figure the README and docs/ quote comes from a file in results/.

Each check recomputes what the docs show from the committed result files with the current
code (the run tables, the compare examples, the gate figures, the step benchmark, the
noisy-neighbour table) and asserts the docs say exactly that: a regenerated result, or a
change in how it is computed, fails here until the docs follow.
"""

import dataclasses
import functools
import json
import re
import shlex
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actbench import comparison, comparison_view, table
from actbench import summary as summary_mod
from actbench.storage import RunFolder
from tests.conftest import example_runs

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
README = (ROOT / "README.md").read_text(encoding="utf-8")


@functools.cache
def by_activation(name: str) -> pd.DataFrame:
    """A committed run's summary, one row per activation (read once per test session)."""
    return summary_mod.summarize_folder(RunFolder(RESULTS / name)).set_index("activation")


def doc(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def test_the_example_table_is_the_runs_own():
    """README shows what the sweep prints (the compact table), measuring.md every column."""
    summary = summary_mod.summarize_folder(RunFolder(RESULTS / "default"))
    for text, wide in ((README, False), (doc("measuring.md"), True)):
        rows = table_rows(table.render(summary, "github", wide=wide))
        assert len(rows) == 7
        for row in rows:
            assert row in text, row


@pytest.mark.parametrize(
    "runs",
    [
        ("default", "default-repeat"),
        ("default", "threads2"),
        ("default", "compile"),
    ],
)
def test_the_compare_examples_are_what_compare_prints(runs):
    a, b = (RunFolder(RESULTS / name) for name in runs)
    printed = comparison_view.render(comparison.compare(a, b), "github", wide=False)
    text = doc("compare.md")
    assert f"A = {runs[0]}   B = {runs[1]}" in text
    for row in table_rows(printed):
        assert row in text, row


def test_the_same_command_example_prose_is_the_comparisons(capsys):
    """'relu, tanh and sigmoid agree ... within 0.998–1.000 ... elu does not: 1.147 [...]
    ... exits 1 ... kernels alone 229.6 µs ... 91.8 µs ... tanh's 117.3 µs and 117.5 µs'."""
    from actbench import cli

    a, b = RESULTS / "default", RESULTS / "default-repeat"
    rows = comparison.compare(RunFolder(a), RunFolder(b)).rows.set_index("activation")
    text = flat(doc("compare.md"))
    same = rows[(rows["verdict"] == "same") & (rows["basis"] == "baseline")]
    moved = rows[rows["verdict"] == "slower"]
    assert sorted(same.index) == ["relu", "sigmoid", "tanh"] and list(moved.index) == ["elu"]
    assert f"within {same['ratio'].min():.3f}–{same['ratio'].max():.3f}, each `same`" in text
    elu = moved.loc["elu"]
    assert (
        f"elu does not: {elu['ratio']:.3f} [{elu['ratio_low']:.3f}, {elu['ratio_high']:.3f}]"
        in text
    )
    assert cli.main(["compare", str(a), str(b), "--fail-if-slower", "5"]) == 1
    assert "with `--fail-if-slower 5`, which exits 1" in text
    gate = capsys.readouterr().err.strip().splitlines()
    assert all(line in doc("compare.md") for line in gate), gate
    kernels = {
        "a": by_activation("default")["kernel_us"],
        "b": by_activation("default-repeat")["kernel_us"],
    }
    assert (
        f"took {kernels['b']['elu']:.1f} µs a step in `default-repeat` and "
        f"{kernels['a']['elu']:.1f} µs in `default`, while tanh's took "
        f"{kernels['b']['tanh']:.1f} µs and {kernels['a']['tanh']:.1f} µs"
    ) in text


def real_examples() -> tuple[str, str]:
    """compare.md's real examples: (their prose, their code blocks)."""
    section = doc("compare.md").split("### Real examples (this machine)")[1]
    parts = section.split("```")
    return flat(" ".join(parts[0::2])), " ".join(parts[1::2])


def test_every_ratio_the_examples_prose_quotes_is_in_their_output():
    prose, blocks = real_examples()
    quoted = re.findall(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", prose)
    assert len(quoted) >= 3
    for ratio in quoted:
        assert ratio in blocks, ratio


def test_the_other_examples_prose_is_the_comparisons():
    """default-again: 'within 1.000–1.002, each `same`', 'Two of ... three seeds ...
    disturbed'; threads2's baseline 0.460–2.004; compile: '6.5 % cheaper', '3–4 % cheaper'."""
    from datetime import datetime

    from actbench import disturbance

    prose, _ = real_examples()
    default = RunFolder(RESULTS / "default")

    def started(name: str) -> datetime:
        return datetime.fromisoformat(
            json.loads((RESULTS / name / "run.json").read_text())["started"]
        )

    minutes = {
        n: abs(started(n) - started("default")).total_seconds() / 60
        for n in ("default-repeat", "default-again")
    }
    assert f"started {minutes['default-repeat']:.0f} minutes earlier" in prose
    assert f"started {minutes['default-again']:.0f} minutes after `default`" in prose
    again = comparison.compare(default, RunFolder(RESULTS / "default-again")).rows
    same = again[again["basis"] == "baseline"]
    assert set(same["verdict"]) == {"same"}
    assert f"within {same['ratio'].min():.3f}–{same['ratio'].max():.3f}, each `same`" in prose
    trials = RunFolder(RESULTS / "default-again").trials()
    flagged = trials.loc[disturbance.of_trials(trials) != "", "seed"].nunique()
    words = {1: "One", 2: "Two", 3: "All"}
    assert f"{words[flagged]} of `default-again`'s three seeds" in prose
    threads = comparison.compare(default, RunFolder(RESULTS / "threads2")).rows
    base = threads.set_index("activation").loc["identity"]
    assert f"{base['ratio_low']:.3f}–{base['ratio_high']:.3f}, is too wide" in prose
    compiled = comparison.compare(default, RunFolder(RESULTS / "compile")).rows
    cheaper = 100 * (1 - compiled.set_index("activation")["ratio"])
    assert f"tanh's step relative to identity's is {cheaper['tanh']:.1f} % cheaper" in prose
    rest = cheaper[["relu", "elu", "sigmoid"]]
    assert f"{np.floor(rest.min()):.0f}–{np.ceil(rest.max()):.0f} % cheaper" in prose


def test_the_readme_quotes_how_much_elus_kernels_moved():
    """'elu's kernels once took 2.50× as long as in a later run of the same command'."""
    kernel = {
        name: by_activation(name).loc["elu", "kernel_us"] for name in ("default-repeat", "default")
    }
    ratio = kernel["default-repeat"] / kernel["default"]
    assert f"elu's kernels once took {ratio:.2f}× as long as in a later run" in flat(README)


def test_the_gate_figures_are_the_scripts():
    report = json.loads((RESULTS / "gate_check-cpu.json").read_text())
    pairs = report["pairs"]
    slow = [p["rows"]["gatecheck_act:act"]["ratio"] for p in pairs if p["b"].startswith("slow")]
    alarms, caught = report["false_alarms"], report["detections"]
    same_pairs, slow_pairs = report["same_code_pairs"], report["slow_pairs"]
    assert f"{alarms} of {same_pairs} pairs of same-code runs failed" in README.replace("\n", " ")
    assert f"**{alarms} of {same_pairs}** false alarms" in doc("compare.md")
    assert f"**{caught} of {slow_pairs}** caught" in doc("compare.md")
    untested = report["untested_pairs"]
    assert f"({untested} of {same_pairs + slow_pairs} pairs exited 3)" in flat(doc("compare.md"))
    assert f"its B/A {min(slow):.3f}–{max(slow):.3f}" in doc("compare.md")
    low, high = 100 * (min(slow) - 1), 100 * (max(slow) - 1)
    assert f"made {low:.1f}–{high:.1f} % slower" in README.replace("\n", " ")


def test_the_gate_prose_quotes_the_script():
    """'relu 1.008 [0.999, 1.017] ... moved by at most 0.8 % ... every such verdict was
    `same` ... ranged 0.960–1.041 ... every interval above 1.21': from the same file."""
    pairs = json.loads((RESULTS / "gate_check-cpu.json").read_text())["pairs"]
    same = [p for p in pairs if p["b"].startswith("same")]
    rows = [(n, r) for p in same for n, r in p["rows"].items() if r["basis"] == "baseline"]
    name, top = max(rows, key=lambda row: row[1]["ratio"])
    text = flat(doc("compare.md"))
    highest = f"{name} {top['ratio']:.3f} [{top['ratio_low']:.3f}, {top['ratio_high']:.3f}]"
    assert f"| {highest} (over identity) |" in text
    moved = max(abs(r["ratio"] - 1) for _, r in rows)
    assert f"moved by at most {100 * moved:.1f} %" in text
    assert all(r["ratio_low"] <= 1 <= r["ratio_high"] for _, r in rows)
    verdicts = sorted({r["verdict"] for _, r in rows})
    assert f"every such verdict was {' or '.join(f'`{v}`' for v in verdicts)};" in text
    base = [p["rows"]["identity"]["ratio"] for p in same]
    assert f"ranged {min(base):.3f}–{max(base):.3f}" in text
    slow = [p["rows"]["gatecheck_act:act"] for p in pairs if p["b"].startswith("slow")]
    floor = min(r["ratio_low"] for r in slow)
    assert f"every interval above {np.floor(100 * floor) / 100:.2f}" in text  # rounded down


def test_the_step_benchmark_table_and_overhead_are_the_files():
    report = json.loads((RESULTS / "bench_step-cpu.json").read_text())
    text = doc("performance.md")
    for name in ("typical DataLoader loop", "actbench eager", "actbench compile"):
        m = report["methods"][name]
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {m['us_per_step_median']:.1f} | {m['wall_us_per_step']:.1f} |" in row
        assert f"{m['x_floor']:.2f}×" in row
        if name != "typical DataLoader loop":
            assert f"**{m['step_speedup']:.2f}×**" in row and f"**{m['wall_speedup']:.2f}×**" in row
    assert (
        f"| compute floor ({report['matmul_gflops']:.1f} GFLOP/s) | {report['floor_us']:.1f} |"
        in text
    )
    eager, compiled = report["methods"]["actbench eager"], report["methods"]["actbench compile"]
    prose = flat(text)
    assert f"median step is {eager['step_speedup']:.1f}× shorter" in prose
    assert f"batch fetch included, is {eager['wall_speedup']:.1f}× shorter" in prose
    assert f"eager step is {eager['timed_region_speedup']:.1f}× faster" in prose
    assert f"eager is {eager['x_floor']:.2f}× the floor" in prose
    assert f"compile {compiled['x_floor']:.2f}× (target ≤ 2×" in prose
    assert f"the step's {report['step_mflop']:.1f} MFLOP" in prose


@pytest.mark.parametrize(
    "name",
    [
        "noisy_neighbour-default-cpu.json",
        "noisy_neighbour-cpu.json",
    ],
)
def test_the_noisy_neighbour_tables_are_the_scripts(name):
    report = json.loads((RESULTS / name).read_text())
    threads = report["config"]["threads"]
    text = doc("measuring.md")
    text = text[text.index(f"(../results/{name})") :]  # the table that follows its file's link
    for variant in report["variants"]:
        label = (
            f"interleaved, rounds of {variant['round_steps']}"
            if variant["schedule"] == "interleaved"
            else "sequential"
        )
        if threads is not None:
            label += f", {threads} thread{'' if threads == 1 else 's'}"
        for name, quiet in variant["ratios"]["quiet"].items():
            hog = variant["ratios"]["hog"][name]
            again = variant["ratios"]["quiet again"][name]
            row = next(
                line
                for line in text.splitlines()
                if line.startswith(f"| {label} ") and f"| {name} " in line
            )
            for value in (quiet, hog, again):
                assert f"| {value:.3f} " in row, (label, name, value)


def test_the_timer_overhead_range_is_the_runs():
    values = [
        json.loads((folder / "run.json").read_text())["timer_overhead_us"]
        for folder in example_runs(RESULTS)
    ]
    assert f"{min(values):.2f}–{max(values):.2f} µs in the committed runs" in doc("performance.md")


def test_the_cnn_table_is_the_runs_own():
    folder = RunFolder(RESULTS / "cnn")
    rows = table_rows(table.render(summary_mod.summarize_folder(folder), "github", wide=False))
    text = doc("ray-and-cnn.md")
    for row in rows:
        assert row in text, row


def test_the_cnn_prose_quotes_the_run():
    """'took 15.8 minutes ... relu is the most accurate (99.05 %) ... within 0.62 points ...
    reaches 98.13 % ... tanh's own part takes 9411.0 µs': from results/cnn."""
    from datetime import datetime

    info = json.loads((RESULTS / "cnn" / "run.json").read_text())
    took = datetime.fromisoformat(info["finished"]) - datetime.fromisoformat(info["started"])
    s = by_activation("cnn")
    text = flat(doc("ray-and-cnn.md"))
    assert f"the sweep took {took.total_seconds() / 60:.1f} minutes" in text
    acc = 100 * s["test_accuracy_mean"]
    rows = acc.drop(index="identity")
    assert f"{rows.idxmax()} is the most accurate ({rows.max():.2f} %)" in text
    assert f"every activation is within {rows.max() - rows.min():.2f} points" in text
    assert f"reaches {acc['identity']:.2f} %" in text
    costs = s.drop(index="identity").sort_values("cost_pct")
    listed = [f"{n} {c:+.1f} %" for n, c in costs["cost_pct"].items()]
    assert ", ".join(listed[:-1]) + f" and {listed[-1]} of a step" in text
    part = s["profile_activation_us"]
    quoted = (
        f"tanh's own part takes {part['tanh']:.1f} µs a step and elu's {part['elu']:.1f} µs, "
        f"against {part['relu']:.1f} µs for relu and {part['sigmoid']:.1f} µs for sigmoid"
    )
    assert quoted in text


def test_the_thread_comparison_is_the_files():
    report = json.loads((RESULTS / "bench_threads-cpu.json").read_text())
    one = report["methods"]["actbench eager, 1 thread(s)"]
    two = report["methods"]["actbench eager, 2 thread(s)"]
    ratios = [a / b for a, b in zip(one["round_medians"], two["round_medians"], strict=True)]
    text = " ".join(doc("performance.md").split())
    assert f"2 threads were {np.median(ratios):.2f}× faster per step" in text
    assert f"range {min(ratios):.2f}–{max(ratios):.2f}×" in text


def test_the_spread_of_absolute_step_times_is_the_scripts():
    report = json.loads((RESULTS / "noisy_neighbour-cpu.json").read_text())
    relu = [
        v["us_per_step"][condition]["relu"]
        for v in report["variants"]
        for condition in v["us_per_step"]
    ]
    low, high = round(min(relu), -1), round(max(relu), -1)
    assert f"ranged from about {low:.0f} to {high:.0f} µs" in " ".join(doc("measuring.md").split())


TUTORIAL_RUNS = ["default", "cnn", "sgd-table", "airline-lstm", "airline-lstm-6x6"]


@pytest.mark.parametrize("name", TUTORIAL_RUNS)
def test_the_tutorial_tables_are_the_runs_own(name):
    folder = RunFolder(RESULTS / name)
    rows = table_rows(table.render(summary_mod.summarize_folder(folder), "github", wide=False))
    text = doc("tutorials.md")
    for row in rows:
        assert row in text, row


def mean_std(name: str, activation: str) -> str:
    """'97.61 ± 0.05' (accuracy, %) or '0.0924 ± 0.0105' (RMSE) over a run's seeds."""
    folder = RunFolder(RESULTS / name)
    summary = summary_mod.summarize_folder(folder).set_index("activation")
    metric = summary_mod.metric_of(summary)
    mean = summary.loc[activation, f"{metric.column}_mean"]
    std = summary.loc[activation, f"{metric.column}_std"]
    return f"{metric.format(mean)} ± {metric.format(std)}"


@pytest.mark.parametrize(
    ("name", "activations"),
    [
        ("default", ["relu"]),
        ("cnn", ["relu", "tanh"]),
        ("sgd-table", ["relu", "tanh", "sigmoid", "elu"]),
        ("sgd-stack", ["relu", "tanh", "sigmoid", "elu"]),
        ("airline-lstm", ["tanh", "relu"]),
        ("airline-lstm-6x6", ["tanh", "relu"]),
    ],
)
def test_the_tutorial_summary_quotes_the_runs(name, activations):
    text = doc("tutorials.md") + README
    for activation in activations:
        assert f"{mean_std(name, activation)} (`{name}`)" in text, (name, activation)


def test_the_tutorial_bullets_quote_the_runs():
    """'for every seed (97.33–97.52 %)' (relu, default) and 'within 0.12 points ... tanh
    costs +45.0 % ... against relu's +13.1 %' (cnn)."""
    text = flat(doc("tutorials.md"))
    trials = RunFolder(RESULTS / "default").trials()
    relu = 100 * trials.loc[trials["activation"] == "relu", "test_accuracy"]
    assert f"for every seed ({relu.min():.2f}–{relu.max():.2f} %)" in text
    s = by_activation("cnn")
    apart = 100 * abs(s.loc["relu", "test_accuracy_mean"] - s.loc["tanh", "test_accuracy_mean"])
    assert f"relu and tanh end within {apart:.2f} points of each other" in text
    quoted = (
        f"tanh costs {s.loc['tanh', 'cost_pct']:+.1f} % per step over the linear network "
        f"against relu's {s.loc['relu', 'cost_pct']:+.1f} %"
    )
    assert quoted in text


def test_the_gain_bullets_quote_the_runs():
    """'−0.75 points [−0.87, −0.64]' (sigmoid, sgd-table), 'one layer: +0.0009
    [−0.0189, +0.0207]' (tanh, airline-lstm) and 'two layers: +0.0056 [−0.0499, +0.0610]'
    (airline-lstm-6x6); each interval as the bullets say (the LSTM's contain 0, so the
    bullet says no difference shows, not that the cells forecast alike)."""

    def signed(value: float, digits: int) -> str:
        return f"{value:+.{digits}f}".replace("-", "−")

    text = flat(doc("tutorials.md"))
    for run, act, digits, words in (
        ("sgd-table", "sigmoid", 2, "its gain over `identity` is {} points [{}, {}]"),
        ("airline-lstm", "tanh", 4, "one layer: {} [{}, {}]"),
        ("airline-lstm-6x6", "tanh", 4, "two layers: {} [{}, {}] in RMSE"),
    ):
        row = by_activation(run).loc[act]
        values = (signed(row[k], digits) for k in ("gain", "gain_low", "gain_high"))
        assert words.format(*values) in text, (run, act)
    sigmoid = by_activation("sgd-table")
    assert sigmoid.loc["sigmoid", "gain_high"] < 0  # 'worse than the linear model'
    for run in ("airline-lstm", "airline-lstm-6x6"):
        tanh = by_activation(run)
        assert tanh.loc["tanh", "gain_low"] < 0 < tanh.loc["tanh", "gain_high"], run
    assert "runs tanh's gain over `identity` has an interval that contains 0" in text
    assert "no difference shows at these seeds" in text and "as well as tanh" not in text


def test_the_lstm_breakdown_sentence_quotes_the_run():
    s = by_activation("airline-lstm")
    part, step = s["profile_activation_us"], s["us_per_step_median"]
    quoted = (
        f"tanh's own part takes {part['tanh']:.1f} µs of a {step['tanh']:.1f} µs eager step "
        f"(relu's {part['relu']:.1f} µs of {step['relu']:.1f} µs)"
    )
    assert quoted in flat(doc("tutorials.md"))


@pytest.mark.parametrize("name", ["bench_lstm-cpu.json", "bench_lstm-6x6-cpu.json"])
def test_the_lstm_step_figures_are_the_scripts(name):
    methods = json.loads((RESULTS / name).read_text())["methods"]
    text = " ".join((doc("tutorials.md") + README).split())
    for key, figures in methods.items():
        if "actbench" not in key:
            continue
        quoted = (
            f"{figures['plain_over_this']:.2f}× ({figures['plain_over_this_min']:.2f}–"
            f"{figures['plain_over_this_max']:.2f})"
        )
        assert quoted in text, (name, key, quoted)


def test_the_lstm_compile_times_are_the_scripts():
    """'12.82 s for tanh and 0.50 s for relu after it': each method's warm-up, compile incl."""
    text = " ".join(doc("tutorials.md").split())
    for name, keys in (
        ("bench_lstm-cpu.json", ("tanh / actbench compile", "relu / actbench compile")),
        ("bench_lstm-6x6-cpu.json", ("tanh / actbench compile", "relu / actbench compile")),
    ):
        methods = json.loads((RESULTS / name).read_text())["methods"]
        for key in keys:
            assert f"{methods[key]['warmup_seconds']:.2f} s" in text, (name, key)


def test_the_lstm_conclusion_figures_are_the_runs():
    """'ranges 0.0791–0.4058 ... Welch p = 0.17': two-layer relu against one tanh layer."""
    from scipy import stats

    one = RunFolder(RESULTS / "airline-lstm").trials()
    two = RunFolder(RESULTS / "airline-lstm-6x6").trials()
    tanh = one.loc[one["activation"] == "tanh", "test_rmse"].to_numpy()
    relu = two.loc[two["activation"] == "relu", "test_rmse"].to_numpy()
    p = stats.ttest_ind(relu, tanh, equal_var=False).pvalue
    for text in (README, doc("tutorials.md")):
        flat = " ".join(text.split())
        assert f"{relu.min():.4f}–{relu.max():.4f}" in flat and f"p = {p:.2f}" in flat
    assert f"against {tanh.min():.4f}–{tanh.max():.4f}" in " ".join(doc("tutorials.md").split())


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_rerun_figures_are_the_scripts():
    """'N of M checks hold' and the median half-width, for one-job and two-job sweeps."""
    one = json.loads((RESULTS / "rerun_check-cpu.json").read_text())
    two = json.loads((RESULTS / "rerun_check-jobs2-cpu.json").read_text())
    within = one["checks"]["within this set"]
    quoted = (
        f"{within['hold']} of {within['checks']} checks hold; median half-width "
        f"{one['median_half_width_pct']:.2f} points"
    )
    assert quoted in flat(README) and quoted in flat(doc("measuring.md"))
    across = two["checks"]["against the earlier set"]
    assert f"{across['hold']} of {across['checks']} checks" in flat(doc("measuring.md"))
    within_two = two["checks"]["within this set"]
    quoted = (
        f"{within_two['hold']} of {within_two['checks']} checks hold; median half-width "
        f"{two['median_half_width_pct']:.2f} points within the four runs"
    )
    assert quoted in flat(doc("measuring.md"))
    costs = one["costs"]
    for act in ("relu", "tanh", "sigmoid", "elu"):
        values = [run[act]["cost_pct"] for run in costs.values()]
        assert f"{act} at {min(values):+.2f} to {max(values):+.2f}" in flat(doc("measuring.md"))


def seconds(walls: list[float]) -> str:
    low, high = f"{min(walls):.0f}", f"{max(walls):.0f}"
    return f"{low} s" if low == high else f"{low}–{high} s"


def test_the_sweep_times_and_overhead_are_the_scripts():
    """The default sweep's wall time (two groups at once) against its timed steps, and how
    much slower its steps ran than the example's (`results/default`, the same command)."""
    default = json.loads((RESULTS / "sweep_overhead-cpu.json").read_text())
    walls = [s["wall_seconds"] for s in default["sweeps"]]
    assert f"seeds 0, 1 and 2 in {seconds(walls)} on this 2-core machine" in flat(README)
    timed = sum(s["timed_seconds"] for s in default["sweeps"]) / len(walls)
    assert f"{seconds(walls)} of wall time for {timed:.0f} s of timed steps" in flat(
        doc("measuring.md")
    )
    example = pd.read_csv(RESULTS / "default" / "trials.csv")["timed_seconds"].sum()
    slower = [s["timed_seconds"] / example for s in default["sweeps"]]
    span = f"{min(slower):.2f}–{max(slower):.2f}×"
    assert f"its steps took {span} as long as the example's" in flat(README)
    assert f"the same rows' steps took {span} as long as there" in flat(doc("measuring.md"))


def test_the_sweeps_efficiency_and_where_its_cores_went_are_the_scripts():
    """performance.md's efficiency range and median, and its table of parts, each part's
    share of the core-seconds (wall × cores) over the three sweeps, from the file."""
    report = json.loads((RESULTS / "sweep_overhead-cpu.json").read_text())
    sweeps = report["sweeps"]
    efficiency = [s["efficiency"] for s in sweeps]
    text = flat(doc("performance.md"))
    assert (
        f"was {min(efficiency):.3f}–{max(efficiency):.3f} over three sweeps (median "
        f"{statistics.median(efficiency):.3f})"
    ) in text
    for s in sweeps:  # the parts add up to what the sweep held
        held = s["wall_seconds"] * s["cores"]
        assert sum(s["core_seconds"].values()) == pytest.approx(held)
        assert s["efficiency"] == pytest.approx(
            (s["core_seconds"]["steps"] + s["core_seconds"]["pacer_steps"]) / held
        )
    rows = dict(re.findall(r"^\| ([^|]+?) \| ([0-9.–]+) % \|$", doc("performance.md"), re.M))
    names = {"steps": "the rows' timed steps", "pacer_steps": "the pacers' timed steps"}
    for part in sweeps[0]["core_seconds"]:
        shares = [100 * s["core_seconds"][part] / (s["wall_seconds"] * s["cores"]) for s in sweeps]
        low, high = f"{min(shares):.1f}", f"{max(shares):.1f}"
        assert rows[names.get(part, part.replace("rest of", "the rest of"))] == (
            low if low == high else f"{low}–{high}"
        ), part


def test_the_noisy_neighbour_prose_quotes_its_files():
    """README's, measuring.md's and performance.md's words about the hog runs: the default
    (interleaved) sweep, and interleaved against one trial after another."""
    default = json.loads((RESULTS / "noisy_neighbour-default-cpu.json").read_text())
    schedules = json.loads((RESULTS / "noisy_neighbour-cpu.json").read_text())
    d = default["variants"][0]
    hog, quiet = 100 * d["worst_quiet_vs_hog"], 100 * d["worst_quiet_vs_quiet"]
    assert f"moved by at most {hog:.1f} % (quiet against quiet: {quiet:.1f} %)" in flat(README)
    text = flat(doc("measuring.md"))
    assert f"Every cost agreed within {hog:.1f} % between the quiet and the hogged" in text
    assert f"within {quiet:.1f} % between the two quiet ones" in text
    assert f"was ±{d['widest_quiet_half_width_pct']:.1f} % of the baseline's step" in text
    assert f"the costs of a default sweep moved by at most {hog:.1f} %" in flat(
        doc("performance.md")
    )
    by = {v["schedule"]: v for v in schedules["variants"]}
    seq, inter = by["sequential"], by["interleaved"]
    quoted = (
        f"disagreed by up to {100 * seq['worst_quiet_vs_hog']:.1f} % under the hog and "
        f"{100 * seq['worst_quiet_vs_quiet']:.1f} % between two quiet runs"
    )
    assert quoted in text
    assert (
        f"where trials run one after another moved by up to {100 * seq['worst_quiet_vs_hog']:.1f} %"
        in flat(README)
    )
    quoted = (
        f"interleaved in the same script run, within {100 * inter['worst_quiet_vs_hog']:.1f} % "
        f"and {100 * inter['worst_quiet_vs_quiet']:.1f} %"
    )
    assert quoted in text


def test_the_disturbance_calibration_is_the_files():
    """The table of docs/measuring.md that calibrates the disturbed-timing flag."""
    rows = json.loads((RESULTS / "calibrate_disturbance-cpu.json").read_text())["per_trial"]

    def span(trials, column, spec, unit=""):
        values = [t[column] for t in trials]
        return f"{min(values):{spec}}–{max(values):{spec}}{unit}"

    quiet = rows["quiet"]
    shared = [t for t in rows["hog"] if t["seed"] in (0, 1)]
    alone = [t for t in rows["hog"] if t["seed"] == 2]
    text = doc("measuring.md")
    for label, trials, iqr in (
        ("quiet", quiet, True),
        ("on/off hog, seeds 0 and 1", shared, False),
        ("on/off hog, seed 2", alone, False),
    ):
        flagged = f"{sum(t['flag'] for t in trials)} of {len(trials)}"
        row = (
            f"| {label} | {flagged} | {span(trials, 'preempted_pct', '.2f', ' %')} | "
            f"{span(trials, 'mean_over_median', '.3f')} | "
            + (f"{span(trials, 'iqr_pct', '.1f', ' %')} |" if iqr else "|")
        )
        assert row in text, row
    iqr = span(quiet, "iqr_pct", ".1f", " %")
    assert f"a quiet one-thread step's IQR is {iqr} of its median" in flat(text)


def test_the_example_prose_quotes_the_run():
    """'tanh costs +13.5 % ... each interval ±0.4 points ... 4.8–5.5 accuracy points over
    its 92.04 % ... elu 88.0 µs in the step, 91.8 µs alone': the README's and measuring.md's
    words about the example, from results/default (and default-repeat's elu)."""
    summary = by_activation("default")
    rows = summary[~summary["baseline"]].sort_values("cost_pct", ascending=False)
    (first, top), rest = next(rows.iterrows()), list(rows.iloc[1:].iterrows())
    readme, measuring = flat(README), flat(doc("measuring.md"))
    quoted = f"Here {first} costs {top['cost_pct']:+.1f} % per step over the linear model, "
    assert quoted + ", ".join(f"{n} {r['cost_pct']:+.1f} %" for n, r in rest) in readme
    quoted = f"{first} costs {top['cost_pct']:+.1f} % ({top['cost_us']:+.1f} µs) per step, "
    rest_quoted = ", ".join(f"{n} {r['cost_pct']:+.1f} % ({r['cost_us']:+.1f} µs)" for n, r in rest)
    assert quoted + rest_quoted in measuring
    half = ((rows["cost_pct_high"] - rows["cost_pct_low"]) / 2).round(1)
    spread = (
        f"±{half.min():.1f} points"
        if half.min() == half.max()
        else f"±{half.min():.1f} to ±{half.max():.1f} points"
    )
    assert f"each interval {spread}, over three seeds" in readme
    assert f"over the three seeds of {spread}" in measuring
    gains = f"{rows['gain'].min():.1f}–{rows['gain'].max():.1f} accuracy points over its "
    assert gains + f"{100 * summary.loc['identity', 'test_accuracy_mean']:.2f} %" in readme
    elu = summary.loc["elu"]
    part = (
        f"(elu {elu['profile_activation_us']:.1f} µs in the step, {elu['kernel_us']:.1f} µs alone)"
    )
    assert part in measuring
    elu = by_activation("default-repeat").loc["elu"]
    quoted = (
        f"elu's kernels alone at {elu['kernel_us']:.1f} µs and its cost at {elu['cost_pct']:+.1f} %"
    )
    assert quoted in measuring


def test_the_example_names_the_machine_it_ran_on():
    """README's and measuring.md's description of the example's host is its run.json's."""
    env = json.loads((RESULTS / "default" / "run.json").read_text())["environment"]
    python = ".".join(env["python_version"].split(".")[:2])
    host = f"({env['cpu_model']}, torch {env['torch_version']} on the CPU"
    assert host in flat(README)
    assert f"{host}, Python {python}" in flat(doc("measuring.md"))


def committed_runs() -> list[Path]:
    """Every run folder git tracks under results/, a script's kept sweeps included."""
    listed = subprocess.run(
        ["git", "-C", str(RESULTS), "ls-files", "--", ":(glob)**/run.json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:  # not a git checkout (an sdist): every folder there is
        return sorted(p.parent for p in RESULTS.glob("**/run.json"))
    return sorted((RESULTS / line).parent for line in listed.stdout.splitlines())


def quick_start_runs() -> list[str]:
    """The committed runs of the README's Quick start command: the configuration its own
    flags make, read back through the CLI's parser from what each run recorded."""
    from actbench import cli, sweep_flags

    def made(argv: list[str]) -> dict:
        config = sweep_flags.config_from(cli.build_parser().parse_args(argv))
        where = ("name", "out", "download", "data_dir", "quiet")
        return {k: v for k, v in dataclasses.asdict(config).items() if k not in where}

    command = re.search(r"^(python -m actbench sweep[^#\n]*)", README, re.M).group(1)
    asked = made(shlex.split(command)[3:])
    runs = []
    for folder in committed_runs():
        recorded = json.loads((folder / "run.json").read_text())["environment"]["argv"]
        if made(recorded[1:]) == asked:
            runs.append(str(folder.relative_to(RESULTS)))
    return runs


def test_the_same_command_rerun_figures_are_the_runs():
    """'36 of 40 checks hold; median half-width 0.43 points ... The 4 that fail are elu
    against `default-repeat` ... 16.0–16.4 points apart where their half-widths allow
    0.8–1.1': scripts/rerun_check.py's own check over every committed run of the Quick
    start's command."""
    import itertools

    from scripts import rerun_check

    names = quick_start_runs()
    assert set(names) == {
        "default",
        "default-repeat",
        "default-again",
        "breakdown_check/sweep0",
        "breakdown_check/sweep1",
    }
    recorded = [json.loads((RESULTS / n / "run.json").read_text()) for n in names]
    settings = {(len(r["config"]["seeds"]), r["jobs"], r["config"]["epochs"]) for r in recorded}
    assert settings == {(3, 2, 100)} and all(r["config"]["patience"] for r in recorded)
    assert "three seeds, two groups at once, up to 100 epochs with early stopping" in flat(
        doc("measuring.md")
    )
    costs = {n: by_activation(n)[~by_activation(n)["baseline"]] for n in names}
    rows, checks = rerun_check.check(itertools.combinations(costs.items(), 2))
    widths = [w for c in costs.values() for w in (c["cost_pct_high"] - c["cost_pct_low"]) / 2]
    held = (
        f"**{sum(checks)} of {len(checks)} checks hold; median half-width "
        f"{np.median(widths):.2f} points**"
    )
    readme, measuring = flat(README), flat(doc("measuring.md"))
    assert held in readme and held in measuring
    words = {4: "four", 5: "five", 6: "six"}
    assert f"Over the {words[len(names)]} committed runs of the Quick start's command" in readme
    assert f"this repository keeps {words[len(names)]} runs of it" in measuring
    failed = [row for row, ok in zip(rows, checks, strict=True) if not ok]
    assert {row[1] for row in failed} == {"elu"}
    assert all("default-repeat" in row[0].split(" vs ") for row in failed)
    assert f"The {len(failed)} that fail are elu against `default-repeat`" in readme
    gaps, allowed = [float(r[4]) for r in failed], [float(r[5]) for r in failed]
    quoted = (
        f"The {len(failed)} that fail are all elu against `default-repeat`, its costs "
        f"{min(gaps):.1f}–{max(gaps):.1f} points apart where their half-widths allow "
        f"{min(allowed):.1f}–{max(allowed):.1f}"
    )
    assert quoted in measuring
    quoted = (
        f"the {words[len(names)]} committed runs of this command agree within their intervals "
        f"in {sum(checks)} of {len(checks)} checks, the other {len(failed)} being elu"
    )
    assert quoted in measuring


def test_the_rerun_check_in_the_readme_says_its_settings():
    """The 24-of-24 check is quoted with what it was: 4 epochs, one seed group at a time."""
    config = json.loads((RESULTS / "rerun_check-cpu.json").read_text())["config"]
    jobs = config["extra"][config["extra"].index("--jobs") + 1]
    words = {4: "four"}
    quoted = (
        f"{words[config['runs']]} {config['epochs']}-epoch sweeps one seed group at a time "
        f"(`--jobs {jobs}`)"
    )
    assert jobs == "1" and quoted in flat(README)


def test_the_readmes_star_is_the_runs_best_trade_off():
    """'no other activation is both cheaper and more accurate (tanh has none: elu is both).
    `identity` has one trivially: nothing here costs less than no activation.'"""
    s = by_activation("default")
    others = s.drop(index="identity")
    assert s.loc["identity", "pareto"] and (others["cost_us"] > 0).all()
    unstarred = list(s.index[~s["pareto"].astype(bool)])
    assert unstarred == ["tanh"]
    beaters = others[
        (others["cost_us"] < s.loc["tanh", "cost_us"]) & (others["gain"] > s.loc["tanh", "gain"])
    ]
    assert "elu" in beaters.index
    text = flat(README)
    assert (
        "no other activation is both cheaper and more accurate (tanh has none: elu is both)" in text
    )
    assert "`identity` has one trivially: nothing here costs less than no activation" in text


def test_the_two_thread_prose_is_the_runs_breakdowns():
    """compare.md's figures for `threads2` against `default` (matmul faster, Adam slower,
    only tanh's kernels faster, each cost moved its own way) and the wider spread of the
    two-thread steps that measuring.md and performance.md quote."""
    one, two = by_activation("default"), by_activation("threads2")
    info = {n: json.loads((RESULTS / n / "run.json").read_text()) for n in ("default", "threads2")}
    assert [info[n]["environment"]["threads"] for n in ("default", "threads2")] == [1, 2]
    jobs = {n: info[n]["jobs"] for n in info}
    compare_md = flat(doc("compare.md"))
    assert (
        f"`threads2`'s `run.json` records {jobs['threads2']} job against `default`'s"
        in (compare_md)
        and f"against `default`'s {jobs['default']})" in compare_md
    )

    def span(values: pd.Series, spec: str = ".0f") -> str:
        return f"{values.min():{spec}}–{values.max():{spec}}"

    matmul, adam = "profile_matmul_us", "profile_optimizer_us"
    assert (two[matmul] < one[matmul]).all() and (two[adam] > one[adam]).all()
    assert f"got faster ({span(one[matmul])} → {span(two[matmul])} µs a step)" in compare_md
    assert f"Adam slower for every activation ({span(one[adam])} → {span(two[adam])} µs)" in (
        compare_md
    )
    acts = one.index.drop("identity")
    moved = two.loc[acts, "kernel_us"] - one.loc[acts, "kernel_us"]
    faster = list(moved[moved < -1].index)
    assert faster == ["tanh"] and moved.drop(index="tanh").abs().max() < 1
    quoted = (
        f"tanh's got faster ({one.loc['tanh', 'kernel_us']:.1f} → "
        f"{two.loc['tanh', 'kernel_us']:.1f} µs) while elu's, relu's and sigmoid's moved by "
        "under 1 µs"
    )
    assert quoted in compare_md
    rows = comparison.compare(RunFolder(RESULTS / "default"), RunFolder(RESULTS / "threads2"))
    rows = rows.rows.set_index("activation")

    def ratio(name: str) -> tuple[str, str]:
        r = rows.loc[name]
        return f"{r['ratio']:.3f} [{r['ratio_low']:.3f}, {r['ratio_high']:.3f}]", r["verdict"]

    (elu, elu_verdict), (tanh, tanh_verdict) = ratio("elu"), ratio("tanh")
    quoted = (
        f"elu's is {elu} times the one-thread run's (`{elu_verdict}`), "
        f"tanh's {tanh} (`{tanh_verdict}`)"
    )
    assert quoted in compare_md
    said = "the matrix multiplies got faster, Adam slower, and of the activations' kernels only"
    said += f" {faster[0]}'s faster"
    measuring, performance = flat(doc("measuring.md")), flat(doc("performance.md"))
    assert measuring.count(said) == 2 and said in performance

    def iqr(s: pd.DataFrame) -> pd.Series:
        return 100 * (s["us_per_step_p75"] - s["us_per_step_p25"]) / s["us_per_step_median"]

    for text in (measuring, performance):
        assert f"{span(iqr(two))} % of the median" in text
        assert f"against {span(iqr(one))} % in" in text


def test_the_sweeps_use_of_its_cores_is_the_scripts():
    """'of the 582–643 core-seconds (wall time × 2 cores) the rows' timed steps fill 71–74 %,
    and with the pacers' steps 0.749–0.773 of them'."""
    report = json.loads((RESULTS / "sweep_overhead-cpu.json").read_text())
    cores = report["environment"]["cpu_count"]
    held = [cores * s["wall_seconds"] for s in report["sweeps"]]
    filled = [s["timed_seconds"] / (cores * s["wall_seconds"]) for s in report["sweeps"]]
    efficiency = [s["efficiency"] for s in report["sweeps"]]
    core_seconds = seconds(held).removesuffix(" s")
    share = {f"{100 * f:.0f}" for f in filled}
    share = share.pop() if len(share) == 1 else f"{100 * min(filled):.0f}–{100 * max(filled):.0f}"
    quoted = (
        f"of the {core_seconds} core-seconds (wall time × {cores} cores) the rows' timed steps "
        f"fill {share} %, and with the pacers' steps {min(efficiency):.3f}–{max(efficiency):.3f}"
    )
    assert quoted in flat(doc("measuring.md"))


def test_the_timer_overhead_share_is_every_committed_runs():
    """'at most 0.011 % of a run's fastest median step (`threads2`; limit 1 %)'. A run's
    median step per activation is the median over seeds of its trials' medians (the
    summary's column, computed here from trials.csv without the rest of the summary)."""
    share = {}
    for folder in committed_runs():
        overhead = json.loads((folder / "run.json").read_text())["timer_overhead_us"]
        trials = RunFolder(folder).trials()
        fastest = trials.groupby("activation")["us_per_step_median"].median().min()
        share[str(folder.relative_to(RESULTS))] = 100 * overhead / fastest
    name = max(share, key=share.get)
    quoted = f"at most {share[name]:.3f} % of a run's fastest median step (`{name}`; limit 1 %)"
    assert quoted in flat(doc("performance.md"))
    assert share[name] < 1


def test_the_step_benchmarks_only_ranges_are_the_rounds_it_kept():
    """The table's ranges over rounds are the timed regions' (typical round median over this
    method's, per round), the one ratio whose rounds the file keeps; no other range is
    quoted."""
    report = json.loads((RESULTS / "bench_step-cpu.json").read_text())
    methods = report["methods"]
    typical = np.array(methods["typical DataLoader loop"]["round_medians"])
    text = doc("performance.md")
    for name, m in methods.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        ranges = re.findall(r"\(\d+\.\d+–\d+\.\d+\)", row)
        if name == "typical DataLoader loop":
            assert ranges == [] and f"| {m['step_speedup']:.2f}× |" in row
            continue
        ratios = typical / np.array(m["round_medians"])
        assert np.isclose(np.median(ratios), m["timed_region_speedup"])
        assert ranges == [f"({ratios.min():.2f}–{ratios.max():.2f})"], (name, ranges)
        assert f"{m['timed_region_speedup']:.2f}× {ranges[0]}" in row


def test_the_two_thread_benchmark_says_how_many_rounds_two_threads_won():
    report = json.loads((RESULTS / "bench_threads-cpu.json").read_text())
    one = report["methods"]["actbench eager, 1 thread(s)"]["round_medians"]
    two = report["methods"]["actbench eager, 2 thread(s)"]["round_medians"]
    won = sum(b < a for a, b in zip(one, two, strict=True))
    assert f"2 threads won {won} rounds of {len(one)}" in flat(doc("performance.md"))


def test_the_speed_example_is_a_real_rows_level():
    """compare.md's example of a `speed A` is `default`'s relu as `compare --wide` prints it."""
    a, b = (RunFolder(RESULTS / n) for n in ("default", "default-repeat"))
    result = comparison.compare(a, b)
    relu = result.rows.set_index("activation").loc["relu"]
    printed = comparison_view.render(result, "github", wide=True)
    row = next(line for line in table_rows(printed) if line.startswith("| relu "))
    assert f"| {relu['level_a']:.3f} " in row and "| × identity, same rounds |" in row
    quoted = (
        f"relu's in `default`: {relu['level_a']:.3f}, measured as `× identity, same rounds`: "
        f"its step is {100 * (relu['level_a'] - 1):.1f} % dearer than the linear model's"
    )
    assert quoted in flat(doc("compare.md"))


def test_the_gate_paragraphs_failure_is_one_the_gate_printed(capsys):
    from actbench import cli

    assert cli.main(["compare", str(RESULTS / "default"), str(RESULTS / "default-repeat"),
                     "--fail-if-slower", "5"]) == 1  # fmt: skip
    printed = capsys.readouterr().err.strip().splitlines()
    text = flat(doc("compare.md"))
    paragraph = text[text.index("The offending rows are named on stderr") :][:300]
    quoted = re.search(r"`(actbench: FAIL: [^`]+)`", paragraph).group(1)
    assert quoted in printed, quoted
