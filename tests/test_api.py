"""The Python API: what a notebook user does, end to end on tiny data."""

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

import actbench
from actbench import cli, runner, sweep_flags
from tests.conftest import first_result_then_interrupt


def small(tiny_mnist, tmp_path, **extra):
    options = dict(
        device="cpu", threads=1, hidden=(32, 32), batch_size=50, epochs=2, patience=0,
        warmup_steps=5, data_dir=tiny_mnist, download=False, out=tmp_path / "results",
        quiet=True, seeds=[0],
    )  # fmt: skip
    return {**options, **extra}


def swish(x):
    return x * torch.sigmoid(x)


def test_sweep_takes_names_classes_and_callables(tiny_mnist, tmp_path):
    run = actbench.sweep(
        activations=[torch.nn.GELU, torch.sin, "relu", swish],
        name="api",
        **small(tiny_mnist, tmp_path),
    )
    names = ["torch.nn:GELU", "torch:sin", "relu", "tests.test_api:swish", "identity"]
    assert set(run.summary["activation"]) == set(names)
    assert isinstance(run.trials, pd.DataFrame) and len(run.trials) == 5
    assert run.record.environment.command.startswith(  # the call, not the host's argv
        "actbench.sweep(activations=['torch.nn:GELU', 'torch:sin', 'relu', "
        "'tests.test_api:swish'], name='api', device='cpu', threads=1, hidden=(32, 32), "
    )
    assert len(run.history) == 10 and run.path == tmp_path / "results" / "api"
    html = run._repr_html_()
    assert "<table" in html and "torch.nn:GELU" in html and "cost" in html
    assert "| relu" in run._repr_markdown_() and "api" in repr(run)
    figures = run.plot()
    # the scatter, learning curves, timeline, step breakdown and health
    assert all(isinstance(f, Figure) for f in figures.values()) and len(figures) == 5
    again = actbench.load("api", out=tmp_path / "results")
    pd.testing.assert_frame_equal(again.trials, run.trials)


def test_compare_returns_a_table_gate_and_picture(tiny_mnist, tmp_path):
    a = actbench.sweep(["relu"], name="a", **small(tiny_mnist, tmp_path))
    actbench.sweep(["relu"], name="b", **small(tiny_mnist, tmp_path))
    comparison = actbench.compare(a, "b", out=tmp_path / "results")
    assert set(comparison.table["activation"]) == {"relu", "identity"}
    assert "B/A [95% CI]" in comparison.text()
    verdict = comparison.gate(slower_pct=50)  # one seed a side: nothing a gate may test
    assert verdict.checked == 0 and verdict.failures == [] and verdict.outcome == "untested"
    assert {line.split(" ")[0] for line in verdict.unchecked} == {"relu", "identity"}
    assert isinstance(comparison.plot(), Figure)
    assert "A = a   B = b" in repr(comparison)


def test_options_are_the_clis_with_the_same_defaults():
    assert actbench.activations()[:5] == ["identity", "relu", "tanh", "sigmoid", "elu"]
    with pytest.raises(TypeError, match=r"unknown option.*epoch\b"):
        actbench.sweep(epoch=3)


def test_the_api_sweeps_with_the_clis_defaults(monkeypatch):
    """`actbench.sweep()` with no arguments asks for what `actbench sweep` with no flags
    asks for: the parser's defaults are the expectation."""
    asked = []

    def capture(config, quiet=False):
        asked.append(config)
        raise KeyboardInterrupt  # nothing trains

    monkeypatch.setattr(runner, "run", capture)
    with pytest.raises(KeyboardInterrupt):
        actbench.sweep()
    parser = cli.build_parser()
    from_cli = sweep_flags.config_from(parser.parse_args(["sweep"]))
    assert asked == [from_cli]


REFUSALS = [
    (["--batch-size", "0"], {"batch_size": 0}),
    (["--val-fraction", "1.5"], {"val_fraction": 1.5}),
    (["--momentum", "0.9"], {"momentum": 0.9}),
    (["--dataset", "airline", "--window", "200"], {"dataset": "airline", "window": 200}),
    (["--model", "lstm"], {"model": "lstm"}),
    (["--threads", "0"], {"threads": 0}),
    (["--seeds", "0,0"], {"seeds": [0, 0]}),
    (["--train-limit", "999999"], {"train_limit": 999_999}),
]


@pytest.mark.parametrize(("argv", "options"), REFUSALS)
def test_the_cli_and_the_api_refuse_in_the_same_words(argv, options, tiny_mnist, tmp_path, capsys):
    """The same refusal, each naming the parameter in its own terms: the CLI's line with
    every flag the parser knows spelled as its Python parameter is the API's message."""
    where = ["--data-dir", str(tiny_mnist), "--out", str(tmp_path), "--no-download"]
    assert cli.main(["sweep", *argv, *where]) == 2
    line = capsys.readouterr().err.strip().removeprefix("actbench: error: ")
    flags = {
        option: action.dest
        for action in cli.build_parser()._subparsers._group_actions[0].choices["sweep"]._actions
        for option in action.option_strings
    }
    python = re.sub(
        r"--[a-z-]+",
        lambda m: "download=False" if m[0] == "--no-download" else flags.get(m[0], m[0]),
        line,
    )
    assert "--" in line and "--" not in python
    with pytest.raises(actbench.ActbenchError) as caught:
        actbench.sweep(data_dir=tiny_mnist, out=tmp_path, download=False, **options)
    assert str(caught.value) == python


