"""The breakdown charges each part of a step, forward and backward, to what ran there."""

import pytest
import torch
from torch import nn

from actbench import activation, breakdown, clock
from actbench.activation import Activation
from actbench.model import builtin
from actbench.records import PROFILE_PARTS
from actbench.step import StepSettings


def data(model: str = "mlp"):
    shape = (1, 28, 28) if model == "cnn" else (784,)
    g = torch.Generator().manual_seed(0)
    return torch.randn(200, *shape, generator=g), torch.randint(0, 10, (200,), generator=g)


def measure(act: Activation, model: str = "mlp") -> dict[str, float]:
    x, y = data(model)
    architecture = builtin(model, (64, 64))
    twin = breakdown.Profiler(architecture, act, StepSettings(batch_size=50), x, y)
    return twin.block(x, y)  # one block, as a trial's first epoch read runs it


class FakeClock:
    """A clock that only moves when told to (and by one tick per reading), so a part's
    time is a count we can make by hand."""

    def __init__(self) -> None:
        self.t = 0

    def __call__(self) -> int:
        self.t += 1
        return self.t


CLOCK = FakeClock()
FORWARD_TICKS, BACKWARD_TICKS = 10_000, 20_000


class _Slow(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        CLOCK.t += FORWARD_TICKS
        return x * 1.0

    @staticmethod
    def backward(ctx, grad):
        CLOCK.t += BACKWARD_TICKS
        return grad


class Slow(nn.Module):
    """An activation whose forward and backward each take a known time on the fake clock."""

    def forward(self, x):
        return _Slow.apply(x)


def test_an_activations_forward_and_backward_land_in_its_part(monkeypatch):
    monkeypatch.setattr(clock.time, "perf_counter_ns", CLOCK)  # the one clock's stamps
    parts = measure(Activation("slow", Slow))
    layers = 2  # builtin(mlp, (64, 64)): an activation after each hidden layer
    expected = layers * (FORWARD_TICKS + BACKWARD_TICKS) / 1e3  # ticks are ns; parts are µs
    # plus one tick per reading of the clock inside each bracket: a few µs at most
    assert expected <= parts["activation"] < expected + 0.1
    for part in ("matmul", "loss", "optimizer"):
        assert parts[part] < 0.1, part  # nothing of the activation leaks into its neighbours


def test_parts_add_up_to_the_step_and_other_is_the_rest():
    steps = [
        {"activation": 10.0, "matmul": 50.0, "loss": 5.0, "optimizer": 5.0, "other": 3.0,
         "step": 100.0},
        {"activation": 12.0, "matmul": 52.0, "loss": 5.0, "optimizer": 7.0, "other": 0.0,
         "step": 110.0},
        {"activation": 11.0, "matmul": 60.0, "loss": 6.0, "optimizer": 6.0, "other": 1.0,
         "step": 120.0},
    ]  # fmt: skip
    parts = breakdown.parts_of(steps)
    # by hand: other = step - (activation + matmul + loss + optimizer), then medians
    assert parts == {"activation": 11.0, "matmul": 52.0, "loss": 5.0, "optimizer": 6.0,
                     "other": 34.0}  # fmt: skip


def test_identity_has_no_backward_and_the_rest_is_attributed():
    parts = measure(activation.resolve("identity"))
    assert set(parts) == set(PROFILE_PARTS)
    for part in ("matmul", "loss", "optimizer", "other"):
        assert parts[part] > 0, part


@pytest.mark.parametrize(
    ("name", "node"),
    [("relu", "ReluBackward0"), ("elu", "EluBackward0"), ("torch:sin", "SinBackward0")],
)
def test_the_nodes_an_activation_creates_are_its_own(name, node):
    module = activation.resolve(name).make()
    z = torch.randn(4, 3, requires_grad=True)
    h = z * 2  # the input has a history of its own, which the walk must stop at
    nodes = breakdown._created_by(module(h), (h,))
    assert [type(n).__name__ for n in nodes] == [node]


def test_a_linear_layer_owns_its_matmul_and_its_weights_accumulation():
    layer = nn.Linear(3, 2)
    x = torch.randn(4, 3)
    names = sorted(type(n).__name__ for n in breakdown._created_by(layer(x), (x,)))
    assert names == ["AccumulateGrad", "AccumulateGrad", "AddmmBackward0", "TBackward0"]


def test_the_cnn_is_attributed_too():
    parts = measure(activation.resolve("relu"), model="cnn")
    assert parts["activation"] > 0 and parts["matmul"] > parts["activation"]


def test_the_twin_takes_the_trials_weights_and_adam_state():
    x, y = data()
    settings = StepSettings(batch_size=50)
    act = activation.resolve("relu")
    trial = breakdown.Profiler(builtin("mlp", (16,)), act, settings, x, y).step
    for _ in range(5):  # a trial that has trained: weights and moments of its own
        trial.fetch(x[:50], y[:50])
        trial()
    twin = breakdown.Profiler(builtin("mlp", (16,)), act, settings, x, y)
    twin.block(x, y)
    twin.follow(trial)
    assert torch.equal(twin.step.flat, trial.flat)
    ours, theirs = twin.step.optimizer.state[twin.step.flat], trial.optimizer.state[trial.flat]
    for key in ("exp_avg", "exp_avg_sq", "step"):
        assert torch.equal(ours[key], theirs[key]), key


def test_subnormal_numbers_are_counted_in_weights_and_optimizer_state():
    x, y = data()
    step = breakdown.Profiler(
        builtin("mlp", (16,)), activation.resolve("relu"), StepSettings(batch_size=50), x, y
    ).step
    step.fetch(x[:50], y[:50])
    step()
    n = step.flat.numel()  # parameters; Adam keeps two moments of the same size
    with torch.no_grad():
        step.flat[:10] = 1e-40  # subnormal in float32 (smallest normal ≈ 1.18e-38)
        step.optimizer.state[step.flat]["exp_avg"][:5] = -1e-39
        step.optimizer.state[step.flat]["exp_avg_sq"][:7] = 0.0  # zero is not subnormal
    assert breakdown.subnormal_fraction(step) == pytest.approx(15 / (3 * n))
