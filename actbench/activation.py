"""Activation functions by name: the built-ins and custom ones (`package.module:attr`, or
`FILE.py:NAME` for a file of the user's).

An `Activation` is a name plus a zero-argument factory, so every trial gets fresh
modules (learnable activations such as PReLU must not share parameters across layers).
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from actbench import usercode
from actbench.errors import ActbenchError

BUILTINS: dict[str, Callable[[], nn.Module]] = {
    "identity": nn.Identity,  # no nonlinearity: the linear model every cost is measured against
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "softplus": nn.Softplus,
    "mish": nn.Mish,
    "hardswish": nn.Hardswish,
    "celu": nn.CELU,
    "relu6": nn.ReLU6,
    "prelu": nn.PReLU,
    "softsign": nn.Softsign,
    "hardtanh": nn.Hardtanh,
}


class Lambda(nn.Module):
    """Wraps a plain callable (e.g. `torch.sin`) so it can sit in an `nn.Sequential`."""

    def __init__(self, fn: Callable, name: str) -> None:
        super().__init__()
        self.fn = fn
        self.name = name

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name


@dataclass(frozen=True)
class Activation:
    name: str
    factory: Callable[[], nn.Module]

    def make(self) -> nn.Module:
        return self.factory()


def _custom(spec: str) -> Activation:
    where = spec.rpartition(":")[0]
    if where.endswith(".py") or "/" in where:  # a file of the user's: FILE.py:NAME
        return _wrap(spec, usercode.resolve(spec, "an activation", "activations"))
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ActbenchError(f"custom activation {spec!r} must look like package.module:attr")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, but also whatever the module raises on import
        raise ActbenchError(
            f"cannot import {module_name!r} for activation {spec!r}: {exc}"
        ) from exc
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise ActbenchError(f"module {module_name!r} has no attribute {attr!r}") from None
    return _wrap(spec, obj)


def _wrap(name: str, obj: object) -> Activation:
    """An `nn.Module` class or a callable as a probed activation named `name`."""
    if inspect.isclass(obj):
        if not issubclass(obj, nn.Module):
            raise ActbenchError(f"{name!r} is a class but not a torch.nn.Module")
        activation = Activation(name, obj)
    elif isinstance(obj, nn.Module) and any(True for _ in obj.parameters()):
        raise ActbenchError(
            f"{name!r} is a module instance with parameters, which every layer would share; "
            "use its class instead"
        )
    elif callable(obj):
        activation = Activation(name, lambda: Lambda(obj, name))
    else:
        raise ActbenchError(f"{name!r} is neither an nn.Module class nor a callable")
    _probe(activation)
    return activation


def _probe(activation: Activation) -> None:
    """Fail before training, not after it: an activation maps a float tensor to a float
    tensor of the same shape and dtype, through which a gradient flows back."""
    x = torch.randn(4, 8, requires_grad=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the verdict below says what is wrong
            y = activation.make()(x)
            if isinstance(y, torch.Tensor) and y.requires_grad:
                y.sum().backward()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ActbenchError(f"{activation.name!r} is not a usable activation: {first}") from None
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or y.dtype != x.dtype:
        got = f"{tuple(y.shape)} {y.dtype}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise ActbenchError(
            f"{activation.name!r} is not an activation: a float32 (4, 8) tensor gave {got}, "
            "not a tensor of the same shape and dtype"
        )
    if x.grad is None:
        raise ActbenchError(
            f"{activation.name!r} is not an activation: no gradient flows from its output "
            "back to its input"
        )


_GIVEN: dict[str, Activation] = {}  # activations handed over as objects (Python API)


def _importable_name(obj: object) -> str:
    """`package.module:attr` by the shortest public path that finds `obj` again
    (`torch.nn:GELU`, `torch:sin`), so a run saved with it can be resumed from the CLI."""
    module = getattr(obj, "__module__", None) or ""
    names = [n for n in (getattr(obj, "__name__", ""), getattr(obj, "__qualname__", "")) if n]
    if not names:
        raise ActbenchError(f"{obj!r} has no name; pass a class or a named function")
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        try:
            found = importlib.import_module(prefix)
        except Exception:  # an unimportable prefix: try the next one
            continue
        for name in names:
            if getattr(found, name, None) is obj:
                return f"{prefix}:{name}"
    if names[-1].endswith("<lambda>"):  # lambdas share a name: tell them apart by place
        code = getattr(obj, "__code__", None)
        line = f" at line {code.co_firstlineno}" if code else ""
        return f"{module}:<lambda{line}>" if module else f"<lambda{line}>"
    return f"{module}:{names[-1]}" if module else names[-1]


def from_object(obj: object) -> Activation:
    """An activation given as a `nn.Module` class or a callable (e.g. `torch.sin`), by the
    Python API; afterwards its name resolves like a built-in's in this process."""
    if isinstance(obj, str):
        return resolve(obj)
    if not (inspect.isclass(obj) or callable(obj)):
        raise ActbenchError(f"{obj!r} is neither an nn.Module class nor a callable")
    activation = _wrap(_importable_name(obj), obj)
    _GIVEN[activation.name] = activation
    return activation


def resolve(spec: str) -> Activation:
    """One name (built-in, case-insensitive), `package.module:attr`, or the name of an
    activation handed over as an object in this process."""
    if spec in _GIVEN:
        return _GIVEN[spec]
    if ":" in spec:
        return _custom(spec)
    name = spec.strip().lower()
    if name not in BUILTINS:
        raise ActbenchError(
            f"unknown activation {spec!r}; valid: {', '.join(BUILTINS)}, all, "
            "or package.module:attr"
        )
    return Activation(name, BUILTINS[name])
