"""Interrupt and resume: nothing finished is ever lost, nothing finished is retrained."""

import json
import os
import random
import signal
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from actbench import cli, executor, runner
from actbench.errors import ActbenchError
from actbench.storage import RunFolder


def counting_groups(monkeypatch) -> list[tuple[str, int]]:
    """Record which trials each worker is sent; Ctrl-C once the run's first trial is saved."""
    real_start, real_add = executor._start, RunFolder.add_trial
    trained: list[tuple[str, int]] = []
    first_session = [True]

    def start(job, slot):
        trained.extend((a.name, job.seed) for a in job.activations)
        return real_start(job, slot)

    def add(folder, result):
        real_add(folder, result)
        if first_session.pop() if first_session else False:
            raise KeyboardInterrupt

    monkeypatch.setattr(executor, "_start", start)
    monkeypatch.setattr(RunFolder, "add_trial", add)
    return trained


@pytest.mark.slow
@pytest.mark.workers
@pytest.mark.parametrize("schedule", ["interleaved", "sequential"])
def test_resume_runs_only_the_missing_trials(tiny_config, monkeypatch, schedule):
    tiny_config = replace(tiny_config, schedule=schedule)
    # nobody stops early: every trial ends in the last round
    tiny_config = replace(tiny_config, patience=0)
    trained = counting_groups(monkeypatch)
    tiny_config = replace(tiny_config, activations=["identity", "relu", "tanh"])
    with pytest.raises(runner.SweepInterrupted):
        runner.run(tiny_config, quiet=True)
    first = pd.read_csv(tiny_config.out / "tiny" / "trials.csv")
    assert len(first) == 1
    trained.clear()
    outcome = runner.resume("tiny", tiny_config, explicit=set(), quiet=True)
    trials = outcome.folder.trials()
    assert sorted(trials["activation"]) == ["identity", "relu", "tanh"]
    pd.testing.assert_frame_equal(trials.iloc[:1], first)  # the finished trial is untouched
    tanh = trials.set_index("activation").loc["tanh", "epochs"]
    assert len(outcome.folder.history().query("activation == 'tanh'")) == tanh
    run = outcome.folder.run_info()
    assert run["status"] == "complete" and len(run["resumed"]) == 1
    rounds = outcome.folder.rounds()
    missing = [(a, 0) for a in ("identity", "relu", "tanh") if a != first["activation"][0]]
    if schedule == "interleaved" and first["activation"][0] == "identity":
        # the baseline paced the resumed trials; only its rounds are kept
        assert trained == [("identity", 0), *missing]
        assert set(rounds.query("activation == 'identity'")["group"]) == {0, 1}
        assert set(rounds.query("activation == 'relu'")["group"]) == {1}
    else:
        assert trained == missing
    assert outcome.summary.set_index("activation").loc["tanh", "cost_rounds"] > 0


@pytest.mark.parametrize("listed", [None, "relu,tanh,sigmoid"])
def test_the_same_command_with_resume_added_finishes_the_run(
    listed, tiny_mnist, tmp_path, monkeypatch, capsys
):
    """Interrupted after its first trial, the exact command line with `--resume NAME`
    added finishes the run: what was typed is compared as the saved run resolved it (the
    baseline joins the activations, the dataset fills its defaults)."""
    argv = [
        "sweep", "--name", "again", "--out", str(tmp_path), "--data-dir", str(tiny_mnist),
        "--no-download", "--seeds", "0", "--epochs", "2", "--batch-size", "50", "--quiet",
        "--hidden", "16", "--threads", "1",
        *(["--activations", listed] if listed else []),
    ]  # fmt: skip
    real = RunFolder.add_trial

    def add_then_interrupt(self, result):
        real(self, result)
        monkeypatch.setattr(RunFolder, "add_trial", real)  # once
        raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "add_trial", add_then_interrupt)
    assert cli.main(argv) == cli.EXIT_INTERRUPTED
    capsys.readouterr()
    assert cli.main([*argv, "--resume", "again"]) == 0, capsys.readouterr().err
    run = RunFolder(tmp_path / "again")
    names = ["identity", *(listed or "relu,tanh,sigmoid,elu").split(",")]
    assert sorted(run.trials()["activation"]) == sorted(names)
    assert run.run_info()["status"] == "complete" and len(run.run_info()["resumed"]) == 1


def test_resume_refuses_a_different_configuration(tiny_config):
    runner.run(tiny_config, quiet=True)
    tiny_config = replace(tiny_config, epochs=9)
    with pytest.raises(ActbenchError, match=r"configuration differs .*epochs 4 vs 9"):
        runner.resume("tiny", tiny_config, explicit={"epochs"}, quiet=True)


