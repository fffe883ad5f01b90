import math

import pytest
import torch

from actbench import data
from actbench.config import SweepConfig
from actbench.device import Pinning
from actbench.step import make_optimizer
from actbench.task import Classification
from tests.conftest import train_alone


@pytest.fixture
def device_data(tiny_mnist):
    return data.prepare(data.load(tiny_mnist, download=False), torch.device("cpu"), 0.2)


def run(device_data, cfg, name="relu", seed=0, **kw):
    pinning = Pinning(torch.device("cpu"), "test cpu", 1, "0", False)
    return train_alone(cfg, device_data, name, seed, pinning, **kw)


def recorded_orders(monkeypatch):
    seen: list[torch.Tensor] = []
    real = data.Batches.order

    def spy(self):
        order = real(self)
        seen.append(order.clone())
        return order

    monkeypatch.setattr(data.Batches, "order", spy)
    return seen


def test_every_activation_sees_the_same_batches_in_the_same_order(device_data, monkeypatch):
    cfg = SweepConfig(hidden=(16,), batch_size=40, epochs=3, patience=0)
    orders = recorded_orders(monkeypatch)
    run(device_data, cfg, "relu", seed=5)
    relu_orders = list(orders)
    orders.clear()
    run(device_data, cfg, "sigmoid", seed=5)
    assert len(relu_orders) == 3 and all(
        torch.equal(a, b) for a, b in zip(relu_orders, orders, strict=True)
    )
    assert not torch.equal(relu_orders[0], relu_orders[1])  # reshuffled every epoch
    orders.clear()
    run(device_data, cfg, "relu", seed=6)
    assert not torch.equal(relu_orders[0], orders[0])


