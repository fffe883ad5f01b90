"""Interleaving changes when a trial trains, never what it learns."""

import numpy as np
import pytest
import torch

from actbench import activation, data, plan, schedule
from actbench.config import SweepConfig
from actbench.device import Pinning
from actbench.task import Classification
from tests.conftest import train_alone

PINNING = Pinning(torch.device("cpu"), "test cpu", 1, "0", False)


@pytest.fixture
def device_data(tiny_mnist):
    return data.prepare(data.load(tiny_mnist, download=False), torch.device("cpu"), 0.2)


def config(**kw) -> SweepConfig:
    base = dict(hidden=(16,), batch_size=40, epochs=5, patience=2, round_steps=5, warmup_steps=3)
    return SweepConfig(**{**base, **kw})


def learned(result) -> tuple:
    return (
        result.activation,
        result.test_accuracy,
        result.best_epoch,
        result.epochs,
        [(h.train_loss, h.val_loss, h.val_accuracy) for h in result.history],
    )


@pytest.mark.parametrize("mode", ["eager", pytest.param("compile", marks=pytest.mark.slow)])
def test_interleaved_trials_learn_exactly_what_they_learn_alone(device_data, mode):
    cfg = config(mode=mode)
    names = ["identity", "relu", "tanh", "sigmoid"]
    acts = [activation.resolve(n) for n in names]
    alone = {a.name: learned(train_alone(cfg, device_data, a.name, 3, PINNING)) for a in acts}
    trials = schedule.group(plan.build(cfg), device_data, acts, 3, PINNING)
    together = {r.activation: learned(r) for r in schedule.run(trials, "interleaved", seed=3)}
    assert together == alone


def test_interleaved_rounds_alternate_between_trials(device_data, monkeypatch):
    cfg = config(epochs=2, patience=0)
    acts = [activation.resolve(n) for n in ("relu", "tanh")]
    trials = schedule.group(plan.build(cfg), device_data, acts, 0, PINNING)
    order = []
    for trial in trials:
        real = trial.advance

        def spy(real=real, name=trial.activation.name):
            order.append(name)
            return real()

        monkeypatch.setattr(trial, "advance", spy)
    results = list(schedule.run(trials, "interleaved"))
    per_epoch = -(-(480 // 40) // 5)  # 12 steps per epoch in rounds of 5: 3 rounds
    assert len(order) == 2 * 2 * per_epoch
    for r in range(0, len(order), 2):  # every round, each trial exactly once
        assert sorted(order[r : r + 2]) == ["relu", "tanh"]
    rounds = results[0].rounds
    assert [r.round for r in rounds] == list(range(len(rounds)))
    assert sum(r.steps for r in rounds) == results[0].steps - results[0].warmup_steps
    assert rounds[0].steps == 2  # 3 warm-up steps are no part of any round
    for r in rounds:
        assert np.isfinite(r.us_median) and r.us_median > 0


def test_sequential_runs_each_trial_to_the_end_first(device_data):
    cfg = config(epochs=2, patience=0)
    acts = [activation.resolve(n) for n in ("relu", "tanh")]
    trials = schedule.group(plan.build(cfg), device_data, acts, 0, PINNING)
    advanced = []
    for trial in trials:
        real = trial.advance
        trial.advance = lambda real=real, name=trial.activation.name: (
            advanced.append(name) or real()
        )
    first = next(schedule.run(trials, "sequential"))
    assert first.activation == "relu" and set(advanced) == {"relu"}  # tanh never started


def test_a_trial_that_stops_early_is_handed_back_at_once(device_data, monkeypatch):
    cfg = config(epochs=30, patience=1)
    acts = [activation.resolve(n) for n in ("relu", "tanh")]
    trials = schedule.group(plan.build(cfg), device_data, acts, 0, PINNING)
    losses = {"relu": iter([0.5] * 40), "tanh": iter([1.0 - 0.01 * i for i in range(40)])}

    def scripted(model, x, y):
        name = "relu" if isinstance(model[1], torch.nn.ReLU) else "tanh"
        return (next(losses[name]), 0.5) if x is device_data.x_val else (0.1, 0.9)

    monkeypatch.setattr(Classification, "evaluate", lambda self, *args: scripted(*args))
    first = next(schedule.run(trials, "interleaved"))
    assert first.activation == "relu" and first.epochs == 2
    with pytest.raises(RuntimeError, match="has not finished"):
        trials[1].result()


def test_batches_replay_the_seeds_orders_for_a_trial_that_starts_over(device_data):
    batches = data.Batches(device_data.x_train, device_data.y_train, seed=7)
    epoch2 = batches.for_epoch(2)[1].clone()
    epoch1 = batches.for_epoch(1)[1].clone()  # a later trial starts from epoch 1 again
    assert torch.equal(batches.for_epoch(2)[1], epoch2)
    fresh = data.Batches(device_data.x_train, device_data.y_train, seed=7)
    assert torch.equal(fresh.for_epoch(1)[1], epoch1) and not torch.equal(epoch1, epoch2)


@pytest.mark.slow
def test_interleaved_compiled_trials_compile_once_each(device_data):
    from torch._dynamo.utils import counters

    cfg = config(mode="compile", epochs=2, patience=0)
    acts = [activation.resolve(n) for n in ("relu", "tanh", "sigmoid")]
    # every reset happens here
    trials = schedule.group(plan.build(cfg), device_data, acts, 0, PINNING)
    counters.clear()
    list(schedule.run(trials, "interleaved"))
    assert counters["stats"]["unique_graphs"] == 3  # no trial recompiles after another's setup


def test_a_pacer_is_cut_when_the_others_have_ended(device_data):
    """identity paces torch:log, whose NaNs end it at its first epoch's check; without a
    pacer identity trains all 5 epochs (patience 0), as a pacer it stops with the other
    (at most one more round after the other's last)."""
    cfg = config(patience=0)
    run = plan.build(cfg)
    acts = [activation.resolve("identity"), activation.resolve("torch:log")]
    alone = list(schedule.run(schedule.group(run, device_data, acts, 0, PINNING), "interleaved"))
    assert {r.activation: r.epochs for r in alone} == {"identity": 5, "torch:log": 1}
    trials = schedule.group(run, device_data, acts, 0, PINNING)
    paced = list(schedule.run(trials, "interleaved", paced=True))
    assert [r.activation for r in paced] == ["torch:log", "identity"]
    pacer = paced[1]
    assert pacer.epochs <= 1 and np.isnan(pacer.test_loss)
    assert max(r.epoch for r in pacer.rounds) <= 2