def test_resume_of_a_missing_run_is_an_error(tmp_path, capsys):
    assert cli.main(["sweep", "--resume", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "no actbench run at" in err and "Traceback" not in err


@pytest.mark.pictures  # a run whose pictures are all there: nothing is drawn again
def test_resume_of_a_complete_run_says_there_is_nothing_to_do(tiny_config, capsys):
    runner.run(tiny_config, quiet=True)
    before = (tiny_config.out / "tiny" / "trials.csv").read_bytes()
    argv = ["sweep", "--resume", "tiny", "--out", str(tiny_config.out), "--quiet"]
    assert cli.main([*argv, "--data-dir", str(tiny_config.data_dir)]) == 0
    captured = capsys.readouterr()
    assert "nothing to resume: every trial of" in captured.err
    assert "wrote what was missing" not in captured.err
    assert "| relu" in captured.out or "relu" in captured.out
    assert (tiny_config.out / "tiny" / "trials.csv").read_bytes() == before
    assert not (tiny_config.out / "tiny" / ".lock").exists()  # released on the way out


@pytest.mark.pictures
def test_resume_of_a_run_stopped_while_drawing_draws_what_is_missing(tiny_config, capsys):
    """Ctrl-C while the pictures were drawn: the run is not complete, and `--resume` draws
    the missing picture instead of answering that there is nothing to do."""
    runner.run(tiny_config, quiet=True)
    folder = tiny_config.out / "tiny"
    (folder / "step_breakdown.png").unlink()
    argv = ["sweep", "--resume", str(folder), "--quiet", "--data-dir", str(tiny_config.data_dir)]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "wrote what was missing: step_breakdown.png" in err
    assert (folder / "step_breakdown.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated (SIGTERM)"),
    ],
)
def test_a_signal_keeps_the_finished_trials_and_resume_finishes(
    tiny_mnist, tmp_path, signum, code, said
):
    out = tmp_path / "results"
    argv = [
        sys.executable,
        "-m",
        "actbench",
        "sweep",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--data-dir",
        str(tiny_mnist),
        "--no-download",
        "--hidden",
        "256,256",
        "--batch-size",
        "10",
        "--epochs",
        "1",
        "--patience",
        "0",
        "--train-limit",
        "600",
        "--activations",
        "relu,tanh,sigmoid",
        "--baseline",
        "none",
        "--seeds",
        "0-5",
        "--out",
        str(out),
        "--name",
        "killed",
        "--format",
        "github",
    ]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell that starts a job in the background makes it ignore SIGINT, and Python
        # keeps an ignored SIGINT ignored: give the sweep the default, as a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    trials = out / "killed" / "trials.csv"
    seen = []
    while not seen or not seen[-1].startswith("[1/"):  # the event: the first trial is saved
        seen.append(proc.stderr.readline())
        assert seen[-1], "".join(seen)  # the sweep ended before any trial was saved?
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    stderr = "".join(seen) + stderr
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and f"{said}: finished trials are saved" in stderr
    assert json.loads((out / "killed" / "run.json").read_text())["status"] == "interrupted"
    kept = pd.read_csv(trials)
    assert len(kept) >= 1 and stdout.startswith("| activation")
    assert len(kept) < 18

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "actbench",
            "sweep",
            "--resume",
            "killed",
            "--out",
            str(out),
            "--data-dir",
            str(tiny_mnist),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert resumed.returncode == 0, resumed.stderr
    final = pd.read_csv(trials)
    assert len(final) == 18 and not final.duplicated(["activation", "seed"]).any()
    pd.testing.assert_frame_equal(final.iloc[: len(kept)], kept)


@pytest.mark.slow
@pytest.mark.timeout(900)  # ten subprocess sweeps and a resume: 160 s here
def test_kill_9_at_random_moments_never_corrupts_a_run(tiny_mnist, tmp_path):
    """Fault injection: SIGKILL (no handler runs) at 10 random moments of one sweep, each
    the k-th line of its progress (a group starting, an epoch, a trial saved: k drawn at
    random); after each, every saved file must read back cleanly, and the last resume
    finishes the run with every trial present once."""
    out, rng = tmp_path / "results", random.Random(0)
    base = ["--out", str(out), "--data-dir", str(tiny_mnist)]
    config = [
        "--no-download", "--batch-size", "10", "--epochs", "2", "--patience", "0",
        "--train-limit", "300", "--activations", "relu,tanh", "--seeds", "0-5",
        "--name", "chaos",
    ]  # fmt: skip
    for attempt in range(10):
        started = (out / "chaos" / "run.json").is_file()
        argv = ["sweep", "--resume", "chaos", *base] if started else ["sweep", *config, *base]
        proc = subprocess.Popen(
            [sys.executable, "-m", "actbench", *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        lines = rng.randint(1, 12)
        for _ in range(lines):  # the event: the k-th progress line
            if not proc.stderr.readline():
                break  # the sweep finished first
        proc.kill()
        _, stderr = proc.communicate(timeout=60)
        if proc.returncode == 0:
            assert "Traceback" not in stderr
        if (out / "chaos" / "run.json").is_file():
            folder = RunFolder(out / "chaos")
            trials = folder.trials()  # each read is validated: damage would raise
            folder.history(), folder.rounds(), folder.steps()
            assert not trials.duplicated(["activation", "seed"]).any(), attempt
    if not (out / "chaos" / "run.json").is_file():
        raise AssertionError("no kill came late enough to leave a run folder")
    final = subprocess.run(
        [sys.executable, "-m", "actbench", "sweep", "--resume", "chaos", *base, "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert final.returncode == 0, final.stderr
    trials = RunFolder(out / "chaos").trials()
    assert len(trials) == 18 and not trials.duplicated(["activation", "seed"]).any()
    steps = RunFolder(out / "chaos").steps()
    assert set(steps) == set(zip(trials["activation"], trials["seed"], strict=True))