def test_learns_and_counts_steps_and_warmup(device_data):
    cfg = SweepConfig(hidden=(32,), batch_size=40, epochs=5, patience=0, warmup_steps=7)
    result = run(device_data, cfg)
    assert result.epochs == 5 and result.steps == 5 * (480 // 40)
    assert result.warmup_steps == 7 and result.step_us.size == result.steps - 7
    assert result.test_accuracy > 0.9  # the synthetic digits are easy
    assert result.us_per_step_p25 <= result.us_per_step_median <= result.us_per_step_p75
    assert 0 < result.timed_seconds < result.train_seconds
    assert [h.epoch for h in result.history] == [1, 2, 3, 4, 5]


def test_early_stopping_restores_the_best_validation_weights(device_data, monkeypatch):
    cfg = SweepConfig(hidden=(32,), batch_size=40, epochs=30, patience=2)
    losses = iter([0.9, 0.5, 0.7, 0.8, 0.4])
    real_evaluate = Classification().evaluate
    snapshots = {}

    def scripted(model, x, y):
        if x is device_data.x_test:
            return real_evaluate(model, x, y)
        epoch = len(snapshots) + 1
        snapshots[epoch] = [p.detach().clone() for p in model.parameters()]
        return next(losses), 0.5

    tested = {}
    real_load = torch.nn.Module.load_state_dict

    def spy_load(self, state, *a, **k):
        tested["weights"] = [v.clone() for v in state.values()]
        return real_load(self, state, *a, **k)

    monkeypatch.setattr(Classification, "evaluate", lambda self, *args: scripted(*args))
    monkeypatch.setattr(torch.nn.Module, "load_state_dict", spy_load)
    result = run(device_data, cfg)
    assert result.epochs == 4 and result.best_epoch == 2 and result.best_val_loss == 0.5
    assert all(torch.equal(a, b) for a, b in zip(tested["weights"], snapshots[2], strict=True))


def test_divergence_stops_the_trial_and_is_recorded(device_data):
    cfg = SweepConfig(hidden=(32,), batch_size=40, epochs=10, patience=0, optimizer="sgd", lr=1e6)
    result = run(device_data, cfg)
    assert result.diverged and result.diverged_epoch == result.epochs < 10
    assert math.isnan(result.history[-1].train_loss) or math.isinf(result.history[-1].train_loss)


def test_optimizer_prefers_fused_adam_on_cpu():
    params = [torch.nn.Parameter(torch.zeros(3))]
    adam = make_optimizer("adam", params, 1e-3, torch.device("cpu"))
    assert adam.defaults["fused"] is True
    assert isinstance(make_optimizer("sgd", params, 1e-2, torch.device("cpu")), torch.optim.SGD)


def test_epoch_records_say_where_the_time_went(device_data, tiny_config):
    result = run(device_data, tiny_config)
    for rec in result.history:
        assert rec.steps_seconds > 0 and rec.fetch_seconds > 0 and rec.eval_seconds > 0
        assert rec.steps_seconds + rec.fetch_seconds + rec.eval_seconds < rec.epoch_seconds
    timed = sum(rec.steps_seconds for rec in result.history)
    assert timed == pytest.approx(result.timed_seconds, rel=1e-6)


def test_validation_and_test_passes_use_the_untimed_threads(device_data, monkeypatch):
    """Steps run on the pinned count; the passes nobody times may use the wider one."""
    from actbench.step import EagerStep

    during_eval, during_steps = [], set()
    real_eval, real_step = Classification.evaluate, EagerStep.__call__

    def eval_spy(self, model, x, y):
        during_eval.append(torch.get_num_threads())
        return real_eval(self, model, x, y)

    def step_spy(self):
        during_steps.add(torch.get_num_threads())
        return real_step(self)

    monkeypatch.setattr(Classification, "evaluate", eval_spy)
    monkeypatch.setattr(EagerStep, "__call__", step_spy)
    torch.set_num_threads(1)
    pinning = Pinning(torch.device("cpu"), "test cpu", 1, "0", False, untimed_threads=2)
    cfg = SweepConfig(hidden=(16,), batch_size=40, epochs=2, patience=0)
    result = train_alone(cfg, device_data, "relu", 0, pinning)
    assert during_eval == [2, 2, 2]  # two validation passes, one test pass
    assert during_steps == {1} and torch.get_num_threads() == 1
    assert result.threads == 1


def test_an_epoch_of_480_steps_is_read_every_second_epoch_and_times_kernels_every_one(
    device_data,
):
    """480 training rows at batch 1: 480 steps an epoch, so readings (at least 800 steps
    apart, the first epoch always) fall on epochs 1 and 3 of 3 (hand count: ⌈800 / 480⌉ = 2),
    and the kernels' rounds (at least 400 apart) on every epoch (⌈400 / 480⌉ = 1)."""
    assert device_data.x_train.shape[0] == 480
    cfg = SweepConfig(hidden=(8,), batch_size=1, epochs=3, patience=0)
    result = run(device_data, cfg, "tanh")
    read = [e.epoch for e in result.history if not math.isnan(e.profile_activation_us)]
    timed = [e.epoch for e in result.history if not math.isnan(e.kernel_us)]
    probed = [e.epoch for e in result.history if not math.isnan(e.probe_seconds)]
    assert (read, timed, probed) == ([1, 3], [1, 2, 3], [1, 2, 3])
    assert result.profile_blocks == 2


def test_an_epoch_without_readings_leaves_the_trials_probe_seconds_a_number(device_data):
    """480 rows at batch 12: 40 steps an epoch, so of 3 epochs only the first is read (hand
    count: ⌈800 / 40⌉ = 20, ⌈400 / 40⌉ = 10); the others' NaN adds nothing to the trial's
    seconds of readings, which hold at least that one reading."""
    cfg = SweepConfig(hidden=(8,), batch_size=12, epochs=3, patience=0)
    result = run(device_data, cfg, "tanh")
    probed = [e.probe_seconds for e in result.history]
    assert probed[0] > 0 and all(math.isnan(p) for p in probed[1:])
    assert math.isfinite(result.profile_seconds) and result.profile_seconds >= probed[0]
