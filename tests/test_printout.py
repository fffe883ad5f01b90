import subprocess
from pathlib import Path

import pandas as pd
import pytest

from actbench import cli, printout, schema
from actbench import summary as summary_mod
from actbench.config import SweepConfig
from actbench.run_record import RunRecord
from actbench.storage import RunFolder


def run_info(device="cpu", threads=2, environment=True) -> RunRecord:
    return RunRecord.from_dict(
        {
            "config": {"activations": ["relu"], "seeds": [0]},
            **({"environment": {"device": device, "threads": threads}} if environment else {}),
            "timer_overhead_us": 0.1,
        }
    )


def summary(timing: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "activation": [f"a{i}" for i in range(len(timing))],
            "us_per_step_median": [1000.0] * len(timing),
            "timing": timing,
        }
    )


def test_disturbed_multithreaded_cpu_steps_get_the_one_thread_advice():
    text = printout.advice(run_info(), summary(["IQR 39% of median", "", "mean 1.3× median"]))
    assert text.startswith("note: 2 of 3 activations had disturbed step times on 2 CPU threads")
    assert "--threads 1" in text


def test_no_advice_when_nothing_was_disturbed_or_it_would_not_help():
    disturbed = summary(["IQR 39% of median"])
    assert printout.advice(run_info(), summary(["", ""])) == ""
    assert printout.advice(run_info(threads=1), disturbed) == ""  # already one thread
    assert printout.advice(run_info(device="cuda:0"), disturbed) == ""  # threads are not it
    assert printout.advice(run_info(environment=False), disturbed) == ""  # none recorded


def test_the_advice_is_printed_under_the_footer():
    trials = pd.DataFrame(
        {
            "activation": ["relu", "tanh"],
            "seed": [0, 0],
            "test_accuracy": [0.97, 0.96],
            "us_per_step_median": [1000.0, 1100.0],
            "us_per_step_p25": [990.0, 700.0],  # tanh: IQR 45 % of its median
            "us_per_step_p75": [1010.0, 1200.0],
            "us_per_step_mean": [1001.0, 1150.0],
            "epochs": [3, 3],
            "steps": [1050, 1050],
            "warmup_steps": [50, 50],
            "diverged": [False, False],
            "diverged_epoch": [None, None],
        }
    )
    summary = summary_mod.summarize(schema.upgrade_trials(trials))
    lines = printout.printed(run_info(), summary, "github").splitlines()
    timer = next(i for i, line in enumerate(lines) if line.startswith("timer overhead:"))
    assert lines[timer + 1].startswith("note: 1 of 2") and "--threads 1" in " ".join(lines)


def test_show_of_a_default_run_fits_a_100_column_terminal():
    """The committed Quick start run, as `show` prints it by default: every line fits."""
    folder = RunFolder(Path(__file__).resolve().parents[1] / "results" / "default")
    for fmt in ("github", "rounded_grid"):
        text = printout.show_text(folder, fmt, wide=False)
        assert max(len(line) for line in text.splitlines()) <= 100, fmt
    wide = printout.show_text(folder, "github", wide=True)
    assert max(len(line) for line in wide.splitlines()) > 100  # --wide: every column


def test_compare_and_list_fit_a_100_column_terminal(capsys):
    results = str(Path(__file__).resolve().parents[1] / "results")
    for argv in (
        ["compare", f"{results}/default", f"{results}/default-repeat"],
        ["list", "--out", results],
    ):
        for fmt in ("github", "rounded_grid"):
            assert cli.main([*argv, "--format", fmt]) == 0
            out = capsys.readouterr().out
            assert max(len(line) for line in out.splitlines()) <= 100, (argv[0], fmt)


def test_your_runs_go_beside_your_work_and_git_ignores_them():
    """A user's runs never mix with the examples: the default --out is actbench-runs/,
    which the repository's .gitignore ignores, and results/ holds only what it tracks."""
    root = Path(__file__).resolve().parents[1]
    args = cli.build_parser().parse_args(["sweep"])
    assert args.out == Path("actbench-runs") and SweepConfig().out == Path("actbench-runs")
    ignored = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", "actbench-runs/x"])
    assert ignored.returncode == 0


def test_an_example_is_not_redrawn_by_its_name(capsys, monkeypatch):
    """`plot default` looks under actbench-runs/: the tracked pictures stay as they are."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    before = {p: p.stat().st_mtime_ns for p in (root / "results" / "default").glob("*.png")}
    assert cli.main(["plot", "default"]) == 2
    assert "looked for default/run.json and actbench-runs/default/run.json" in (
        capsys.readouterr().err
    )
    assert {p: p.stat().st_mtime_ns for p in before} == before


@pytest.mark.slow  # 17 activations x 2 seeds: half a minute on two cores
def test_a_short_all_activations_sweep_stars_nothing_without_an_interval(tiny_config):
    """Every built-in, one epoch of 9 steps on two seeds (4 of them warm-up, half the trial):
    too few rounds for any cost interval, so no row is starred, every cost cell says why,
    and the notes say so."""
    from dataclasses import replace

    from actbench import runner

    config = replace(tiny_config, activations=["all"], seeds=[0, 1], epochs=1, warmup_steps=50)
    outcome = runner.run(config, quiet=True)
    summary = outcome.summary
    assert len(summary) == 17 and not summary["pareto"].any()
    text = printout.printed(outcome.folder.info(), summary, "github", wide=False)
    lines = text.splitlines()
    rows = lines[2 : next(i for i, line in enumerate(lines) if not line.startswith("|"))]
    assert len(rows) == 17 and not any(" *" in row.split("|")[1] for row in rows)
    costs = [row.split("|")[4].strip() for row in rows if "baseline" not in row]
    assert len(costs) == 16 and all(c.endswith(" (no CI: short)") for c in costs)
    prose = " ".join(text.split())  # as wrapped to 100 columns
    assert "no CI: no cost has an interval (1 round a seed; an interval needs 5)" in prose
    assert "warm-up: 4 steps excluded per trial, not the 50 asked" in prose
    markdown = (outcome.folder.path / "summary.md").read_text(encoding="utf-8")
    assert (
        "warm-up steps excluded per trial: 4 (50 asked; a trial keeps half its steps)" in markdown
    )
    assert "- no CI: no cost has an interval" in markdown


def test_the_health_legend_counts_the_rows_the_probe_read(capsys):
    """airline's validation split is 12 windows, MNIST's 12 000 rows (the probe reads the
    first 1000); a short sweep's 400 rows are all read."""
    results = Path(__file__).resolve().parents[1] / "results"
    assert cli.main(["show", str(results / "airline-lstm"), "--format", "plain"]) == 0
    assert "Health on all 12 validation windows after each epoch read" in " ".join(
        capsys.readouterr().out.split()
    )
    run = RunFolder(results / "default").info()
    assert "Health on 1000 fixed validation rows after" in printout.health_caption(run)
    info = RunFolder(results / "default").run_info()
    info["data"]["val"] = 400
    short = RunRecord.from_dict(info)
    assert "Health on all 400 validation rows after" in printout.health_caption(short)
