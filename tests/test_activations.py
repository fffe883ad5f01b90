import pytest
import torch
from torch import nn

from actbench import activation, plan
from actbench.config import SweepConfig
from actbench.errors import ActbenchError


def test_every_builtin_builds_and_keeps_shape():
    x = torch.randn(3, 5)
    for name in activation.BUILTINS:
        module = activation.resolve(name).make()
        assert isinstance(module, nn.Module) and module(x).shape == x.shape


def test_required_builtins_are_present():
    required = {
        "relu",
        "tanh",
        "sigmoid",
        "elu",
        "gelu",
        "silu",
        "leaky_relu",
        "selu",
        "softplus",
        "mish",
        "hardswish",
        "celu",
    }
    assert required <= set(activation.BUILTINS)


def listed(text: str) -> list[str]:
    """The activations a sweep asked for `text` trains (no baseline)."""
    request = SweepConfig(activations=text.split(","), baseline=None)
    return [a.name for a in plan.build(request).activations]


def test_all_expands_to_every_builtin_and_names_are_case_insensitive():
    assert listed("all") == list(activation.BUILTINS)
    assert listed("ReLU, tanh") == ["relu", "tanh"]


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(
        ActbenchError, match=r"unknown activation 'relux'; valid: identity, relu, tanh"
    ):
        listed("relu,relux")


def test_duplicates_and_empty_lists_are_refused():
    with pytest.raises(ActbenchError, match="twice"):
        listed("relu,relu")
    with pytest.raises(ActbenchError, match="twice: relu"):
        listed("relu,ReLU")  # the same activation, however it is spelt
    with pytest.raises(ActbenchError, match="empty"):
        listed(" , ")


def test_custom_module_class_and_callable():
    cls = activation.resolve("torch.nn:Hardsigmoid")
    fn = activation.resolve("torch:sin")
    x = torch.linspace(-2, 2, 7)
    assert torch.equal(cls.make()(x), nn.functional.hardsigmoid(x))
    assert torch.equal(fn.make()(x), torch.sin(x)) and fn.name == "torch:sin"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_pkg.mod:f", "cannot import 'no_such_pkg.mod'"),
        ("torch.nn:NoSuchThing", "has no attribute 'NoSuchThing'"),
        ("math:pi", "neither an nn.Module class nor a callable"),
        ("collections:OrderedDict", "not a torch.nn.Module"),
        ("torch.nn:Linear", "not a usable activation"),
        ("torch:sum", r"gave \(\) torch.float32, not a tensor of the same shape"),
        ("torch:tensor", "no gradient flows from its output back to its input"),
        ("torch:zeros_like", "no gradient flows"),
        ("torch:argsort", "not a tensor of the same shape and dtype"),
        ("tests.test_activations:SHARED", "module instance with parameters"),
        (":relu", "package.module:attr"),
    ],
)
def test_bad_custom_activations_are_explained(spec, message):
    with pytest.raises(ActbenchError, match=message) as caught:
        activation.resolve(spec)
    assert "\n" not in str(caught.value)


SHARED = torch.nn.PReLU()  # one instance: every layer would share its parameter


def test_empty_list_items_are_refused():
    with pytest.raises(ActbenchError, match=r"^activations has an empty item"):
        listed("relu,,tanh")
    with pytest.raises(ActbenchError, match="empty item"):
        listed("relu,")


def test_lambdas_are_told_apart_by_where_they_are_defined():
    first = lambda x: x * 2  # noqa: E731
    second = lambda x: x * 3  # noqa: E731
    a, b = activation.from_object(first), activation.from_object(second)
    assert a.name != b.name and "<lambda at line" in a.name and ".<locals>" not in a.name
