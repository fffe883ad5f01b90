"""A saved run read as one typed record: today's run.json and older ones field by field, the
one-line description word for word, and the tables' older formats read as they meant."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from actbench import disturbance, schema
from actbench.errors import ActbenchError
from actbench.run_record import Environment, RunRecord, describe, what, where
from actbench.storage import RunFolder
from tests.conftest import fake_trial

TODAY = {  # run.json as the sweep writes it today (results/default's, shortened)
    "name": "default",
    "status": "complete",
    "config": {
        "activations": ["identity", "relu"], "device": "cpu", "threads": None,
        "cpu_affinity": None, "deterministic": False, "cpu_capability": None,
        "flush_denormal": False, "mode": "eager", "dataset": "mnist",
        "model": "mlp", "task": None, "executor": "local", "schedule": "interleaved",
        "round_steps": 10,
        "baseline": "identity", "ray_address": None, "hidden": [100, 100, 100],
        "batch_size": 100, "optimizer": "adam", "lr": 0.001, "momentum": 0.0, "epochs": 100,
        "patience": 10, "val_fraction": 0.2, "window": None, "train_limit": None,
        "seeds": [0, 1, 2], "jobs": None, "warmup_steps": 50, "split_seed": 0,
        "precision": None, "max_seeds": 10,
        "data_dir": None, "download": False, "out": "/tmp/runs", "name": "default",
    },
    "dataset_defaults": {"model": "mlp", "hidden": [100, 100, 100], "batch_size": 100},
    "metric": "accuracy",
    "timing_method": "time.perf_counter_ns around the step",
    "reference": "mlp 100-100-100, identity, batch 100, forward+backward",
    "started": "2026-12-01T08:34:14+00:00",
    "finished": "2026-12-01T08:36:07+00:00",
    "data": {"dir": "/data", "reader": "idx", "train": 48000, "val": 12000, "test": 10000},
    "environment": {
        "actbench_version": "0.1.0", "torch_version": "2.14.1+cu130", "python_version": "3.11.7",
        "platform": "Linux-6.18", "hostname": "vm", "machine_key": "bbb6e8d10e921333",
        "cpu_model": "AMD EPYC", "cpu_count": 2, "threads": 1, "device": "cpu",
        "device_name": "AMD EPYC", "deterministic": False, "cuda_version": "13.0",
        "argv": ["actbench", "sweep", "--name", "default"], "git_commit": "6ac28332f2d5eb8497",
        "git_dirty": False, "cpu_affinity": "0,1", "parent_cpu_capability": "AVX512",
        "aten_cpu_capability": None, "cpu_flags": "avx2 avx512f fma", "cpu_microcode": "0x1",
        "kernel_release": "6.18", "cpufreq_governor": None, "cpu_boost": None,
        "math_libraries": {"blas": "mkl", "onednn": "v3.12.0"}, "cpu_capability": "AVX2",
        "flush_denormal": False,
    },
    "timer_overhead_us": 0.08,
    "jobs": 2,
    "resumed": ["2026-12-01T08:35:00+00:00"],
}  # fmt: skip

FIRST = {  # run.json as the first version wrote it (d0f51e0): no metric, schedule, baseline
    "name": "old",
    "status": "complete",
    "config": {
        "activations": ["relu", "tanh"], "device": "cpu", "threads": 2, "hidden": [100, 100],
        "batch_size": 100, "optimizer": "sgd", "lr": 0.01, "epochs": 5, "patience": 3,
        "val_fraction": 0.2, "seeds": [0], "warmup_steps": 20,
    },
    "environment": {
        "device": "cpu", "device_name": "Intel Xeon", "cpu_model": "Intel Xeon", "threads": 2,
        "hostname": "box", "git_commit": "0123456789abcdef-dirty", "cpu_affinity": [0, 1, 2],
        "argv": ["actbench", "sweep"],
    },
    "timing_method": "time.perf_counter_ns around the step",
    "data": {"dir": "/data", "reader": "idx", "train": 48000, "val": 12000, "test": 10000},
    "started": "2026-11-22T20:00:00", "finished": "2026-11-22T20:10:00",
}  # fmt: skip


def test_todays_run_json_reads_field_by_field():
    run = RunRecord.from_dict(TODAY)
    c, env = run.config, run.environment
    assert (run.name, run.status, run.metric, run.jobs) == ("default", "complete", "accuracy", 2)
    assert (c.dataset, c.model, c.hidden, c.batch_size, c.mode) == (
        "mnist", "mlp", (100, 100, 100), 100, "eager",
    )  # fmt: skip
    assert (c.activations, c.seeds, c.baseline, c.schedule) == (
        ("identity", "relu"), (0, 1, 2), "identity", "interleaved",
    )  # fmt: skip
    assert (env.device, env.device_name, env.threads, env.cpu_affinity) == (
        "cpu", "AMD EPYC", 1, "0,1",
    )  # fmt: skip
    assert (env.cpu_model, env.hostname, env.machine_key) == ("AMD EPYC", "vm", "bbb6e8d10e921333")
    assert (env.torch_version, env.cuda_version, env.git_dirty) == ("2.14.1+cu130", "13.0", False)
    assert env.commit == "6ac28332f" and env.command == "actbench sweep --name default"
    assert env.recorded and env.fields["cpu_count"] == 2  # the free-form fields, all of them
    assert (env.cpu_capability, env.flush_denormal, env.cpu_boost) == ("AVX2", False, None)
    assert (env.cpu_flags, env.cpu_microcode) == ("avx2 avx512f fma", "0x1")
    assert env.math_libraries["blas"] == "mkl" and env.aten_cpu_capability is None
    assert env.listed()["math_libraries"] == "blas mkl, onednn v3.12.0"  # one table cell
    assert (c.cpu_capability, c.flush_denormal) == (None, False)
    assert run.reference == "mlp 100-100-100, identity, batch 100, forward+backward"
    assert (run.timer_overhead_us, run.resumed) == (0.08, ("2026-12-01T08:35:00+00:00",))
    assert (run.started, run.finished) == ("2026-12-01T08:34:14+00:00", "2026-12-01T08:36:07+00:00")
    assert run.dataset_defaults["batch_size"] == 100 and run.data["train"] == 48000
    assert run.data_unit is None and run.timing_method.startswith("time.perf_counter_ns")
    assert run.to_dict() == TODAY  # today's format comes back as saved
    assert (run.first_seeds, run.seeds_needed) == ((), None)  # not sized by --precision


def test_a_run_sized_by_precision_reads_its_first_stage():
    saved = {**TODAY, "config": {**TODAY["config"], "precision": 2.0, "seeds": [0, 1, 2, 3]}}
    saved["precision"] = {"first_seeds": [0, 1, 2], "needed": 14, "seeds": 4}
    run = RunRecord.from_dict(saved)
    assert (run.config.precision, run.config.max_seeds) == (2.0, 10)
    assert (run.first_seeds, run.seeds_needed, run.config.seeds) == ((0, 1, 2), 14, (0, 1, 2, 3))


def test_the_first_versions_run_json_reads_as_it_meant():
    """What it left out takes what it meant then (`schema.BEFORE`): run one after another,
    no baseline, MNIST scored by accuracy, SGD with momentum 0.9, the old reference step;
    the CPU list and the "-dirty" commit in today's form."""
    run = RunRecord.from_dict(FIRST)
    c, env = run.config, run.environment
    assert (c.schedule, c.baseline, c.dataset, c.model, c.mode) == (
        "sequential", None, "mnist", "mlp", "eager",
    )  # fmt: skip
    assert (c.optimizer, c.momentum, run.metric) == ("sgd", 0.9, "accuracy")
    assert run.reference == schema.OLD_REFERENCE
    assert (env.cpu_affinity, env.git_commit, env.git_dirty) == ("0,1,2", "0123456789abcdef", True)
    assert env.commit == "012345678-dirty"
    # before pins and fingerprints: torch's own capability, nothing flushed, nothing recorded
    assert (c.cpu_capability, c.flush_denormal, env.cpu_capability, env.flush_denormal) == (
        None, False, None, None,
    )  # fmt: skip
    assert (run.jobs, run.resumed, run.timer_overhead_us, run.data_unit) == (None, (), None, None)
    assert run.to_dict()["config"]["schedule"] == "sequential"  # upgraded, as a resume writes


