import json
import re

import numpy as np
import pandas as pd
import pytest

from actbench import cli, compare
from actbench.storage import RunFolder
from tests.conftest import fake_trial

ENV = {
    "device": "cpu",
    "device_name": "AMD EPYC",
    "threads": 2,
    "torch_version": "2.15.0",
    "cpu_model": "AMD EPYC",
    "hostname": "vm",
}
CONFIG = {
    "hidden": [100, 100, 100],
    "batch_size": 100,
    "optimizer": "adam",
    "lr": 0.001,
    "epochs": 100,
    "patience": 10,
    "activations": ["relu", "tanh"],
    "seeds": [0, 1, 2],
}


def make_run(
    out,
    name,
    speed=1.0,
    accuracy=0.97,
    seeds=(0, 1, 2),
    config=None,
    env=None,
    activations=("relu", "tanh"),
    machine=1.0,
):
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
    for act in activations:
        for seed in seeds:
            trial = fake_trial(
                act,
                seed,
                n=2000,
                accuracy=accuracy + 0.0005 * r.standard_normal(),
                reference=100 * machine,
            )
            trial.step_us = (800 * speed * machine * (1 + 0.03 * r.standard_normal(2000))).astype(
                np.float32
            )
            trial.us_per_step_median = float(np.median(trial.step_us))
            folder.add_trial(trial)
    return folder


@pytest.fixture
def out(tmp_path):
    return tmp_path / "results"


def test_same_configuration_compares_as_same(out):
    a, b = make_run(out, "a"), make_run(out, "b")
    comp = compare.compare(a, b)
    assert list(comp.rows["verdict"]) == ["same", "same"]
    assert set(comp.rows["accuracy_verdict"]) == {"same"}
    assert comp.differences == [] and comp.warnings == []
    assert compare.gate(comp, slower_pct=1, less_accurate_points=0.1) == []


def test_a_slower_run_is_called_slower_and_gated(out):
    comp = compare.compare(make_run(out, "a"), make_run(out, "b", speed=1.2))
    rows = comp.rows.set_index("activation")
    assert set(rows["verdict"]) == {"slower"}
    assert rows.loc["relu", "ratio"] == pytest.approx(1.2, rel=0.02)
    assert rows.loc["relu", "ratio_low"] > 1.1
    failures = compare.gate(comp, slower_pct=10, less_accurate_points=None)
    assert len(failures) == 2 and re.match(
        r"relu: (19|20)\.\d% slower in b \(limit 10%\)", failures[0]
    )
    assert compare.gate(comp, slower_pct=30, less_accurate_points=None) == []


def test_a_slower_machine_is_divided_out_but_reported(out):
    comp = compare.compare(make_run(out, "a"), make_run(out, "b", machine=1.4))
    rows = comp.rows.set_index("activation")
    assert set(rows["verdict"]) == {"same"} and rows["controlled"].all()
    assert rows.loc["relu", "raw_ratio"] == pytest.approx(1.4, rel=0.02)
    assert rows.loc["relu", "machine_ratio"] == pytest.approx(1.4, rel=1e-6)
    assert rows.loc["relu", "ratio"] == pytest.approx(1.0, abs=0.02)
    text = compare.render(comp, "github")
    assert "1.400" in text and "B/A = raw / machine" in text


def test_a_real_slowdown_survives_the_machine_correction(out):
    comp = compare.compare(make_run(out, "a"), make_run(out, "b", speed=1.25, machine=0.9))
    rows = comp.rows.set_index("activation")
    assert set(rows["verdict"]) == {"slower"}
    assert rows.loc["tanh", "ratio"] == pytest.approx(1.25, rel=0.03)


def test_no_machine_correction_across_thread_counts(out):
    comp = compare.compare(
        make_run(out, "a"), make_run(out, "b", env={"threads": 1}, speed=1.3, machine=1.3)
    )
    rows = comp.rows.set_index("activation")
    assert not rows["controlled"].any() and set(rows["verdict"]) == {"slower"}
    assert "(n/a)" in compare.render(comp, "github")


def test_less_accurate_is_tested_and_gated(out):
    comp = compare.compare(make_run(out, "a"), make_run(out, "b", accuracy=0.96))
    rows = comp.rows.set_index("activation")
    assert set(rows["accuracy_verdict"]) == {"worse"}
    assert rows.loc["relu", "delta_points"] == pytest.approx(-1.0, abs=0.2)
    assert len(compare.gate(comp, None, less_accurate_points=0.5)) == 2
    assert compare.gate(comp, None, less_accurate_points=2) == []


