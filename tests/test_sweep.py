import gc
import json
import os
import warnings
from dataclasses import replace

import pandas as pd
import pytest
import torch

from actbench import device, executor, plan, printout, runner, worker
from actbench.errors import ActbenchError
from actbench.groups import Group
from actbench.storage import RunFolder
from tests.conftest import first_result_then_interrupt


@pytest.mark.pictures
def test_sweep_writes_a_complete_run_folder(tiny_config):
    tiny_config = replace(tiny_config, seeds=[0, 1])
    # 3 rounds an epoch: enough for an interval within each seed
    tiny_config = replace(tiny_config, round_steps=3)
    outcome = runner.run(tiny_config, quiet=True)
    folder = outcome.folder.path
    assert {p.name for p in folder.iterdir()} == {
        "run.json",
        "trials.csv",
        "history.csv",
        "steps",
        "rounds.csv",
        "memory.csv",
        "summary.md",
        "summary.csv",
        "accuracy_vs_us_per_step.png",
        "learning_curves.png",
        "timeline.png",
        "step_breakdown.png",
        "health.png",
    }
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "complete" and run["finished"] and run["config"]["seeds"] == [0, 1]
    env = run["environment"]
    for key in (
        "actbench_version",
        "torch_version",
        "cuda_version",
        "device_name",
        "cpu_model",
        "threads",
        "hostname",
        "platform",
        "git_commit",
        "git_dirty",
        "machine_key",
    ):
        assert key in env
    assert env["threads"] == 1 and run["data"] == {
        "dir": str(tiny_config.data_dir),
        "reader": "idx",
        "train": 480,
        "val": 120,
        "test": 200,
    }
    trials = outcome.folder.trials()
    assert len(trials) == 6 and set(trials["threads"]) == {1} and set(trials["device"]) == {"cpu"}
    assert list(outcome.summary["seeds"]) == [2, 2, 2]
    assert run["config"]["activations"] == ["identity", "relu", "tanh"]  # the baseline joined
    assert run["config"]["schedule"] == "interleaved" and run["config"]["baseline"] == "identity"
    summary = outcome.summary.set_index("activation")
    for name in ("relu", "tanh"):  # two seeds, every round paired: intervals on both axes
        row = summary.loc[name]
        assert (
            row["cost_rounds"] > 0 and row["cost_us_low"] <= row["cost_us"] <= row["cost_us_high"]
        )
        assert row["gain_seeds"] == 2  # an interval unless both seeds gained exactly the same
        assert pd.isna(row["gain_low"]) or row["gain_low"] <= row["gain"] <= row["gain_high"]
        assert row["profile_activation_us"] > 0 and row["profile_matmul_us"] > 0
    # identity runs no kernel: its part is its hooks' own calls, less than any activation's
    assert summary.loc["identity", "profile_activation_us"] < min(
        summary.loc[name, "profile_activation_us"] for name in ("relu", "tanh")
    )
    # 480 training rows / batch 50 = 9 steps an epoch: read every ceil(400 / 9) = 45
    # epochs, so the first epoch only; memory and health recorded for every trial
    history = outcome.folder.history()
    first = history["epoch"] == 1
    assert history.loc[first, "profile_matmul_us"].notna().all()
    assert history.loc[~first, "profile_matmul_us"].isna().all() and (~first).any()
    assert history.loc[first, "dead_1"].between(0, 1).all()
    memory = outcome.folder.memory()
    trained = set(zip(trials["activation"], trials["seed"], strict=True))
    assert set(zip(memory["activation"], memory["seed"], strict=True)) == trained
    saved = pd.read_csv(folder / "summary.csv").set_index("activation")
    assert saved.loc["relu", "cost_us"] == pytest.approx(summary.loc["relu", "cost_us"])
    rounds = outcome.folder.rounds()
    assert set(rounds["activation"]) == {"identity", "relu", "tanh"}
    assert "| relu" in (folder / "summary.md").read_text()


