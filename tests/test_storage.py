import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actbench import storage
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


RUN = {"name": "run", "config": {"activations": ["relu", "tanh:custom"], "seeds": [0, 1]}}


def saved_run(tmp_path) -> RunFolder:
    folder = RunFolder.create(tmp_path, "run")
    folder.write_run(RUN)
    folder.add_trial(fake_trial("relu", 0, n=5))
    folder.add_trial(fake_trial("tanh:custom", 1, n=3))
    folder.unlock()
    return folder


def test_trials_history_and_steps_round_trip(tmp_path):
    folder = RunFolder.create(tmp_path, "run")
    folder.write_run(RUN)
    folder.add_trial(fake_trial("relu", 0, n=5))
    folder.add_trial(fake_trial("tanh:custom", 1, n=3))
    trials = folder.trials()
    assert set(TRIAL_COLUMNS) <= set(trials.columns)
    assert list(trials["activation"]) == ["relu", "tanh:custom"]
    assert len(folder.history()) == 20
    steps = folder.steps()
    assert steps[("relu", 0)].tolist() == [800, 801, 802, 803, 804]
    assert steps[("tanh:custom", 1)].dtype == np.float32
    info = RunFolder.open("run", out=tmp_path).run_info()
    assert info["name"] == "run" and {k: info["config"][k] for k in RUN["config"]} == RUN["config"]
    assert not list(tmp_path.glob("run/.*.tmp"))


def test_create_refuses_an_existing_run(tmp_path):
    first = RunFolder.create(tmp_path, "run")
    first.write_run(RUN)
    first.unlock()
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


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    first = RunFolder.create(tmp_path, "run")
    with pytest.raises(ActbenchError, match=rf"being written by pid {os.getpid()} on host "):
        RunFolder.create(tmp_path, "run")  # another sweep with the same --name
    other = RunFolder(tmp_path / "run")
    with pytest.raises(ActbenchError, match="being written by pid"):
        other.lock()  # a resume
    first.unlock()
    assert not (tmp_path / "run" / ".lock").exists()  # a clean release leaves no file
    other.lock()  # free again once the holder lets go
    other.unlock()


def test_a_killed_writer_leaves_no_stale_lock(tmp_path):
    code = (
        "import os, sys; from actbench.storage import RunFolder; "
        f"RunFolder.create({str(tmp_path)!r}, 'run'); print('locked', flush=True); "
        "sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    with pytest.raises(ActbenchError, match=f"pid {proc.pid}"):
        RunFolder(tmp_path / "run").lock()
    proc.kill()
    proc.wait()
    RunFolder(tmp_path / "run").lock()  # the kernel released it with the process


def test_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        folder = saved_run(tmp_path)
    finally:
        os.umask(old)
    steps = [p.relative_to(folder.path) for p in (folder.path / "steps").iterdir()]
    for name in ("run.json", "trials.csv", "history.csv", *steps):  # (a fake trial has no rounds)
        path = folder.path / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, name


def test_a_garbage_row_is_damage_not_an_activation(tmp_path):
    folder = saved_run(tmp_path)
    with open(folder.path / "trials.csv", "a") as f:
        f.write("garbage,row\n")
    with pytest.raises(ActbenchError, match=r"trials.csv is damaged: row 4: seed 'row' is not"):
        folder.trials()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.assign(activation=["relu", "gelu"]), "has activation 'gelu', which this run"),
        (lambda t: t.assign(seed=[0, 7]), "has seed 7, which this run does not train"),
        (lambda t: t.drop(columns="test_accuracy"), "missing column.* test_accuracy"),
        (lambda t: t.assign(epochs=["2", "x"]), "epochs 'x' is not an integer"),
        (lambda t: pd.concat([t, t.iloc[:1]]), "repeats activation 'relu', seed 0"),
    ],
)
def test_damaged_tables_are_one_line_errors(tmp_path, edit, message):
    folder = saved_run(tmp_path)
    edit(pd.read_csv(folder.path / "trials.csv")).to_csv(folder.path / "trials.csv", index=False)
    with pytest.raises(ActbenchError, match=message) as caught:
        folder.trials()
    assert "\n" not in str(caught.value) and "trials.csv" in str(caught.value)


