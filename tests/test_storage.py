import numpy as np
import pytest

from actbench.errors import ActbenchError
from actbench.storage import RunFolder
from tests.conftest import fake_trial

TRIAL_COLUMNS = [
    "activation",
    "seed",
    "device",
    "threads",
    "test_accuracy",
    "best_val_loss",
    "epochs",
    "steps",
    "warmup_steps",
    "us_per_step_median",
    "us_per_step_p25",
    "us_per_step_p75",
    "us_per_step_mean",
    "train_seconds",
    "diverged",
]


def test_trials_history_and_steps_round_trip(tmp_path):
    folder = RunFolder.create(tmp_path, "run")
    folder.write_run({"name": "run"})
    folder.add_trial(fake_trial("relu", 0, n=5))
    folder.add_trial(fake_trial("tanh:custom", 1, n=3))
    trials = folder.trials()
    assert set(TRIAL_COLUMNS) <= set(trials.columns)
    assert list(trials["activation"]) == ["relu", "tanh:custom"]
    assert len(folder.history()) == 20
    steps = folder.steps()
    assert steps[("relu", 0)].tolist() == [800, 801, 802, 803, 804]
    assert steps[("tanh:custom", 1)].dtype == np.float32
    assert RunFolder.open("run", out=tmp_path).run_info() == {"name": "run"}
    assert not list(tmp_path.glob("run/.*.tmp"))


def test_create_refuses_an_existing_run(tmp_path):
    RunFolder.create(tmp_path, "run").write_run({})
    with pytest.raises(ActbenchError, match="already exists"):
        RunFolder.create(tmp_path, "run")


def test_unwritable_output_is_refused_up_front(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ActbenchError, match="cannot write results"):
        RunFolder.create(blocker, "run")


def test_open_missing_or_malformed_runs(tmp_path):
    with pytest.raises(ActbenchError, match="no actbench run"):
        RunFolder.open(tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text("{not json")
    with pytest.raises(ActbenchError, match="cannot read"):
        RunFolder.open(tmp_path / "bad").run_info()
