"""scripts/remake.py: the command each recorded result is made again with, and the commit
column it sets (expected commands written by hand from the recorded argv below)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scripts import remake


def result(path: Path, argv: list[str], commit: str = "0123456789abcdef") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {"argv": argv, "git_commit": commit, "git_dirty": False}
    path.write_text(json.dumps({"environment": env}))
    return path


def test_a_sweep_is_made_again_into_the_scratch_folder_under_its_own_name(tmp_path):
    run = result(
        tmp_path / "results" / "default" / "run.json",
        [
            "/tmp/wt1/actbench/__main__.py",
            "sweep",
            "--out",
            "/tmp/m/runs",
            "--name",
            "default",
            "--device",
            "cpu",
        ],
    )
    job = remake.job_for(run, tmp_path / "s", tmp_path / "results")
    # run in the scratch folder, with the relative --out the made run records as its command
    assert job.argv == [
        sys.executable,
        "-m",
        "actbench",
        "sweep",
        "--out",
        "runs",
        "--name",
        "default",
        "--device",
        "cpu",
    ]
    assert job.in_scratch and job.copies == [(tmp_path / "s" / "runs" / "default", run.parent)]


def test_a_sweep_recorded_with_its_command_is_made_from_its_argv(tmp_path):
    """A run saved since runs recorded `command` keeps `argv` as Python got it: remake
    reads argv, as for older runs."""
    run = result(
        tmp_path / "results" / "r" / "run.json",
        ["/abs/actbench/__main__.py", "sweep", "--out", "runs", "--seeds", "0-1"],
    )
    saved = json.loads(run.read_text())
    saved["environment"]["command"] = "python -m actbench sweep --out runs --seeds 0-1"
    run.write_text(json.dumps(saved))
    job = remake.job_for(run, tmp_path / "s", tmp_path / "results")
    assert job.argv[1:] == ["-m", "actbench", "sweep", "--out", "runs", "--seeds", "0-1",
                            "--name", "r"]  # fmt: skip


def test_a_sweep_without_a_name_gets_its_folder_s_name(tmp_path):
    run = result(tmp_path / "results" / "x" / "run.json", ["a/__main__.py", "sweep", "--quiet"])
    job = remake.job_for(run, tmp_path / "s", tmp_path / "results")
    assert job.argv[3:] == ["sweep", "--quiet", "--out", "runs", "--name", "x"]


def test_a_script_writes_its_json_and_kept_sweeps_to_scratch_and_reads_the_committed_file(
    tmp_path,
):
    results = tmp_path / "results"
    (results / "breakdown_check").mkdir(parents=True)
    made = result(
        results / "breakdown_check-cpu.json",
        [
            "scripts/breakdown_check.py",
            "--keep",
            "/tmp/bc",
            "--json",
            "/tmp/b.json",
            "--against",
            "/tmp/m2/other.json",
            "--",
            "--jobs",
            "1",
        ],
    )
    s = tmp_path / "s"
    job = remake.job_for(made, s, results)
    assert job.argv == [
        sys.executable,
        "scripts/breakdown_check.py",
        "--keep",
        str(s / "keep"),
        "--json",
        str(s / "breakdown_check-cpu.json"),
        "--against",
        str(results / "other.json"),
        "--",
        "--jobs",
        "1",
    ]
    assert job.copies == [
        (s / "breakdown_check-cpu.json", made),
        (s / "keep", results / "breakdown_check"),
    ]


def test_a_kept_folder_the_repository_does_not_track_is_not_copied(tmp_path):
    made = result(
        tmp_path / "results" / "calibrate_disturbance-cpu.json",
        ["scripts/calibrate_disturbance.py", "--keep", "/tmp/c", "--json", "/x.json"],
    )
    job = remake.job_for(made, tmp_path / "s", tmp_path / "results")
    assert [target for _, target in job.copies] == [made]


def test_results_that_read_another_come_last(tmp_path):
    a = result(tmp_path / "a.json", ["scripts/r.py", "--against", "/tmp/b.json"])
    b = result(tmp_path / "b.json", ["scripts/r.py"])
    assert remake.ordered([a, b]) == [b, a]


def test_the_made_by_cell_of_the_named_rows_is_set():
    text = (
        "| result | what | command | made by |\n|---|---|---|---|\n"
        "| [`default/`](../results/default/) | the sweep | `python -m actbench` | `aaaaaaaaa` |\n"
        "| [`g.json`](../results/g.json), [`g/`](../results/g/) | a | `s.py` | `bbbbbbbbb` |\n"
    )
    out = remake.with_commits(text, {"results/g.json": "c" * 40})
    assert out == text.replace("`bbbbbbbbb`", "`ccccccccc`")


def test_a_kernel_probe_is_made_again_by_its_command_writing_its_json_to_scratch(tmp_path):
    results = tmp_path / "results"
    argv = ["/x/actbench/__main__.py", "kernels", "--activations", "elu", "--json", "/tmp/k.json"]
    made = result(results / "kernels-cpu.json", argv)
    s = tmp_path / "s"
    job = remake.job_for(made, s, results)
    assert job.argv == [
        sys.executable, "-m", "actbench", "kernels", "--activations", "elu",
        "--json", str(s / "kernels-cpu.json"),
    ]  # fmt: skip
    assert job.copies == [(s / "kernels-cpu.json", made)] and not job.in_scratch