def test_damaged_steps_are_named(tmp_path):
    folder = saved_run(tmp_path)
    path = next((folder.path / "steps").glob("seed0-*.npz"))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ActbenchError, match=r"cannot read .*seed0-.*npz.*run the sweep again"):
        folder.steps()
    assert len(folder.trials()) == 2  # the rest of the run still reads


ROOT = Path(__file__).resolve().parents[1]


def steps_snippet() -> str:
    """docs/results.md's code that reads a run's step times, as a user would copy it."""
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    section = text[text.index("### A trial's step times") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("run", ["saved now", "committed"])
def test_the_docs_snippet_reads_each_trials_step_times(tmp_path, run, capsys):
    """What docs/results.md shows a user reads the steps the package reads, in a run saved
    today (one trial a file, no offsets) and in a committed run of the older layout."""
    folder = saved_run(tmp_path) if run == "saved now" else RunFolder(ROOT / "results/default")
    if run == "saved now":
        for path in (folder.path / "steps").glob("*.npz"):
            with np.load(path) as trial:
                assert set(trial.files) == {"activation", "seed", "us"}
                assert trial["activation"].ndim == trial["seed"].ndim == 0
    code = steps_snippet().replace('"results/default/steps"', repr(str(folder.path / "steps")))
    found: dict = {}
    exec(compile(code, "docs/results.md", "exec"), found)
    steps, saved = found["steps"], folder.steps()
    trials = folder.trials().set_index(["activation", "seed"])
    assert len(steps) == sum(len(us) for us in saved.values())
    for (activation, seed), us in saved.items():
        mine = steps[(steps.activation == activation) & (steps.seed == seed)].us.to_numpy()
        assert np.array_equal(mine, us) and mine.dtype == np.float32, (activation, seed)
        row = trials.loc[(activation, seed)]
        assert len(us) == row["steps"] - row["warmup_steps"], (activation, seed)
    assert np.array_equal(found["relu"].to_numpy(), saved[("relu", 0)])
    assert "0.99" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"activation": "relu", "seed": 0}, "no array 'us'"),
        ({"activation": ["relu", "relu"], "seed": 0, "us": [1.0]}, "not one trial's"),
        ({"activation": "gelu", "seed": 0, "us": [1.0]}, "trial 'gelu', seed 0 is not in"),
        ({"activation": ["relu"], "seed": [0], "offset": [0, 2], "us": [1.0]}, "do not cover"),
    ],
)
def test_a_damaged_steps_file_is_one_line(tmp_path, arrays, message):
    folder = saved_run(tmp_path)
    path = next((folder.path / "steps").glob("seed0-*.npz"))
    with open(path, "wb") as f:
        np.savez_compressed(f, **{k: np.array(v) for k, v in arrays.items()})
    with pytest.raises(ActbenchError, match=message) as caught:
        folder.steps()
    assert "\n" not in str(caught.value) and path.name in str(caught.value)


def test_a_run_json_without_configuration_is_refused(tmp_path):
    folder = saved_run(tmp_path)
    (folder.path / "run.json").write_text('{"name": "run"}')
    with pytest.raises(ActbenchError, match="not an actbench run"):
        folder.trials()


def test_remove_if_empty_only_removes_a_run_with_no_trial(tmp_path):
    empty = RunFolder.create(tmp_path, "empty")
    empty.write_run(RUN)
    empty.remove_if_empty()
    assert not (tmp_path / "empty").exists()
    kept = saved_run(tmp_path)
    kept.remove_if_empty()
    assert (kept.path / "trials.csv").is_file()


@pytest.mark.slow
def test_two_sweeps_with_one_name_never_both_write(tiny_mnist, tmp_path):
    """Started together: one trains, the other is refused in one line (the holder's pid if
    it is still writing, 'already exists' if it has finished) and nothing is lost."""
    argv = [
        sys.executable, "-m", "actbench", "sweep", "--data-dir", str(tiny_mnist),
        "--no-download", "--out", str(tmp_path / "out"), "--name", "same", "--epochs", "2",
        "--activations", "relu", "--seeds", "0", "--quiet",
    ]  # fmt: skip
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert len(refused.strip().splitlines()) == 1
    # the holder's pid once it has written it (an instant after it locked), else "another
    # process"; or "already exists" when the first sweep has finished
    assert "is being written by" in refused or "already exists" in refused
    trials = RunFolder(tmp_path / "out" / "same").trials()
    assert sorted(trials["activation"]) == ["identity", "relu"]


