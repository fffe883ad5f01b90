"""Every table and headline figure the README and docs/ quote comes from a file in results/.

Each check recomputes what the docs show from the committed result files with the current
code (the run tables, the compare examples, the gate figures, the step benchmark, the
noisy-neighbour table) and asserts the docs say exactly that: a regenerated result, or a
change in how it is computed, fails here until the docs follow.
"""

import functools
import json
import re
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
    """'−0.75 points [−0.87, −0.64]' (sigmoid, sgd-table) and 'one layer: +0.0009
    [−0.0189, +0.0207]' (tanh, airline-lstm); both intervals as the bullets say."""

    def signed(value: float, digits: int) -> str:
        return f"{value:+.{digits}f}".replace("-", "−")

    text = flat(doc("tutorials.md"))
    for run, act, digits, words in (
        ("sgd-table", "sigmoid", 2, "its gain over `identity` is {} points [{}, {}]"),
        ("airline-lstm", "tanh", 4, "one layer: {} [{}, {}]"),
    ):
        row = by_activation(run).loc[act]
        values = (signed(row[k], digits) for k in ("gain", "gain_low", "gain_high"))
        assert words.format(*values) in text, (run, act)
    sigmoid = by_activation("sgd-table")
    assert sigmoid.loc["sigmoid", "gain_high"] < 0  # 'worse than the linear model'
    for run in ("airline-lstm", "airline-lstm-6x6"):
        tanh = by_activation(run)
        assert tanh.loc["tanh", "gain_low"] < 0 < tanh.loc["tanh", "gain_high"], run


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
    """The default sweep's wall time (two groups at once) against its timed steps."""
    default = json.loads((RESULTS / "sweep_overhead-cpu.json").read_text())
    walls = [s["wall_seconds"] for s in default["sweeps"]]
    assert f"seeds 0, 1 and 2 in {seconds(walls)} on this 2-core machine" in flat(README)
    timed = sum(s["timed_seconds"] for s in default["sweeps"]) / len(walls)
    for page in ("measuring.md", "performance.md"):
        assert f"{seconds(walls)} of wall time for {timed:.0f} s of timed steps" in flat(doc(page))


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
