"""Datasets beyond MNIST: Fashion-MNIST and KMNIST (synthetic IDX files the tests write),
the packaged airline-passenger series, its LSTM, and RMSE all the way to compare."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from actbench import (
    activation,
    cli,
    comparison,
    dataset,
    gate,
    printout,
    runner,
    schema,
    series,
    stats,
)
from actbench.config import SweepConfig
from actbench.data import FILES, IMAGE_MAGIC, LABEL_MAGIC
from actbench.errors import ActbenchError
from actbench.model import build_lstm
from actbench.run_record import RunRecord
from actbench.storage import RunFolder
from tests.conftest import fake_trial, synthetic_digits, write_idx


def make_images(root: Path, folder: str, n_train: int = 600, n_test: int = 200) -> Path:
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for train, n, seed in ((True, n_train, 3), (False, n_test, 4)):
        images, labels = synthetic_digits(n, seed)
        write_idx(raw / FILES[train][0], images, IMAGE_MAGIC)
        write_idx(raw / FILES[train][1], labels, LABEL_MAGIC)
    return root


def image_config(tmp_path: Path, name: str, **kw) -> SweepConfig:
    return SweepConfig(
        activations=["relu"],
        device="cpu",
        threads=1,
        hidden=(32,),
        batch_size=50,
        epochs=2,
        patience=0,
        warmup_steps=2,
        data_dir=tmp_path / "data",
        download=False,
        out=tmp_path / "results",
        name=name,
        **kw,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "folder"), [("fashion-mnist", "FashionMNIST"), ("kmnist", "KMNIST")]
)
def test_mnist_siblings_load_and_train(tmp_path, name, folder):
    make_images(tmp_path / "data", folder)
    outcome = runner.run(image_config(tmp_path, name, dataset=name), quiet=True)
    trials = outcome.folder.trials()
    assert set(trials["activation"]) == {"identity", "relu"}
    assert trials["test_accuracy"].between(0, 1).all()
    info = outcome.folder.run_info()
    assert info["config"]["dataset"] == name and info["metric"] == "accuracy"
    assert info["data"]["dir"] == str(tmp_path / "data") and info["data"]["reader"] == "idx"
    # each set is standardised with its own statistics, not MNIST's
    source = dataset.DATASETS[name].source
    assert source.folder == folder and (source.mean, source.std) != (0.1307, 0.3081)


def test_a_missing_sibling_names_the_folder_it_looked_in(tmp_path, capsys):
    make_images(tmp_path / "data", "MNIST")  # MNIST is there, KMNIST is not
    argv = ["sweep", "--dataset", "kmnist", "--data-dir", str(tmp_path / "data")]
    assert cli.main([*argv, "--no-download", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"no KMNIST data in {tmp_path / 'data' / 'KMNIST' / 'raw'}" in err
    assert not (tmp_path / "r").exists()  # refused before a run folder exists


def test_a_missing_fashion_mnist_names_its_four_files_and_where_they_go(tmp_path, capsys):
    argv = ["sweep", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "data")]
    assert cli.main([*argv, "--no-download", "--out", str(tmp_path / "r")]) == 2
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    assert capsys.readouterr().err.strip() == (
        f"actbench: error: no Fashion-MNIST data in {raw}; put the four Fashion-MNIST IDX "
        "files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        f"t10k-labels-idx1-ubyte; plain or .gz) in {raw} (torchvision's layout), point "
        "--data-dir or $ACTBENCH_DATA at the folder that holds FashionMNIST/, or drop "
        "--no-download"
    )


def test_the_packaged_series_is_verified():
    values = series.read()
    assert values.size == 144 and values.sum() == 40363
    assert (values[0], values[-1], values.max()) == (112, 432, 622)
    assert values[:12].sum() == 1520 and values[-12:].sum() == 5714


@pytest.mark.parametrize(
    ("edit", "fact"),
    [
        (lambda rows: rows[:-1], "values 143"),
        (lambda rows: [rows[0], "1949-01,113", *rows[2:]], "total 40364"),
        (lambda rows: [rows[0], *rows[2:], rows[1]], "first value 118"),
    ],
)
def test_a_damaged_series_is_refused_in_one_line(edit, fact):
    path = Path(series.__file__).parent / "series_data" / series.AIRLINE_SOURCE.file
    rows = path.read_text().splitlines()
    with pytest.raises(ActbenchError, match=fact) as caught:
        series.parse("\n".join(edit(rows)), series.AIRLINE_SOURCE, "copy.csv")
    assert "\n" not in str(caught.value)


def test_windows_split_in_time_order():
    values = series.read()
    data = series.prepare(values, torch.device("cpu"), window=10, val_fraction=0.1)
    assert data.x_train.shape == (109, 10, 1) and data.y_train.shape == (109, 1)
    assert data.x_val.shape[0] == 12 and data.x_test.shape[0] == 13  # Keras' last 10 %
    scaled = (values - 104) / 518
    assert data.y_test[-1].item() == pytest.approx(scaled[-1])  # December 1960 is tested
    assert data.x_train[0, :, 0].numpy() == pytest.approx(scaled[:10], abs=1e-6)
    assert data.y_val[0].item() == pytest.approx(scaled[10 + 109])
    assert data.target_scale == 518
    with pytest.raises(ActbenchError, match=r"^window must be between 1 and 142"):
        series.windows(scaled, 143)


def test_the_lstm_cell_is_a_standard_lstm_when_its_activation_is_tanh():
    """Same weights, same input: our written-out cell computes what nn.LSTM computes."""
    model = build_lstm((6, 5), activation.resolve("tanh"), seed=3)
    first, second = nn.LSTM(1, 6, batch_first=True), nn.LSTM(6, 5, batch_first=True)
    for ours, theirs in ((model[0], first), (model[1], second)):
        H = ours.hidden
        # ours: [i, f, o, g]; torch's: [i, f, g, o]
        i_f, o, g = torch.arange(0, 2 * H), torch.arange(2 * H, 3 * H), torch.arange(3 * H, 4 * H)
        order = torch.cat([i_f, g, o])
        with torch.no_grad():
            theirs.weight_ih_l0.copy_(ours.project.weight[order])
            theirs.bias_ih_l0.copy_(ours.project.bias[order])
            theirs.weight_hh_l0.copy_(ours.recurrent.weight[order])
            theirs.bias_hh_l0.zero_()
    x = torch.randn(4, 10, 1)
    expected = second(first(x)[0])[0][:, -1]
    got = model[:2](x)
    assert torch.allclose(got, expected, atol=1e-6)


def test_every_activation_starts_the_lstm_from_the_same_weights():
    a = build_lstm((6, 6), activation.resolve("tanh"), seed=0).state_dict()
    b = build_lstm((6, 6), activation.resolve("relu"), seed=0).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    c = build_lstm((6, 6), activation.resolve("relu"), seed=1).state_dict()
    assert not torch.equal(a["0.project.weight"], c["0.project.weight"])


def airline_config(tmp_path: Path, name: str, **kw) -> SweepConfig:
    options = dict(
        dataset="airline",
        activations=["tanh", "relu"],
        device="cpu",
        threads=1,
        epochs=3,
        warmup_steps=5,
        seeds=[0, 1, 2],
        out=tmp_path / "results",
        name=name,
    )
    return SweepConfig(**{**options, **kw})


@pytest.mark.slow
def test_airline_sweep_scores_rmse_with_the_articles_defaults(tmp_path):
    outcome = runner.run(airline_config(tmp_path, "air"), quiet=True)
    info = outcome.folder.run_info()
    assert info["metric"] == "rmse"
    assert info["dataset_defaults"] == {
        "model": "lstm",
        "hidden": [6],
        "batch_size": 1,
        "patience": 0,
        "val_fraction": 0.1,
        "window": 10,
    }
    trials = outcome.folder.trials()
    assert trials["test_accuracy"].isna().all() and (trials["test_rmse"] > 0).all()
    raw = trials["test_rmse"] * 518  # in thousands of passengers
    assert np.allclose(trials["test_rmse_raw"], raw)
    assert (trials["steps"] == 3 * 109).all()  # batch 1: one step per training window
    history = outcome.folder.history()
    assert history["val_accuracy"].isna().all() and (history["val_rmse"] > 0).all()
    summary = outcome.summary.set_index("activation")
    best = summary["test_rmse_mean"].idxmin()
    assert summary.index[0] == best  # lower RMSE is better: it comes first
    gain = summary.loc["tanh", "test_rmse_mean"] - summary.loc["identity", "test_rmse_mean"]
    assert summary.loc["tanh", "gain"] == pytest.approx(-gain)  # a reduction is a gain
    text = (outcome.folder.path / "summary.md").read_text()
    assert "test RMSE (mean ± std)" in text and "thousand passengers" in text
    assert "dataset: airline; model: LSTM 6 -> Dense 1, window 10" in text


@pytest.mark.slow
def test_the_lstm_trains_the_same_interleaved_or_alone(tmp_path):
    a = runner.run(airline_config(tmp_path, "i", seeds=[0], hidden=(4, 3)), quiet=True)
    b = runner.run(
        airline_config(tmp_path, "s", seeds=[0], hidden=(4, 3), schedule="sequential"), quiet=True
    )
    ta = a.folder.trials().set_index("activation")
    tb = b.folder.trials().set_index("activation")
    assert ta["test_rmse"].to_dict() == tb["test_rmse"].to_dict()


def accuracy_run(out: Path, name: str) -> RunFolder:
    folder = RunFolder.create(out, name)
    folder.write_run({"name": name, "config": {"activations": ["tanh"], "seeds": [0]}})
    folder.add_trial(fake_trial("tanh", 0))
    return folder


def rmse_run(out: Path, name: str, rmse: dict[int, float]) -> RunFolder:
    folder = RunFolder.create(out, name)
    config = {"dataset": "airline", "activations": ["tanh"], "seeds": sorted(rmse)}
    folder.write_run({"name": name, "metric": "rmse", "config": config})
    for seed, value in rmse.items():
        trial = fake_trial("tanh", seed)
        trial.test_accuracy, trial.test_rmse = math.nan, value
        folder.add_trial(trial)
    return folder


def test_compare_reads_rmse_the_right_way_round(tmp_path):
    a = rmse_run(tmp_path, "a", {0: 0.150, 1: 0.160, 2: 0.170, 3: 0.155})
    b = rmse_run(tmp_path, "b", {0: 0.180, 1: 0.192, 2: 0.199, 3: 0.186})  # ~0.03 higher
    comp = comparison.compare(a, b)
    row = comp.rows.set_index("activation").loc["tanh"]
    assert row["metric"] == "rmse" and row["delta"] == pytest.approx(0.03, abs=0.002)
    assert row["score_verdict"] == "worse"  # higher RMSE
    assert comparison.compare(b, a).rows.loc[0, "score_verdict"] == "better"
    assert gate.gate(comp, None, 0.1).failures == []  # within a 0.1 RMSE margin
    (failure,) = gate.gate(comp, None, 0.01).failures
    assert failure.startswith("tanh: 0.03") and "RMSE worse in b" in failure


def test_compare_refuses_runs_scored_differently(tmp_path):
    a, b = rmse_run(tmp_path, "a", {0: 0.15}), accuracy_run(tmp_path, "b")
    with pytest.raises(ActbenchError, match=r"scored by rmse.*scored by accuracy"):
        comparison.compare(a, b)


def test_metric_delta_direction():
    d = stats.metric_delta({0: 0.1, 1: 0.2, 2: 0.3}, {0: 0.2, 1: 0.31, 2: 0.4}, scale=1, sign=-1)
    assert d.delta > 0 and d.worse_by > 0 and d.verdict() == "worse"
    assert d.p_worse_than(0.5) > 0.5 and d.p_worse_than(0.0) < 0.05


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "airline", "--model", "mlp"], "--model mlp does not fit --dataset airline"),
        (
            ["--model", "lstm"],
            "--model lstm does not fit --dataset mnist; use mlp or mlp-linear-last or cnn",
        ),
        (["--window", "5"], "--window applies to series"),
        (["--momentum", "0.9"], "--momentum applies to --optimizer sgd"),
        (["--dataset", "airline", "--train-limit", "50"], "--train-limit applies to image"),
        (["--dataset", "airline", "--window", "150"], "--window must be between 1 and 142"),
    ],
)
def test_mismatches_are_one_line_refusals(tmp_path, capsys, argv, message):
    assert cli.main(["sweep", *argv, "--out", str(tmp_path / "r"), "--no-download"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "r").exists()


def test_old_sgd_runs_had_momentum():
    """Before --momentum, actbench's SGD had momentum 0.9: an old run.json reads so, in
    the table's header and in compare alike."""

    def momentum(config: dict) -> float:
        return schema.upgrade({"config": config})["config"]["momentum"]

    assert momentum({"optimizer": "sgd"}) == 0.9
    assert momentum({"optimizer": "adam"}) == 0.0
    assert momentum({"optimizer": "sgd", "momentum": 0.0}) == 0.0

    def record(config: dict) -> RunRecord:
        return RunRecord.from_dict({"config": {"activations": ["relu"], "seeds": [0], **config}})

    old = record({"optimizer": "adam"})
    new = record({"optimizer": "adam", "momentum": 0.0})
    assert comparison.differences(old, new) == ([], [])
    sgd = record({"optimizer": "sgd", "lr": 0.01}).config
    assert printout._optimizer(sgd) == "sgd lr 0.01 momentum 0.9"