def test_bad_input_is_an_actbench_error_with_one_line(tiny_mnist, tmp_path):
    with pytest.raises(actbench.ActbenchError, match="not an activation") as caught:
        actbench.sweep([torch.sum], **small(tiny_mnist, tmp_path))
    assert "\n" not in str(caught.value)
    with pytest.raises(actbench.ActbenchError, match=r"^train_limit must be between") as caught:
        actbench.sweep(["relu"], train_limit=10_000, **small(tiny_mnist, tmp_path))
    assert "--" not in str(caught.value)  # worded for Python: parameters, not flags
    with pytest.raises(actbench.ActbenchError, match=r"^activations has an empty item"):
        actbench.sweep("relu,,tanh", **small(tiny_mnist, tmp_path))
    assert not (tmp_path / "results").exists()


def test_an_interrupted_sweep_returns_what_finished(tiny_mnist, tmp_path, monkeypatch):
    first_result_then_interrupt(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = actbench.sweep(["relu", "tanh"], name="cut", **small(tiny_mnist, tmp_path))
    assert len(run.trials) == 1 and run.info["status"] == "interrupted"
    rough = [w for w in caught if "timed steps" in str(w.message)]
    assert len(rough) == 1 and "--" not in str(rough[0].message)  # once, worded for Python
    assert "train_limit" in str(rough[0].message)
    assert rough[0].filename == __file__  # it points at the user's call, not into actbench
    assert any("actbench.resume(" in str(w.message) for w in caught)
    monkeypatch.undo()
    finished = actbench.resume(run)
    assert len(finished.trials) == 3 and finished.info["status"] == "complete"


def test_every_command_has_its_python_twin(tiny_mnist, tmp_path):
    """`list` and `env` too: nothing only the command line can reach."""
    actbench.sweep(["relu"], name="one", **small(tiny_mnist, tmp_path))
    assert [run.name for run in actbench.runs(tmp_path / "results")] == ["one"]
    info = actbench.env(device="cpu", threads=1)
    assert info["device"] == "cpu" and info["threads"] == 1 and "machine_key" in info
    with pytest.raises(actbench.ActbenchError, match="'tpu9' is not a device"):
        actbench.env(device="tpu9")


def test_env_previews_the_pins_and_leaves_the_process_as_it_was(capsys):
    """`env` applies the pins to say what a run would record, then hands the caller's
    threads and affinity back: a notebook's next cell, or the next test, keeps both CPUs."""
    import os

    from actbench import cli

    torch.set_num_threads(2)
    before = os.sched_getaffinity(0)
    info = actbench.env(device="cpu", threads=1, cpu_affinity=[0])
    assert info["threads"] == 1 and info["cpu_affinity"] == "0"
    assert cli.main(["env", "--device", "cpu", "--cpu-affinity", "0", "--format", "github"]) == 0
    assert "| cpu_affinity" in capsys.readouterr().out
    assert os.sched_getaffinity(0) == before and torch.get_num_threads() == 2


RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_a_run_s_table_is_data_with_plain_names():
    """The committed Quick start run (README's table: elu 97.54 %, +10.7 % [+10.3, +11.0],
    starred)."""
    t = actbench.load(RESULTS / "default").table
    elu = t[t.activation == "elu"]
    assert len(elu) == 1
    row = elu.iloc[0]
    assert row["test_accuracy_mean"] == pytest.approx(0.9754, abs=5e-5)  # a fraction
    assert round(row["cost_pct"], 1) == 10.7 and round(row["cost_pct_low"], 1) == 10.3
    assert round(row["gain_pts"], 2) == 5.50  # accuracy points, as the name says
    assert row["pareto"]  # starred, in a column of its own
    assert row["cost_no_interval"] == "" and row["timing"] == ""
    assert t["pareto"].dtype == bool and t["cost_pct"].dtype == float
    assert list(t.activation) == ["elu", "relu", "tanh", "sigmoid", "identity"]


def test_a_comparison_s_table_is_numbers_where_the_values_are_numbers():
    comparison = actbench.compare(RESULTS / "default", RESULTS / "default-again")
    t = comparison.table
    numeric = ["test_accuracy_a", "test_accuracy_b", "delta_pts", "delta_pts_low",
               "delta_pts_high", "level_a", "level_b", "ratio", "ratio_low", "ratio_high",
               "us_per_step_a", "us_per_step_b", "score_seeds", "seeds_a"]  # fmt: skip
    assert all(t[c].dtype == float for c in numeric), t.dtypes
    assert t["gated"].dtype == bool
    assert set(t["speed"]) <= {"faster", "slower", "same", "undecided"}
    assert len(t[t.activation == "elu"]) == 1 and 0.9 < t["test_accuracy_a"].iloc[0] < 1
