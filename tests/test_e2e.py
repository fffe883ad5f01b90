"""End to end on the real MNIST: what a user runs, checked from the outside.

The data is found where actbench looks for it: $ACTBENCH_DATA, else the default data folder
(~/.cache/actbench). CI sets ACTBENCH_DATA (../shared/data); without the data these tests
skip locally, saying how to get it, but fail under CI=true, so a CI that cannot see the data
never passes silently.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from actbench.data import default_data_dir

DATA = str(default_data_dir())
RAW = Path(DATA) / "MNIST" / "raw" / "train-images-idx3-ubyte"

if not RAW.is_file():
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(f"CI=true but real MNIST is missing from {DATA} (ACTBENCH_DATA)")
    pytest.skip(
        f"real MNIST not in {DATA}: run `python -m actbench sweep` once to download it, or "
        "set ACTBENCH_DATA to the folder that holds MNIST/raw/",
        allow_module_level=True,
    )


@pytest.mark.slow
@pytest.mark.e2e
def test_sweep_on_real_mnist(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "actbench",
            "sweep",
            "--device",
            "cpu",
            "--train-limit",
            "6000",
            "--epochs",
            "3",
            "--patience",
            "2",
            "--seeds",
            "0",
            "--out",
            str(tmp_path),
            "--name",
            "e2e",
            "--no-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("| activation") and "| cost % [95% CI]" in lines[0]
    rows = lines[2:7]
    assert sorted(r.split("|")[1].strip().rstrip(" *") for r in rows) == [
        "elu",
        "identity",
        "relu",
        "sigmoid",
        "tanh",
    ]
    assert "Where an eager step's time goes" in proc.stdout
    assert lines[-1].startswith("timer overhead: ")
    run_dir = tmp_path / "e2e"
    trials = pd.read_csv(run_dir / "trials.csv")
    assert sorted(trials["activation"]) == ["elu", "identity", "relu", "sigmoid", "tanh"]
    accuracy = trials.set_index("activation")["test_accuracy"]
    assert (accuracy > 0.5).all() and accuracy["relu"] > 0.85  # chance is 0.1; sigmoid is slow
    assert not trials["diverged"].any()
    assert (trials["us_per_step_median"] > 0).all()
    assert trials["us_per_step_median"].nunique() == 5  # measured, not a constant
    assert (trials["steps"] == trials["epochs"] * 48).all()  # 4800 train images / 100
    history = pd.read_csv(run_dir / "history.csv")
    assert len(history) == trials["epochs"].sum()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["data"]["train"] == 4800 and run["data"]["test"] == 10_000
    assert run["environment"]["device"] == "cpu" and run["status"] == "complete"
    summary = (run_dir / "summary.md").read_text()
    assert all(f"| {a}" in summary for a in ("relu", "tanh", "sigmoid", "elu"))
    costs = pd.read_csv(run_dir / "summary.csv").set_index("activation")
    for name in ("relu", "tanh", "sigmoid", "elu"):  # every round paired with the baseline's
        assert (
            0
            < costs.loc[name, "cost_rounds"]
            <= len(pd.read_csv(run_dir / "rounds.csv").query("activation == @name"))
        )
        assert costs.loc[name, "cost_us_low"] <= costs.loc[name, "cost_us_high"]
        assert costs.loc[name, "profile_activation_us"] > 0


@pytest.mark.e2e
def test_idx_reader_agrees_with_torchvision_on_real_mnist():
    """actbench's IDX reader reads the real files exactly as torchvision does."""
    from actbench import data

    via_idx = data.load(Path(DATA), download=False)
    assert via_idx.reader == "idx"
    assert via_idx.train_images.shape == (60_000, 28, 28)
    assert via_idx.test_images.shape == (10_000, 28, 28)
    for train, images, labels in (
        (True, via_idx.train_images, via_idx.train_labels),
        (False, via_idx.test_images, via_idx.test_labels),
    ):
        via_torchvision = data._torchvision_split(Path(DATA), train, download=False)
        assert torch.equal(via_torchvision[0], images)
        assert torch.equal(via_torchvision[1], labels)
    assert hashlib.md5(RAW.read_bytes()).hexdigest() == "6bbc9ace898e44ae57da46a324031adb"


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(900)  # a whole benchmark script: 109 s here
def test_bench_step_script_runs_and_reports_ratios(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "scripts/bench_step.py",
            "--modes",
            "eager",
            "--rounds",
            "1",
            "--steps",
            "10",
            "--warmup",
            "2",
            "--sweep-epochs",
            "1",
            "--sweeps",
            "2",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    methods = report["methods"]
    assert set(methods) == {"typical DataLoader loop", "actbench eager"}
    assert report["floor_us"] > 0 and report["step_mflop"] == pytest.approx(43.96, abs=0.01)
    assert "compute floor" in proc.stdout
    runs = report["sweep"]["runs"]  # each sweep's overhead, part by part, from its records
    assert len(runs) == 2
    for sweep in runs:
        assert 0 < sweep["overhead"] < 1 and sweep["timed_seconds"] < sweep["wall_seconds"]
        untimed = sweep["wall_seconds"] - sweep["timed_seconds"]
        assert sweep["overhead"] == pytest.approx(untimed / sweep["wall_seconds"], rel=1e-6)
        assert all(0 < share <= sweep["overhead"] for share in sweep["share_of_wall"].values())
    low, high = report["sweep"]["overhead_range"]
    assert low <= report["sweep"]["overhead_median"] <= high
