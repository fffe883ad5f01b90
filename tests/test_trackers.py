"""TensorBoard export, read back with TensorBoard's own event reader."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import actbench
from actbench import cli
from tests.conftest import in_process, make_mnist

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="pip install 'actbench[tensorboard]'",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    with in_process():
        return actbench.sweep(
            ["relu"], name="tb", device="cpu", threads=1, hidden=(16,), batch_size=25, epochs=3,
            patience=0, warmup_steps=5, round_steps=4, data_dir=make_mnist(root / "data"),
            download=False, out=root / "results", quiet=True, seeds=[0, 1],
        )  # fmt: skip


def read(path):
    events = event_accumulator.EventAccumulator(str(path), size_guidance={"scalars": 0})
    events.Reload()
    return events


def test_each_trials_curves_are_tensorboard_scalars(run, tmp_path, capsys):
    argv = ["export", "tb", "--out", str(run.path.parent), "--tensorboard", str(tmp_path)]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "tb")
    history = pd.read_csv(run.path / "history.csv")
    trials = pd.read_csv(run.path / "trials.csv")
    for trial in trials.itertuples():
        events = read(tmp_path / "tb" / f"{trial.activation}-seed{trial.seed}")
        mine = history[(history.activation == trial.activation) & (history.seed == trial.seed)]
        loss = events.Scalars("loss/train")
        assert [e.step for e in loss] == list(mine["epoch"])
        assert [e.value for e in loss] == pytest.approx(list(mine["train_loss"]), rel=1e-6)
        accuracy = events.Scalars("hparam/test_accuracy")[0].value
        assert accuracy == pytest.approx(trial.test_accuracy, rel=1e-6)
        assert events.PluginTagToContent("hparams")  # TensorBoard's HPARAMS tab reads it


def test_the_runs_table_is_one_hparams_session_per_activation(run, tmp_path):
    actbench.export(run, tensorboard=tmp_path)
    actbench.export(run, tensorboard=tmp_path)  # again: replaced, not doubled
    summary = pd.read_csv(run.path / "summary.csv").set_index("activation")
    relu = read(tmp_path / "tb" / "table" / "relu")
    cost = relu.Scalars("hparam/cost_pct")
    assert len(cost) == 1 and cost[0].value == pytest.approx(summary.loc["relu", "cost_pct"])
    identity = read(tmp_path / "tb" / "table" / "identity")
    assert "hparam/cost_pct" not in identity.Tags()["scalars"]  # the baseline has no cost


def test_without_the_extra_a_one_line_error(run, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    argv = ["export", "tb", "--out", str(run.path.parent), "--tensorboard", str(tmp_path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "actbench: error: exporting to TensorBoard needs the tensorboard package: "
        "pip install 'actbench[tensorboard]'"
    )
    assert not (tmp_path / "tb").exists()


def test_a_folder_that_is_not_an_export_is_left_alone(run, tmp_path, capsys):
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "notes.txt").write_text("mine")
    argv = ["export", "tb", "--out", str(run.path.parent), "--tensorboard", str(tmp_path)]
    assert cli.main(argv) == 2
    assert "not TensorBoard events" in capsys.readouterr().err
    assert (tmp_path / "tb" / "notes.txt").read_text() == "mine"