def test_bad_output_folder_is_refused_before_any_training(tiny_config, monkeypatch, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    tiny_config = replace(tiny_config, out=blocker)
    monkeypatch.setattr(executor, "_start", lambda *a, **k: pytest.fail("trained"))
    # sweeps in tests train in this process, through the worker's own `train_group`
    monkeypatch.setattr(executor.worker, "train_group", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ActbenchError, match="cannot write results"):
        runner.run(tiny_config, quiet=True)


def test_interrupt_keeps_finished_trials(tiny_config, monkeypatch):
    tiny_config = replace(tiny_config, schedule="sequential")
    first_result_then_interrupt(monkeypatch)
    with pytest.raises(runner.SweepInterrupted) as stop:
        runner.run(tiny_config, quiet=True)
    folder = stop.value.outcome.folder
    assert list(folder.trials()["activation"]) == ["identity"]  # the baseline trains first
    assert folder.run_info()["status"] == "interrupted"
    assert list(stop.value.outcome.summary["activation"]) == ["identity"]


def test_train_split_smaller_than_a_batch_is_refused(tiny_config):
    tiny_config = replace(tiny_config, batch_size=500)
    with pytest.raises(ActbenchError, match="fewer than one batch"):
        runner.run(tiny_config, quiet=True)


def test_a_diverging_trial_is_recorded_and_the_sweep_goes_on(tiny_config):
    # log of negative inputs: NaN at once
    tiny_config = replace(tiny_config, activations=["torch:log", "relu"])
    with pytest.warns(UserWarning, match=r"diverged: torch:log \(seed 0\) at epoch 1"):
        outcome = runner.run(tiny_config, quiet=True)
    trials = outcome.folder.trials().set_index("activation")
    assert trials.loc["torch:log", "diverged"] and trials.loc["torch:log", "diverged_epoch"] == 1
    assert not trials.loc["relu", "diverged"] and trials.loc["relu", "test_accuracy"] > 0.5
    summary = (outcome.folder.path / "summary.md").read_text()
    assert "1 (epoch 1)" in summary


def test_pins_are_applied_recorded_and_then_undone(tiny_config):
    """The workers train pinned; the calling process (a notebook) gets its own settings back:
    threads, affinity, deterministic algorithms and cuDNN flags."""
    before = os.sched_getaffinity(0)
    torch.set_num_threads(2)
    torch.backends.cudnn.benchmark = True
    try:
        tiny_config = replace(tiny_config, cpu_affinity=[0], deterministic=True)
        tiny_config = replace(tiny_config, threads=1)
        outcome = runner.run(tiny_config, quiet=True)
        assert os.sched_getaffinity(0) == before and torch.get_num_threads() == 2
        assert not torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark
    finally:
        os.sched_setaffinity(0, before)
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark = False
    run = outcome.folder.run_info()
    assert run["config"]["cpu_affinity"] == [0] and run["config"]["deterministic"] is True
    assert run["environment"]["cpu_affinity"] == "0" and run["environment"]["deterministic"]
    trials = outcome.folder.trials()
    assert set(trials["cpu_affinity"].astype(str)) == {"0"} and trials["deterministic"].all()


def test_compile_mode_sweep_records_mode_and_compile_time(tiny_config):
    tiny_config = replace(tiny_config, activations=["relu"], mode="compile", warmup_steps=0)
    tiny_config = replace(tiny_config, baseline=None)
    outcome = runner.run(tiny_config, quiet=True)
    trial = outcome.folder.trials().iloc[0]
    assert trial["mode"] == "compile" and trial["warmup_steps"] == 1  # compile step excluded
    assert trial["compile_seconds"] > 0.05 and trial["test_accuracy"] > 0.5
    assert list(outcome.summary["mode"]) == ["compile"]
    assert "mode compile" in (outcome.folder.path / "summary.md").read_text()


def test_timer_overhead_is_measured_and_reported(tiny_config):
    outcome = runner.run(tiny_config, quiet=True)
    run = outcome.folder.run_info()
    assert 0 < run["timer_overhead_us"] < 50
    assert "timer overhead:" in (outcome.folder.path / "summary.md").read_text()


def test_short_trials_keep_half_their_steps_timed_and_say_so(tiny_config):
    tiny_config = replace(tiny_config, activations=["relu"], warmup_steps=500, epochs=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = runner.run(tiny_config, quiet=True)
    rough = [str(w.message) for w in caught if "timed steps" in str(w.message)]
    # one warning for the sweep, naming both trials (relu and the baseline)
    assert len(rough) == 1 and "2 trial(s) have only 9 timed steps" in rough[0]
    assert "relu (seed 0)" in rough[0] and "identity (seed 0)" in rough[0]
    trial = outcome.folder.trials().iloc[0]
    assert trial["steps"] == 18 and trial["warmup_steps"] == 9


def test_cnn_sweep_keeps_images_as_images(tiny_config):
    tiny_config = replace(tiny_config, model="cnn", activations=["relu"], epochs=3)
    tiny_config = replace(tiny_config, baseline=None)
    outcome = runner.run(tiny_config, quiet=True)
    trial = outcome.folder.trials().iloc[0]
    assert trial["model"] == "cnn" and trial["test_accuracy"] > 0.5
    assert list(outcome.summary["model"]) == ["cnn"]
    assert "CNN 32c3" in (outcome.folder.path / "summary.md").read_text()


def test_interleaved_and_sequential_sweeps_learn_the_same(tiny_config):
    tiny_config = replace(tiny_config, seeds=[0, 1])
    # 3 rounds an epoch: enough for an interval within each seed
    tiny_config = replace(tiny_config, round_steps=3)
    learned = {}
    for schedule in ("interleaved", "sequential"):
        tiny_config = replace(tiny_config, schedule=schedule, name=schedule)
        trials = runner.run(tiny_config, quiet=True).folder.trials()
        keep = ["activation", "seed", "test_accuracy", "test_loss", "best_epoch", "epochs"]
        learned[schedule] = trials[keep].sort_values(["seed", "activation"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(learned["interleaved"], learned["sequential"])
    run = RunFolder.open(tiny_config.out / "sequential").run_info()
    assert run["config"]["schedule"] == "sequential"
    # trials that move through epochs together share one machine-speed reading per epoch
    history = RunFolder.open(tiny_config.out / "interleaved").history()
    per_epoch = history.groupby(["seed", "epoch"])["reference_us"].nunique()
    assert (per_epoch == 1).all() and history["reference_us"].gt(0).all()


def test_a_group_keeps_old_objects_out_of_full_collections_and_hands_them_back(tiny_config):
    pinning = device.pin("cpu", 1)
    run = plan.build(tiny_config)
    relu = Group(0, run.named(["relu"]))
    frozen_during = [gc.get_freeze_count() for _ in worker.train_group(run, relu, pinning)]
    assert min(frozen_during) > 0 and gc.get_freeze_count() == 0
    gc.freeze()  # a process that froze objects itself keeps them frozen
    try:
        list(worker.train_group(run, relu, pinning))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_summary_is_warmed_once_when_a_core_is_left_idle(tmp_path, monkeypatch):
    """Five groups on two slots: after the fourth finishes, one group trains and one slot
    stays idle to the end; that is when (and the only time) the end's work is warmed. A
    single slot never idles while groups are left."""
    warmed, told = [], []
    monkeypatch.setattr(printout, "warm", lambda folder: warmed.append(len(told)))
    on_finished = runner.warming(told.append, RunFolder(tmp_path), 5, slots=2)
    for seed in range(5):
        on_finished(Group(seed, ()))
    assert told == [Group(seed, ()) for seed in range(5)]  # every group still reported
    assert warmed == [4]
    warmed.clear()
    one_slot = runner.warming(told.append, RunFolder(tmp_path), 3, slots=1)
    for seed in range(3):
        one_slot(Group(seed, ()))
    assert warmed == []
