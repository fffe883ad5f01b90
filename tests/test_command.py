"""command.py: the command a run records is one its user can copy (expected lines by hand)."""

from __future__ import annotations

import json
import sys

from actbench import cli, command
from actbench.run_record import RunRecord


def test_python_m_actbench_is_named_so_not_by_its_main_s_path():
    argv = ["/tmp/wt1/actbench/__main__.py", "sweep", "--out", "runs", "--name", "a b"]
    assert command.from_argv(argv) == "python -m actbench sweep --out runs --name 'a b'"


def test_the_installed_script_and_other_programs_read_as_typed():
    assert command.from_argv(["/usr/local/bin/actbench", "sweep"]) == "actbench sweep"
    script = ["scripts/gate_check.py", "--json", "x.json"]
    assert command.from_argv(script) == "scripts/gate_check.py --json x.json"
    assert command.current(script) is None  # not actbench's own command line


def test_an_api_call_is_recorded_as_the_call():
    with command.invoked_as("actbench.sweep(activations=['relu'])"):
        assert command.current(["/x/ipykernel_launcher.py", "-f", "k.json"]) == (
            "actbench.sweep(activations=['relu'])"
        )
    assert command.current(["/x/ipykernel_launcher.py"]) is None


def test_a_run_saved_before_gets_a_copyable_command_from_its_argv():
    """results/default's argv, as recorded by a temporary worktree's __main__.py."""
    argv = ["/tmp/wt1/actbench/__main__.py", "sweep", "--out", "/tmp/t", "--name", "default"]
    record = RunRecord.from_dict(
        {"config": {"activations": ["relu"], "seeds": [0]}, "environment": {"argv": argv}}
    )
    assert record.environment.command == "python -m actbench sweep --out /tmp/t --name default"


def test_a_sweep_records_the_command_with_its_relative_paths(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["sweep", "--activations", "relu", "--seeds", "0", "--epochs", "1", "--device",
            "cpu", "--hidden", "16", "--data-dir", "data", "--no-download", "--out", "runs",
            "--name", "r", "--quiet"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "src" / "actbench" / "__main__.py"), *args])
    assert cli.main(args) == 0
    saved = json.loads((tmp_path / "runs" / "r" / "run.json").read_text())["environment"]
    assert saved["command"] == (
        "python -m actbench sweep --activations relu --seeds 0 --epochs 1 --device cpu "
        "--hidden 16 --data-dir data --no-download --out runs --name r --quiet"
    )
    assert saved["argv"][0].endswith("__main__.py")  # as Python got it: what remake reruns