def test_siblings_need_no_torchvision_when_their_files_are_there(tmp_path, no_torchvision):
    from actbench import data

    make_images(tmp_path / "data", "KMNIST")
    images = data.load(tmp_path / "data", download=False, source=data.KMNIST_SOURCE)
    assert images.reader == "idx" and images.train_images.shape == (600, 28, 28)


def test_the_python_api_takes_the_dataset_and_its_defaults(tmp_path):
    import actbench

    run = actbench.sweep(
        ["tanh"], dataset="airline", epochs=2, seeds=[0], threads=1, out=tmp_path, quiet=True
    )
    assert run.info["config"]["hidden"] == [6] and run.info["config"]["batch_size"] == 1
    assert "test RMSE (mean ± std)" in run.text()
    assert {"test_rmse_mean", "gain_rmse"} <= set(run.table.columns)  # typed, named by unit
    with pytest.raises(actbench.ActbenchError, match="momentum applies to optimizer sgd"):
        actbench.sweep(["tanh"], momentum=0.9, out=tmp_path, quiet=True)


def test_runs_scored_differently_are_not_drawn_together(tmp_path):
    from actbench import plot

    a, b = rmse_run(tmp_path, "a", {0: 0.15}), accuracy_run(tmp_path, "b")
    with pytest.raises(ActbenchError, match=r"different metrics \(accuracy, rmse\)"):
        plot.overlay([a, b])
