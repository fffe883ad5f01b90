"""Trials as Ray tasks: same results, same files, same resume as local trials.

Runs on a local Ray instance (`ray.init(num_cpus=2)`). Without Ray installed these tests
skip, except under CI=true, where Ray is part of the install and missing it is a failure.
"""

import os
import socket
import sys
from dataclasses import replace

import pandas as pd
import pytest

from actbench import cli, runner
from tests.conftest import first_result_then_interrupt

try:
    import ray
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    ray = None

needs_ray = pytest.mark.skipif(ray is None, reason="pip install 'actbench[ray]'")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def without_timing(trials: pd.DataFrame) -> pd.DataFrame:
    keep = [
        "activation",
        "seed",
        "test_accuracy",
        "best_val_loss",
        "best_epoch",
        "epochs",
        "steps",
        "warmup_steps",
        "diverged",
    ]
    return trials[keep].sort_values(["seed", "activation"]).reset_index(drop=True)


@needs_ray
@pytest.mark.slow
@pytest.mark.workers
def test_ray_sweep_matches_a_local_sweep(tiny_config, local_ray):
    tiny_config = replace(tiny_config, seeds=[0, 1], name="local")
    local = runner.run(tiny_config, quiet=True).folder
    tiny_config = replace(tiny_config, executor="ray", name="ray")
    remote = runner.run(tiny_config, quiet=True).folder
    assert sorted(p.name for p in remote.path.iterdir()) == sorted(
        p.name for p in local.path.iterdir()
    )
    pd.testing.assert_frame_equal(without_timing(remote.trials()), without_timing(local.trials()))
    assert set(remote.trials()["host"]) == {socket.gethostname()}
    assert len(remote.history()) == len(local.history()) and len(remote.steps()) == 6
    assert len(remote.rounds()) == len(local.rounds())  # one seed's group per task
    assert remote.run_info()["config"]["executor"] == "ray"


@needs_ray
@pytest.mark.slow
@pytest.mark.workers
def test_ray_resumes_a_local_run(tiny_config, local_ray, monkeypatch):
    first_result_then_interrupt(monkeypatch)
    with pytest.raises(runner.SweepInterrupted):
        runner.run(tiny_config, quiet=True)
    monkeypatch.undo()
    tiny_config = replace(tiny_config, executor="ray")
    outcome = runner.resume("tiny", tiny_config, explicit={"executor"}, quiet=True)
    assert sorted(outcome.folder.trials()["activation"]) == ["identity", "relu", "tanh"]


def test_ray_missing_is_a_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    code = cli.main(
        [
            "sweep",
            "--device",
            "cpu",
            "--executor",
            "ray",
            "--data-dir",
            str(tiny_mnist),
            "--no-download",
            "--out",
            str(tmp_path),
            "--quiet",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--batch-size",
            "50",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'actbench[ray]'" in err and "Traceback" not in err


@needs_ray
@pytest.mark.slow
@pytest.mark.workers
def test_ray_tasks_dispatch_and_flush_as_pinned(tiny_config, local_ray):
    pinned = replace(tiny_config, executor="ray", cpu_capability="default", flush_denormal=True)
    trials = runner.run(replace(pinned, epochs=1), quiet=True).folder.trials()
    assert set(trials["cpu_capability"]) == {"DEFAULT"} and set(trials["flush_denormal"]) == {True}