def test_a_finished_trial_appends_and_rewrites_nothing(tmp_path):
    """Saving the second trial leaves the first one's bytes where they were: the tables
    grow at their ends (the file is the same file), and each trial's steps have a file."""
    folder = RunFolder.create(tmp_path, "run")
    folder.write_run(RUN)
    folder.add_trial(fake_trial("relu", 0, n=5))
    before = {n: (folder.path / n).read_bytes() for n in ("trials.csv", "history.csv")}
    inodes = {n: (folder.path / n).stat().st_ino for n in before}
    steps_file = next((folder.path / "steps").iterdir())
    first_steps = steps_file.stat().st_mtime_ns
    folder.add_trial(fake_trial("tanh:custom", 1, n=3))
    for name, old in before.items():
        new = (folder.path / name).read_bytes()
        assert new.startswith(old) and len(new) > len(old), name
        assert (folder.path / name).stat().st_ino == inodes[name], name
    assert steps_file.stat().st_mtime_ns == first_steps
    assert len(list((folder.path / "steps").iterdir())) == 2
    assert len(folder.trials()) == 2 and len(folder.history()) == 20


def test_a_torn_last_line_is_not_data_and_the_next_writer_cuts_it(tmp_path):
    """kill -9 during an append can leave half a line: readers ignore it, the next append
    starts where the last whole line ended."""
    folder = saved_run(tmp_path)
    with open(folder.path / "trials.csv", "ab") as f:
        f.write(b"sigmoid,0,cpu,1,0.9")  # a row cut off mid-way, no newline
    assert list(folder.trials()["activation"]) == ["relu", "tanh:custom"]
    folder.add_trial(fake_trial("relu", 1, n=4))
    trials = folder.trials()
    assert list(zip(trials["activation"], trials["seed"], strict=True)) == [
        ("relu", 0),
        ("tanh:custom", 1),
        ("relu", 1),
    ]
    assert b"sigmoid" not in (folder.path / "trials.csv").read_bytes()


def test_resume_drops_the_rows_of_a_trial_that_never_got_its_row(tmp_path):
    """A writer killed after a trial's history but before its trials.csv row leaves rows
    of an unsaved trial; `drop_unfinished` removes them (and only them) before a resume
    trains that trial again, so it is never in the history twice."""
    folder = saved_run(tmp_path)
    orphan = fake_trial("relu", 1, n=4)
    storage.append_rows(folder.path / "history.csv", orphan.history_rows())
    assert len(folder.history()) == 30  # 10 epochs each (fake_trial), the orphan's too
    folder.drop_unfinished()
    history = folder.history()
    assert (
        len(history) == 20
        and not ((history["activation"] == "relu") & (history["seed"] == 1)).any()
    )
    folder.add_trial(orphan)
    assert len(folder.history()) == 30 and len(folder.trials()) == 3


def test_a_run_saved_before_appends_reads_and_grows(tmp_path):
    """An older run keeps its one steps.npz and its CSV columns; a resume appends to it."""
    folder = saved_run(tmp_path)
    old = fake_trial("relu", 1, n=4)
    np.savez_compressed(
        folder.path / "steps.npz",
        activation=np.array(["relu"]), seed=np.array([1]), offset=np.array([0, 4]),
        us=old.step_us.astype(np.float32),
    )  # fmt: skip
    trials = pd.read_csv(folder.path / "trials.csv").drop(columns=["test_rmse"])
    trials.to_csv(folder.path / "trials.csv", index=False)  # a column added later
    assert set(folder.steps()) == {("relu", 0), ("tanh:custom", 1), ("relu", 1)}
    folder.add_trial(fake_trial("tanh:custom", 0, n=2))
    assert len(folder.trials()) == 3 and "test_rmse" in folder.trials()


def test_a_run_not_found_says_where_it_looked(tmp_path):
    with pytest.raises(ActbenchError) as caught:
        RunFolder.open("rel1", tmp_path / "myruns")
    said = str(caught.value)
    assert f"rel1/run.json and {tmp_path / 'myruns' / 'rel1' / 'run.json'}" in said
    assert caught.value.phrased(lambda p: "--" + p).endswith("by its name under --out")
