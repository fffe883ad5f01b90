import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import t as t_distribution

from actbench import cli, comparison, comparison_view, gate
from actbench.records import RoundRecord
from actbench.storage import RunFolder
from actbench.summary import summarize_folder
from tests.conftest import fake_trial

ENV = {
    "device": "cpu",
    "device_name": "AMD EPYC",
    "threads": 2,
    "torch_version": "2.15.0",
    "cpu_model": "AMD EPYC",
    "hostname": "vm",
    "machine_key": "0123456789abcdef",
}
CONFIG = {
    "hidden": [100, 100, 100],
    "batch_size": 100,
    "optimizer": "adam",
    "lr": 0.001,
    "epochs": 10,
    "patience": 10,
    "activations": ["identity", "relu", "tanh"],
    "seeds": [0, 1, 2],
    "schedule": "interleaved",
    "round_steps": 10,
    "baseline": "identity",
}
BASE_US = {"identity": 600.0, "relu": 800.0, "tanh": 900.0}
SENSITIVITY = {"identity": 1.0, "relu": 1.4, "tanh": 0.6}  # to the machine's weather
EPOCHS, ROUNDS_PER_EPOCH = 10, 20


def make_run(
    out,
    name,
    speed=1.0,
    accuracy=0.97,
    seeds=(0, 1, 2),
    config=None,
    env=None,
    activations=("identity", "relu", "tanh"),
    machine=1.0,
    base_speed=1.0,
    reference_hit=1.0,
    subnormal=None,
):
    """A run whose trials move through one drifting machine together, round by round.

    `speed` slows every activation's own code but the baseline's, `base_speed` the whole step
    (baseline included), `machine` the machine (steps and the reference step alike), and
    `reference_hit` is how much of the machine's slowdown the reference step feels (1: all
    of it). `subnormal`: % of an activation's weights and optimizer state subnormal."""
    folder = RunFolder.create(out, name)
    folder.write_run(
        {
            "name": name,
            "config": {**CONFIG, **(config or {})},
            "environment": {**ENV, **(env or {})},
            "started": "2026-11-22T20:00:00",
        }
    )
    r = np.random.default_rng(sum(map(ord, name)))
    for seed in seeds:
        n = EPOCHS * ROUNDS_PER_EPOCH
        weather = np.zeros(n)  # the machine's speed: AR(1) in log, ~3 % wide
        for i in range(1, n):
            weather[i] = 0.95 * weather[i - 1] + 0.01 * r.standard_normal()
        machine_drift = np.exp(weather) * machine / np.exp(weather).mean()
        for act in activations:
            # each activation feels the machine's weather to its own degree, as matmuls and
            # element-wise kernels do: the baseline's rounds do not cancel it exactly
            drift = np.exp(SENSITIVITY.get(act, 1.0) * weather)
            drift *= machine / drift.mean()
            code = base_speed * (1.0 if act == "identity" else speed)
            rounds_us = BASE_US[act] * code * drift * (1 + 0.01 * r.standard_normal(n))
            trial = fake_trial(act, seed, accuracy=accuracy + 0.0005 * r.standard_normal())
            trial.subnormal_pct = (subnormal or {}).get(act, 0.0)
            trial.step_us = np.repeat(rounds_us, 10).astype(np.float32)
            trial.us_per_step_median = float(np.median(trial.step_us))
            trial.us_per_step_p25, trial.us_per_step_p75 = np.percentile(trial.step_us, [25, 75])
            trial.us_per_step_mean = float(trial.step_us.mean())
            trial.rounds = [
                RoundRecord(act, seed, 0, i, 1 + i // ROUNDS_PER_EPOCH, float(i), 10, float(us))
                for i, us in enumerate(rounds_us)
            ]
            for record in trial.history:
                first = (record.epoch - 1) * ROUNDS_PER_EPOCH
                block = rounds_us[first : first + ROUNDS_PER_EPOCH]
                record.us_per_step_median = float(np.median(block))
                record.reference_us = 100 * machine_drift[first] ** reference_hit
            folder.add_trial(trial)
    return folder


@pytest.fixture
def out(tmp_path):
    return tmp_path / "results"


def test_same_code_compares_as_same(out):
    a, b = make_run(out, "a"), make_run(out, "b")
    comp = comparison.compare(a, b)
    rows = comp.rows.set_index("activation")
    assert list(rows["basis"]) == ["reference", "baseline", "baseline"]
    assert set(rows.loc[["relu", "tanh"], "verdict"]) == {"same"}  # inside 1 ± 3 %
    # the reference step, timed once per epoch, corrects less precisely
    assert rows.loc["identity", "ratio_low"] < 1 < rows.loc["identity", "ratio_high"]
    assert set(rows["score_verdict"]) == {"n.s."}
    assert comp.differences == [] and comp.warnings == []
    assert gate.gate(comp, slower_pct=1, less_accurate_points=0.1).failures == []


def test_row_numbers_are_what_the_ratio_is_made_of(out):
    comp = comparison.compare(make_run(out, "a"), make_run(out, "b", speed=1.2))
    for _, row in comp.rows.iterrows():
        assert row["ratio"] == pytest.approx(row["level_b"] / row["level_a"], rel=1e-12)
        assert row["ratio_low"] <= row["ratio"] <= row["ratio_high"]
    relu = comp.rows.set_index("activation").loc["relu"]
    assert relu["level_a"] == pytest.approx(800 / 600, rel=0.02)  # relu over identity
    text = comparison_view.render(comp, "github")
    assert "× identity, same rounds" in text and "× reference step" in text


def test_a_slower_activation_is_called_slower_and_gated(out):
    comp = comparison.compare(make_run(out, "a"), make_run(out, "b", speed=1.2))
    rows = comp.rows.set_index("activation")
    assert rows.loc["relu", "verdict"] == rows.loc["tanh", "verdict"] == "slower"
    assert rows.loc["identity", "verdict"] in ("same", "undecided")
    assert rows.loc["relu", "ratio"] == pytest.approx(1.2, rel=0.02)
    assert rows.loc["relu", "ratio_low"] > 1.1
    failures = gate.gate(comp, slower_pct=10, less_accurate_points=None).failures
    assert len(failures) == 2 and re.match(
        r"relu: (19|20)\.\d% slower in b than a \[1\d\.\d, 2\d\.\d\] \(limit 10%, Holm", failures[0]
    )
    assert gate.gate(comp, slower_pct=30, less_accurate_points=None).failures == []


def test_a_slower_machine_cancels_in_every_basis(out):
    comp = comparison.compare(make_run(out, "a"), make_run(out, "b", machine=1.4))
    rows = comp.rows.set_index("activation")
    assert set(rows["verdict"]) <= {"same", "undecided"}
    assert rows.loc["identity", "basis"] == "reference"
    assert rows.loc["identity", "ratio_low"] < 1 < rows.loc["identity", "ratio_high"]
    assert rows.loc["identity", "us_per_step_b"] / rows.loc["identity", "us_per_step_a"] == (
        pytest.approx(1.4, rel=0.05)
    )
    assert gate.gate(comp, slower_pct=5, less_accurate_points=None).failures == []


def test_a_whole_step_slowdown_shows_on_the_baseline_row(out):
    comp = comparison.compare(make_run(out, "a"), make_run(out, "b", base_speed=1.25, machine=0.9))
    rows = comp.rows.set_index("activation")
    assert rows.loc["identity", "verdict"] == "slower"
    assert rows.loc["identity", "ratio"] == pytest.approx(1.25, rel=0.03)
    assert set(rows.loc[["relu", "tanh"], "verdict"]) == {"same"}  # relative costs unchanged


def test_a_slowdown_the_reference_misses_is_not_a_false_alarm_for_costs(out):
    """The machine slows the steps by 40 % but the reference step by only 20 %: the
    reference correction leaves 1.17 (a false 'slower' for the baseline row, said as
    such), while costs over the baseline, measured in the same rounds, stay 'same'."""
    comp = comparison.compare(
        make_run(out, "a"), make_run(out, "b", machine=1.4, reference_hit=0.54)
    )
    rows = comp.rows.set_index("activation")
    assert set(rows.loc[["relu", "tanh"], "verdict"]) == {"same"}
    assert rows.loc["identity", "ratio"] == pytest.approx(1.4 / 1.4**0.54, rel=0.03)


def test_other_machines_get_no_reference_correction_and_no_gate(out):
    comp = comparison.compare(
        make_run(out, "a"),
        make_run(out, "b", env={"machine_key": "fedcba9876543210"}, machine=1.3),
    )
    rows = comp.rows.set_index("activation")
    assert rows.loc["identity", "basis"] == "µs"
    assert rows.loc["identity", "verdict"] == "slower (raw)"
    assert not rows.loc["identity", "gated"] and rows.loc["relu", "gated"]
    assert set(rows.loc[["relu", "tanh"], "verdict"]) == {"same"}
    verdict = gate.gate(comp, slower_pct=5, less_accurate_points=None)
    assert verdict.failures == [] and verdict.checked == 2  # relu and tanh: over the baseline
    assert verdict.unchecked == ["identity (a -> b, speed): raw µs across machines"]


def test_runs_without_a_shared_baseline_use_the_reference(out):
    comp = comparison.compare(
        make_run(out, "a"), make_run(out, "b", config={"baseline": None}, speed=1.2)
    )
    rows = comp.rows.set_index("activation")
    assert set(rows["basis"]) == {"reference"}
    assert rows.loc["relu", "verdict"] == "slower"
    assert rows.loc["identity", "verdict"] in ("same", "undecided")


def test_less_accurate_is_tested_paired_and_gated(out):
    comp = comparison.compare(make_run(out, "a"), make_run(out, "b", accuracy=0.96))
    rows = comp.rows.set_index("activation")
    assert set(rows["score_verdict"]) == {"worse"}
    assert rows.loc["relu", "delta"] == pytest.approx(-1.0, abs=0.2)
    assert rows.loc["relu", "delta_low"] < -1.0 < rows.loc["relu", "delta_high"] < 0
    assert len(gate.gate(comp, None, less_accurate_points=0.5).failures) == 3
    assert gate.gate(comp, None, less_accurate_points=2).failures == []


def test_accuracy_pairs_seeds_and_never_invents_a_p_value(out):
    comp = comparison.compare(make_run(out, "a", seeds=(0,)), make_run(out, "b", seeds=(0,)))
    assert set(comp.rows["score_verdict"]) == {"1 seed: not testable"}
    assert comp.rows["score_p_value"].isna().all()
    comp = comparison.compare(make_run(out, "c", seeds=(0, 1)), make_run(out, "d", seeds=(1, 2)))
    assert set(comp.rows["score_seeds"]) == {1}  # only seed 1 is on both sides


def test_header_names_what_differs_and_warns_on_model_changes(out):
    a = make_run(out, "a")
    b = make_run(
        out, "b", env={"device": "cuda:0", "device_name": "NVIDIA H100"}, config={"batch_size": 256}
    )
    comp = comparison.compare(a, b)
    assert "device: cpu -> cuda:0" in comp.differences
    assert comp.warnings == ["batch_size: 100 -> 256"]
    text = comparison_view.render(comp, "github")
    assert "WARNING: the runs trained different things" in text and "batch_size" in text
    assert "same configuration" not in text


def test_a_model_change_alone_never_reads_as_same_configuration(out):
    comp = comparison.compare(make_run(out, "a"), make_run(out, "b", config={"epochs": 20}))
    text = comparison_view.render(comp, "github")
    assert "epochs: 10 -> 20" in text and "same configuration" not in text


def test_activation_only_in_one_run(out):
    comp = comparison.compare(make_run(out, "a"), make_run(out, "b", activations=("relu",)))
    assert comp.rows.set_index("activation").loc["tanh", "verdict"] == "only in A"
    assert "only in A" in comparison_view.render(comp, "github")


def run_cli(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_exit_status_gates_and_writes_files(out, tmp_path, capsys):
    make_run(out, "a"), make_run(out, "b", speed=1.2), make_run(out, "c")
    base = ["compare", "a", "b", "--out", str(out), "--format", "github"]
    code, stdout, err = run_cli([*base, "--fail-if-slower", "10"], capsys)
    assert code == 1 and re.search(r"actbench: FAIL: relu: (19|20)\.\d% slower", err)
    assert "| relu" in stdout
    code, _, _ = run_cli([*base, "--fail-if-slower", "50", "--fail-if-less-accurate", "1"], capsys)
    assert code == 0
    csv, js = tmp_path / "cmp.csv", tmp_path / "cmp.json"
    code, stdout, _ = run_cli(
        ["compare", "a", "b", "c", "--out", str(out), "--csv", str(csv), "--json", str(js)], capsys
    )
    assert code == 0 and stdout.count("A = a") == 2 and "B = c" in stdout
    rows = pd.read_csv(csv)
    assert set(rows["run_b"]) == {"b", "c"} and "ratio_low" in rows
    doc = json.loads(js.read_text())
    assert [d["b"] for d in doc] == ["b", "c"] and doc[0]["rows"][1]["verdict"] == "slower"


def test_one_gate_over_every_run_and_limit_says_what_it_tested(out, capsys):
    """compare A B C with both limits: 3 activations x 2 runs x 2 limits = 12 rows in one
    Holm family, and a line that says so whether the gate passes or not."""
    make_run(out, "a"), make_run(out, "b"), make_run(out, "c")
    argv = ["compare", "a", "b", "c", "--out", str(out), "--format", "github"]
    code, _, err = run_cli(
        [*argv, "--fail-if-slower", "50", "--fail-if-less-accurate", "5"], capsys
    )
    assert code == 0
    assert "actbench: gate: pass; 12 row(s) tested as one Holm family at 2.5% (one-sided)" in err


def test_a_gate_that_cannot_test_a_row_says_so_and_exits_3(out, capsys):
    """One seed a side: the speed intervals are within each run, which a rerun ignores, so
    the gate tests nothing and must not pass in silence."""
    make_run(out, "a", seeds=(0,)), make_run(out, "b", seeds=(0,))
    argv = ["compare", "a", "b", "--out", str(out), "--fail-if-slower", "5"]
    code, _, err = run_cli(argv, capsys)
    assert code == cli.EXIT_UNCHECKED == 3
    assert "gate: untested; 0 row(s) tested" in err and "3 row(s) could not be tested" in err
    assert "pass" not in err
    assert "relu (a -> b, speed): fewer than 2 seeds a side" in err


def test_cli_refuses_a_missing_run(out, capsys):
    make_run(out, "a")
    code, _, err = run_cli(["compare", "a", "b", "--out", str(out)], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "no actbench run at b" in err


def test_a_damaged_steps_file_is_named_only_when_compare_needs_it(out, capsys):
    make_run(out, "a"), make_run(out, "b", env={"machine_key": "another machine"})
    (out / "b" / "steps.npz").write_bytes(b"not a zip")
    code, stdout, _ = run_cli(["compare", "a", "b", "--out", str(out)], capsys)
    assert code == 0 and "relu" in stdout  # the rounds carry the timings
    for run in ("a", "b"):  # saved before rounds.csv, on two machines: steps are needed
        (out / run / "rounds.csv").unlink()
    code, _, err = run_cli(["compare", "a", "b", "--out", str(out)], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "steps.npz" in err and "run the sweep again to re-create it" in err


def test_a_garbage_row_is_refused_not_compared(out, capsys):
    make_run(out, "a"), make_run(out, "b")
    with open(out / "b" / "trials.csv", "a") as f:
        f.write("garbage,row\n")
    code, _, err = run_cli(["compare", "a", "b", "--out", str(out)], capsys)
    assert code == 2 and "trials.csv is damaged" in err and "only in" not in err


def test_unknown_format_is_refused(capsys):
    code, _, err = run_cli(["compare", "a", "b", "--format", "nope"], capsys)
    assert code == 2 and "unknown table format 'nope'" in err


def test_show_and_list(out, capsys):
    make_run(out, "a"), make_run(out, "b", seeds=(0,))
    code, stdout, _ = run_cli(["show", "a", "--out", str(out), "--format", "github"], capsys)
    assert code == 0 and stdout.startswith("a: cpu (AMD EPYC), 2 threads") and "| relu" in stdout
    code, stdout, _ = run_cli(["list", "--out", str(out), "--format", "github"], capsys)
    lines = stdout.strip().splitlines()
    assert code == 0 and lines[2].startswith("| a ") and lines[3].startswith("| b ")
    assert "mnist mlp eager" in lines[2] and lines[2].rstrip(" |").endswith("| 9")
    wide = ["list", "--out", str(out), "--format", "github", "--wide"]
    code, stdout, _ = run_cli(wide, capsys)
    assert "identity,relu,tanh" in stdout.strip().splitlines()[2]


def test_show_of_a_missing_run(tmp_path, capsys):
    code, _, err = run_cli(["show", str(tmp_path / "none")], capsys)
    assert code == 2 and "no actbench run" in err and "Traceback" not in err


def test_env_prints_what_a_run_would_record(capsys):
    code, stdout, _ = run_cli(
        ["env", "--device", "cpu", "--threads", "1", "--cpu-affinity", "0", "--format", "plain"],
        capsys,
    )
    fields = dict([*line.split(None, 1), ""][:2] for line in stdout.strip().splitlines()[1:])
    assert code == 0 and fields["threads"].strip() == "1" and fields["cpu_affinity"] == "0"
    assert fields["device"] == "cpu" and "torch_version" in fields
    # the fingerprint: what torch dispatches here, and the libraries it was built with
    assert fields["parent_cpu_capability"].strip() == torch.backends.cpu.get_cpu_capability()
    assert "blas" in fields["math_libraries"] and "kernel_release" in fields


def test_schedule_is_a_configuration_difference(out):
    old = make_run(out, "a")  # saved before schedules existed: it ran sequentially
    info = old.run_info()
    for key in ("schedule", "round_steps", "baseline"):
        del info["config"][key]
    old.write_run(info)
    new = make_run(out, "b")
    comp = comparison.compare(old, new)
    assert "schedule: sequential -> interleaved" in comp.differences
    assert "baseline: None -> identity" in comp.differences and comp.warnings == []


def test_a_verdict_on_disturbed_timings_says_so(out):
    a, b = make_run(out, "a"), make_run(out, "b", speed=1.2)
    trials = pd.read_csv(b.path / "trials.csv")
    relu = trials["activation"] == "relu"
    trials.loc[relu, "us_per_step_mean"] = 3 * trials.loc[relu, "us_per_step_median"]
    timed = trials["steps"] - trials["warmup_steps"]
    trials.loc[relu, "slow_steps"] = (0.2 * timed[relu]).round()
    trials.to_csv(b.path / "trials.csv", index=False)
    comp = comparison.compare(a, b)
    rows = comp.rows.set_index("activation")
    assert rows.loc["relu", "verdict"] == "slower (disturbed)"
    assert rows.loc["tanh", "verdict"] == "slower" and rows.loc["tanh", "timing"] == ""
    assert rows.loc["relu", "timing"].startswith("B: 3 of 3 trials (20.0% of steps > 5× median")
    assert "mean 3.00× median" in rows.loc["relu", "timing"]
    failures = gate.gate(comp, slower_pct=10, less_accurate_points=None).failures
    assert len(failures) == 2 and "timing disturbed" in failures[0]
    assert "slower (disturbed)" in comparison_view.render(comp, "github")


def test_disturbed_trials_are_summed_up_per_side(out):
    a, b = make_run(out, "a"), make_run(out, "b")
    trials = pd.read_csv(b.path / "trials.csv")
    preempted = trials["seed"] > 0  # a neighbour took the core from two seeds' steps
    trials.loc[preempted, "slow_steps"] = 1  # of 5 timed steps
    trials.loc[trials["seed"] > 0, "us_per_step_p75"] = 1.3 * trials["us_per_step_median"]
    trials.to_csv(b.path / "trials.csv", index=False)
    rows = comparison.compare(a, b).rows.set_index("activation")
    assert rows.loc["relu", "timing"].startswith("B: 2 of 3 trials (20.0% of steps > 5× median")


T_975_1DF = 12.7062047  # Student's t, 97.5th percentile, one degree of freedom (a t table)


def test_two_seeds_get_the_same_interval_rule_in_show_compare_and_the_report(out, capsys):
    """Two seeds: a t interval with one degree of freedom, for a run's gain over its
    baseline (show, the report) and for B - A (compare) alike, checked against the formula
    mean ± t(0.975, 1) · |d1 - d2| / 2 on the saved accuracies."""
    a = make_run(out, "two-a", seeds=(0, 1))
    b = make_run(out, "two-b", seeds=(0, 1), accuracy=0.96)

    def by_hand(diffs):
        mean, half = sum(diffs) / 2, T_975_1DF * abs(diffs[0] - diffs[1]) / 2
        return pytest.approx((mean, mean - half, mean + half), rel=1e-6)

    acc_a = a.trials().set_index(["activation", "seed"])["test_accuracy"]
    acc_b = b.trials().set_index(["activation", "seed"])["test_accuracy"]
    summary = summarize_folder(a).set_index("activation")
    gain = [100 * (acc_a["relu", s] - acc_a["identity", s]) for s in (0, 1)]
    shown = summary.loc["relu", ["gain", "gain_low", "gain_high"]]
    assert tuple(shown) == by_hand(gain)

    rows = comparison.compare(a, b).rows.set_index("activation")
    delta = [100 * (acc_b["relu", s] - acc_a["relu", s]) for s in (0, 1)]
    assert tuple(rows.loc["relu", ["delta", "delta_low", "delta_high"]]) == by_hand(delta)
    assert rows.loc["relu", "score_p_value"] == pytest.approx(
        2 * (1 - t_distribution(1).cdf(abs(sum(delta) / 2) / (abs(delta[0] - delta[1]) / 2)))
    )

    assert cli.main(["report", "--out", str(out), "-o", str(out / "site")]) == 0
    site = out / "site"
    low, high = by_hand(gain).expected[1:]
    assert f"[{low:+.2f}, {high:+.2f}]" in (site / "runs" / "two-a.html").read_text()
    low, high = by_hand(delta).expected[1:]
    assert f"[{low:+.2f}, {high:+.2f}]" in (site / "compare" / "two-a--two-b.html").read_text()


def test_a_capability_difference_is_named_beside_the_rows_it_could_explain(out):
    a = make_run(out, "a", env={"cpu_capability": "AVX512", "cpu_microcode": "0x1"})
    b = make_run(out, "b", env={"cpu_capability": "AVX2", "cpu_microcode": "0x1"})
    comp = comparison.compare(a, b)
    text = comparison_view.render(comp, "github")
    # ATen's element-wise kernels run in every step: the activations', and the loss's and
    # Adam's in identity's too
    assert "CPU capability AVX512 -> AVX2 could explain identity, relu, tanh" in text
    assert [s.field for s in comp.machine] == ["cpu_capability"]  # microcode is the same
    shown = comparison_view.display(comp).set_index("activation")["machine differs"]
    assert set(shown) == {"CPU capability"}
    # a 100-column table gives the difference's number in the notes' line: (1) CPU capability
    numbered = comparison_view.compact(comp).set_index("activation")["machine differs"]
    assert set(numbered) == {"1"}
    assert "same configuration" not in text


def test_a_flush_difference_could_explain_only_the_rows_that_had_subnormal_numbers(out):
    # relu's dead units leave 1.5 % of its Adam state subnormal (as in the committed runs)
    a = make_run(out, "a", env={"flush_denormal": False}, subnormal={"relu": 1.5})
    b = make_run(out, "b", env={"flush_denormal": True}, subnormal={"relu": 0.0})
    comp = comparison.compare(a, b)
    assert [(s.field, s.rows) for s in comp.machine] == [("flush_denormal", ("relu",))]
    shown = comparison_view.display(comp).set_index("activation")["machine differs"]
    assert shown.to_dict() == {"identity": "—", "relu": "flush-denormal", "tanh": "—"}


def test_a_fingerprint_one_run_lacks_is_no_difference(out):
    # a run saved before fingerprints: nothing is known of its microcode, so nothing named
    comp = comparison.compare(make_run(out, "a"), make_run(out, "b", env={"cpu_microcode": "0x2"}))
    assert comp.machine == [] and "machine differs" not in comparison_view.display(comp)


def test_a_microcode_or_library_difference_could_explain_every_row(out):
    libraries = {"blas": "mkl", "onednn": "v3.12.0"}
    a = make_run(out, "a", env={"cpu_microcode": "0x1", "math_libraries": libraries})
    b = make_run(
        out, "b", env={"cpu_microcode": "0x2", "math_libraries": {**libraries, "blas": "open"}}
    )
    notes = " ".join(comparison_view.notes(comparison.compare(a, b)))
    assert "microcode 0x1 -> 0x2 could explain identity, relu, tanh" in notes
    assert "math libraries blas mkl -> blas open could explain identity, relu, tanh" in notes


def test_runs_with_other_pins_are_not_the_same_setup(out):
    a, b = make_run(out, "a"), make_run(out, "b", config={"flush_denormal": True})
    comp = comparison.compare(a, b)
    assert "flush_denormal: False -> True" in comp.differences
    # the reference step corrects one machine's speed, not another pin's kernels
    assert comp.rows.set_index("activation").loc["identity", "basis"] == "µs"