def test_a_run_that_recorded_little_reads_as_unknown():
    run = RunRecord.from_dict({"config": {"activations": ["relu"], "seeds": [0]}})
    assert run.environment == Environment() and not run.environment.recorded
    assert (run.status, run.started, run.name, run.environment.command) == (None, None, None, None)


def test_what_is_not_a_run_is_refused_in_one_line():
    with pytest.raises(ActbenchError, match=r"x/run\.json is not an actbench run"):
        RunRecord.from_dict({"status": "complete"}, "x/run.json")
    with pytest.raises(ActbenchError, match=r"config\.seeds is not a list of integers"):
        RunRecord.from_dict({"config": {"activations": ["relu"], "seeds": ["0"]}})


def test_the_record_cannot_be_changed_through_it():
    run = RunRecord.from_dict(TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.status = "failed"
    with pytest.raises(TypeError):
        run.environment.fields["threads"] = 4
    with pytest.raises(TypeError):
        run.dataset_defaults["hidden"][0] = 7  # a tuple inside a read-only mapping
    document = run.to_dict()
    document["environment"]["threads"] = 4  # the caller's own copy
    assert run.environment.fields["threads"] == 1 and run.to_dict() == TODAY


def test_one_line_describes_a_run_where_then_what():
    assert describe(RunRecord.from_dict(TODAY)) == (
        "cpu (AMD EPYC), 1 thread, cores 0,1, host vm; "
        "mnist, mlp 100-100-100, eager, adam lr 0.001, batch 100, baseline identity"
    )
    assert describe(RunRecord.from_dict(FIRST)) == (
        "cpu (Intel Xeon), 2 threads, cores 0,1,2, host box; "
        "mnist, mlp 100-100, eager, sgd lr 0.01 momentum 0.9, batch 100, no baseline"
    )


def test_one_line_for_a_gpu_series_and_an_unknown_machine():
    series = {
        **TODAY,
        "config": {
            **TODAY["config"], "dataset": "airline", "model": "lstm", "hidden": [6, 6],
            "batch_size": 1, "window": 10, "mode": "cuda-graph", "train_limit": 100,
        },
        "environment": {"device": "cuda:0", "device_name": "NVIDIA H200", "threads": 4},
    }  # fmt: skip
    assert where(RunRecord.from_dict(series)) == "cuda:0 (NVIDIA H200), 4 threads"
    assert what(RunRecord.from_dict(series)) == (
        "airline, lstm 6-6, cuda-graph, adam lr 0.001, batch 1, window 10, train limit 100, "
        "baseline identity"
    )
    cnn = {**TODAY, "config": {**TODAY["config"], "model": "cnn"}, "environment": {}}
    assert describe(RunRecord.from_dict(cnn)) == (
        "? (?), ? threads; mnist, cnn, eager, adam lr 0.001, batch 100, baseline identity"
    )


def test_a_folder_returns_its_record_and_reads_it_again_only_when_it_changed(tmp_path):
    folder = RunFolder.create(tmp_path, "default")
    folder.write_run(TODAY)
    folder.unlock()
    first = folder.info()
    assert first is folder.info() and folder.run_info() == TODAY
    folder.write_run({**TODAY, "status": "interrupted"})
    assert folder.info().status == "interrupted" and first.status == "complete"
    (tmp_path / "default" / "run.json").write_text(json.dumps({"config": {}}))
    with pytest.raises(ActbenchError, match=r"config\.activations is not a list of names"):
        folder.info()


def test_trials_saved_before_later_columns_read_as_they_meant(tmp_path):
    """A trials.csv without mode, model, group, slow_steps or the readings: the run's mode
    and model, group 0, a tail never counted (so the spread decides), readings not taken."""
    folder = RunFolder.create(tmp_path, "old")
    folder.write_run({**FIRST, "config": {**FIRST["config"], "activations": ["relu"]}})
    folder.add_trial(fake_trial("relu", 0))
    folder.unlock()
    trials = pd.read_csv(folder.path / "trials.csv")
    later = ["mode", "model", "group", "slow_steps", "profile_matmul_us", "dead_last"]
    trials.drop(columns=later).assign(us_per_step_p75=1.2 * trials["us_per_step_median"]).to_csv(
        folder.path / "trials.csv", index=False
    )
    read = folder.trials()
    assert (read["mode"].iloc[0], read["model"].iloc[0], read["group"].iloc[0]) == (
        "eager", "mlp", 0,
    )  # fmt: skip
    assert read[["slow_steps", "profile_matmul_us", "dead_last"]].isna().all().all()
    assert disturbance.of_trials(read).iloc[0].startswith("IQR ")  # the spread, as then


def test_a_run_saved_before_rounds_has_its_steps_cut_into_rounds(tmp_path):
    folder = RunFolder.create(tmp_path, "old")
    folder.write_run({**FIRST, "config": {**FIRST["config"], "activations": ["relu"]}})
    folder.unlock()
    steps = np.arange(25, dtype=np.float32)
    np.savez_compressed(
        folder.path / schema.OLD_STEPS, activation=np.array(["relu"]), seed=np.array([0]),
        offset=np.array([0, 25]), us=steps,
    )  # fmt: skip
    rounds = folder.round_times()
    assert list(rounds["round"]) == [0, 1] and list(rounds["group"]) == [0, 0]
    assert list(rounds["us_median"]) == [float(np.median(steps[:13])), float(np.median(steps[13:]))]
