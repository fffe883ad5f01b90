"""The run description: built once, checked once, names resolved once, never mutated."""

from __future__ import annotations

import dataclasses

import pytest

from actbench import activation, plan, runner
from actbench.config import SweepConfig
from actbench.errors import ActbenchError


def test_building_leaves_the_request_as_it_was():
    request = SweepConfig(activations=["relu", "tanh"])
    built = plan.build(request)
    assert request.activations == ("relu", "tanh") and request.batch_size is None
    assert built.config.activations == ("identity", "relu", "tanh")  # the baseline first
    assert [a.name for a in built.activations] == ["identity", "relu", "tanh"]
    assert built.config.batch_size == 100 and built.filled["batch_size"] == 100
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.config.epochs = 3  # type: ignore[misc]


def test_a_resolved_plan_builds_the_same_plan_again():
    """What run.json saves (a resolved config) is a request for the same run: `--resume`,
    `show` and `compare` rebuild it without adding the baseline twice."""
    first = plan.build(SweepConfig(activations=["relu", "ReLU6"], baseline="tanh"))
    again = plan.build(SweepConfig.from_json(first.config.to_json()))
    assert again.config == first.config and again.activations == first.activations
    assert again.filled == {}  # nothing was left to the dataset


def test_the_dataset_decides_only_what_was_left_unset():
    built = plan.build(SweepConfig(dataset="airline", epochs=20))
    assert built.config.epochs == 20 and "epochs" not in built.filled
    assert built.config.model == "lstm" and built.config.window == 10
    assert built.metric.name == "rmse" and built.network.describe() == "lstm 6"
    assert built.step.batch_size == 1 and built.step.loss == built.task.loss


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"seeds": "0-1"}, "seeds wants a list of integers, got '0-1' (str)"),
        ({"batch_size": "100"}, "batch_size wants an integer, got '100' (str)"),
        ({"hidden": 50}, "hidden wants a list of integers, got 50 (int)"),
        ({"lr": "fast"}, "lr wants a number, got 'fast' (str)"),
        ({"epochs": True}, "epochs wants an integer, got True (bool)"),
        ({"activations": [len]}, "activations wants a list of names"),
        ({"dataset": "cifar"}, "dataset must be one of mnist, fashion-mnist, kmnist, airline"),
        ({"momentum": 0.9}, "momentum applies to optimizer sgd, not adam"),
    ],
)
def test_a_wrong_value_is_one_line_naming_its_parameter(values, message):
    with pytest.raises(ActbenchError) as caught:
        plan.build(SweepConfig(**values))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_each_refusal_names_its_parameter_for_every_front_end():
    with pytest.raises(ActbenchError) as caught:
        plan.build(SweepConfig(momentum=0.9))
    assert caught.value.params == ("momentum", "optimizer")
    flags = caught.value.phrased(lambda p: "--" + p.replace("_", "-"))
    assert flags == "--momentum applies to --optimizer sgd, not adam"


def test_a_sweep_resolves_each_name_once(tiny_config, monkeypatch):
    """On a sweep's path (here trained in this process) every activation name is looked
    up once, when the plan is built, and the plan is built once."""
    looked_up, built = [], []
    real_resolve, real_build = activation.resolve, plan.build

    def resolve(name):
        looked_up.append(name)
        return real_resolve(name)

    def build(request):
        built.append(request)
        return real_build(request)

    monkeypatch.setattr(activation, "resolve", resolve)
    monkeypatch.setattr(plan, "build", build)
    runner.run(tiny_config, quiet=True)
    assert sorted(looked_up) == ["identity", "relu", "tanh"] and len(built) == 1