def test_one_seed_accuracy_is_not_testable(out):
    comp = compare.compare(make_run(out, "a", seeds=(0,)), make_run(out, "b", seeds=(0,)))
    assert set(comp.rows["accuracy_verdict"]) == {"not testable"}


def test_header_names_what_differs_and_warns_on_model_changes(out):
    a = make_run(out, "a")
    b = make_run(
        out, "b", env={"device": "cuda:0", "device_name": "NVIDIA H100"}, config={"batch_size": 256}
    )
    comp = compare.compare(a, b)
    assert "device: cpu -> cuda:0" in comp.differences
    assert comp.warnings == ["batch_size: 100 -> 256"]
    text = compare.render(comp, "github")
    assert "WARNING: the runs trained different things" in text and "batch_size" in text


def test_activation_only_in_one_run(out):
    comp = compare.compare(make_run(out, "a"), make_run(out, "b", activations=("relu",)))
    assert comp.rows.set_index("activation").loc["tanh", "verdict"] == "only in A"
    assert "only in A" in compare.render(comp, "github")


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
    assert [d["b"] for d in doc] == ["b", "c"] and doc[0]["rows"][0]["verdict"] == "slower"


@pytest.mark.parametrize("what", ["missing", "steps"])
def test_cli_refuses_missing_or_malformed_runs(what, out, capsys):
    make_run(out, "a")
    if what == "steps":
        make_run(out, "b")
        (out / "b" / "steps.npz").write_bytes(b"not a zip")
    code, _, err = run_cli(["compare", "a", "b", "--out", str(out)], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert ("no actbench run at b" if what == "missing" else "cannot read") in err


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
    assert "relu,tanh" in lines[2] and lines[2].rstrip(" |").endswith("| 6")


def test_show_of_a_missing_run(tmp_path, capsys):
    code, _, err = run_cli(["show", str(tmp_path / "none")], capsys)
    assert code == 2 and "no actbench run" in err and "Traceback" not in err


def test_env_prints_what_a_run_would_record(capsys):
    code, stdout, _ = run_cli(
        ["env", "--device", "cpu", "--threads", "1", "--cpu-affinity", "0", "--format", "plain"],
        capsys,
    )
    fields = dict(line.split(None, 1) for line in stdout.strip().splitlines()[1:])
    assert code == 0 and fields["threads"].strip() == "1" and fields["cpu_affinity"] == "0"
    assert fields["device"] == "cpu" and "torch_version" in fields


def test_schedule_is_a_configuration_difference(out):
    old = make_run(out, "a")  # saved before schedules existed: it ran sequentially
    new = make_run(
        out, "b", config={"schedule": "interleaved", "round_steps": 10, "baseline": "identity"}
    )
    comp = compare.compare(old, new)
    assert "schedule: sequential -> interleaved" in comp.differences
    assert "baseline: None -> identity" in comp.differences and comp.warnings == []


def test_a_verdict_on_disturbed_timings_says_so(out):
    a, b = make_run(out, "a"), make_run(out, "b", speed=1.2)
    trials = pd.read_csv(b.path / "trials.csv")
    relu = trials["activation"] == "relu"
    trials.loc[relu, "us_per_step_mean"] = 3 * trials.loc[relu, "us_per_step_median"]
    trials.loc[relu, "slow_steps"] = 150
    trials.to_csv(b.path / "trials.csv", index=False)
    comp = compare.compare(a, b)
    rows = comp.rows.set_index("activation")
    assert rows.loc["relu", "verdict"] == "slower (disturbed)"
    assert rows.loc["tanh", "verdict"] == "slower" and rows.loc["tanh", "timing"] == ""
    assert rows.loc["relu", "timing"].startswith("B: 3 of 3 trials")
    assert "mean up to 3.00× median" in rows.loc["relu", "timing"]
    failures = compare.gate(comp, slower_pct=10, less_accurate_points=None)
    assert len(failures) == 2 and "timing disturbed" in failures[0]
    assert "slower (disturbed)" in compare.render(comp, "github")


def test_disturbed_trials_are_summed_up_per_side(out):
    a, b = make_run(out, "a"), make_run(out, "b")
    trials = pd.read_csv(b.path / "trials.csv")
    trials.loc[trials["seed"] > 0, "us_per_step_p75"] = 1.3 * trials["us_per_step_median"]
    trials.to_csv(b.path / "trials.csv", index=False)
    rows = compare.compare(a, b).rows.set_index("activation")
    assert rows.loc["relu", "timing"].startswith("B: 2 of 3 trials (IQR up to 3")
