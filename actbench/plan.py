"""The resolved, immutable description of a run: what every layer of a sweep reads.

A `Plan` is built once, by `build`, from the user's request (a `SweepConfig` made from
CLI flags or API arguments) or, by `saved`, from a saved run's record (`RunRecord`: its
run.json upgraded from any older format by `schema.upgrade`). Building it checks every
value once, names each refusal by the parameter it is about (`errors.ActbenchError.params`),
fills what the dataset decides, and resolves every name to its object: the `Dataset` with
its task and metric, the activations with the baseline first, the model's architecture and
the step's settings. Nothing downstream looks a name up again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actbench import activation as activations_mod
from actbench import dataset as datasets
from actbench import loader, usercode
from actbench.activation import Activation
from actbench.config import (
    DEPENDENT,
    EXECUTORS,
    IMAGE_DEFAULTS,
    MODES,
    OPTIMIZERS,
    SCHEDULES,
    SERIES_DEFAULTS,
    TASKS,
    SweepConfig,
)
from actbench.errors import ActbenchError
from actbench.model import MODELS, builtin
from actbench.network import Network
from actbench.step import StepSettings
from actbench.task import Metric, Task

if TYPE_CHECKING:  # a worker process imports plans, never the records of saved runs
    from actbench.run_record import RunRecord


@dataclass(frozen=True)
class Plan:
    config: SweepConfig  # resolved: no dataset-dependent field is None; baseline listed
    dataset: datasets.Dataset
    activations: tuple[Activation, ...]  # the baseline first when it was not listed
    baseline: Activation | None
    filled: Mapping[str, object]  # the values the dataset's defaults supplied
    network: Network  # the factory `--model` names, its options bound

    @property
    def task(self) -> Task:
        return self.dataset.task

    @property
    def metric(self) -> Metric:
        return self.dataset.task.metric

    @property
    def step(self) -> StepSettings:
        c = self.config
        return StepSettings(c.mode, c.optimizer, c.lr, c.momentum, c.batch_size, self.task.loss)

    def named(self, names: Sequence[str]) -> tuple[Activation, ...]:
        """This plan's activations called `names`, in that order."""
        by_name = {a.name: a for a in self.activations}
        return tuple(by_name[n] for n in names)

    def replaced(self, **values: object) -> Plan:
        """The same run with its data, workers or pins given anew (`--resume`); the names
        stay resolved."""
        return dataclasses.replace(self, config=dataclasses.replace(self.config, **values))


def build(request: SweepConfig) -> Plan:
    """Check `request`, fill what its dataset decides, resolve its names: the run's `Plan`."""
    _types(request)
    dataset = _dataset(request.dataset, request.task)
    own = request.model is not None and usercode.is_spec(request.model)
    filled = {
        name: dataset.defaults[name]
        for name in DEPENDENT
        if getattr(request, name) is None
        and dataset.defaults[name] is not None
        and not (own and name == "hidden")  # widths are the factory's own business
    }
    if not own and request.hidden is None and "hidden" not in filled:  # a user's dataset
        source = SERIES_DEFAULTS if request.model == "lstm" else IMAGE_DEFAULTS
        filled["hidden"] = source["hidden"]  # a built-in network's own widths
    config = dataclasses.replace(request, **filled)
    _check(config, dataset)
    network = _network(config)
    listed = _activations(config.activations)
    baseline = None if config.baseline is None else _baseline(config.baseline)
    acts = list(listed)
    if baseline is not None and baseline.name not in [a.name for a in acts]:
        acts.insert(0, baseline)  # the row every other is measured against runs too
    config = dataclasses.replace(
        config,
        activations=tuple(a.name for a in acts),
        baseline=None if baseline is None else baseline.name,
    )
    return Plan(config, dataset, tuple(acts), baseline, filled, network)


def saved(run: RunRecord) -> Plan:
    """The plan a saved run trained under (`RunFolder.info`: its config, upgraded)."""
    return build(run.config)


def _dataset(name: str, task: str | None) -> datasets.Dataset:
    """A built-in dataset by name, or a user's loader by its spec."""
    if task is not None:
        _one_of("task", task, TASKS)
    if usercode.is_spec(name):
        load = usercode.resolve(name, "a data loader", "dataset")
        if not callable(load):
            raise ActbenchError(
                f"{{dataset}} {name} is a {type(load).__name__}, not a loader to call", ["dataset"]
            )
        return loader.user_dataset(name, load, task)
    if task is not None and name in datasets.DATASETS:
        raise ActbenchError(f"{{task}} applies to a user's dataset, not {name}", ["task"])
    try:
        return datasets.DATASETS[name]
    except KeyError:
        raise ActbenchError(
            f"{{dataset}} must be one of {', '.join(datasets.NAMES)}, or FILE.py:NAME or "
            f"package.module:NAME for a loader of your own, got {name!r}",
            ["dataset"],
        ) from None


def _network(c: SweepConfig) -> Network:
    """The built-in network `model` names with its widths, or a user's factory."""
    if not usercode.is_spec(c.model):
        return builtin(c.model, c.hidden)
    factory = usercode.resolve(c.model, "a network factory", "model")
    if not callable(factory):
        raise ActbenchError(
            f"{{model}} {c.model} is a {type(factory).__name__}, not a factory to call", ["model"]
        )
    return Network(c.model, factory, c.model)


def _activations(names: Sequence[str]) -> list[Activation]:
    """The requested activations: names, `package.module:attr`, or `all` for the built-ins."""
    names = [n.strip() for n in names]
    if not any(names):
        raise ActbenchError("{activations} is empty", ["activations"])
    if not all(names):
        raise ActbenchError(f"{{activations}} has an empty item: {names}", ["activations"])
    if [n.lower() for n in names] == ["all"]:
        names = list(activations_mod.BUILTINS)
    acts = [activations_mod.resolve(n) for n in names]
    resolved = [a.name for a in acts]
    twice = sorted({n for n in resolved if resolved.count(n) > 1})
    if twice:
        raise ActbenchError(
            f"{{activations}} names an activation twice: {', '.join(twice)}", ["activations"]
        )
    return acts


def _baseline(name: str) -> Activation:
    try:
        return activations_mod.resolve(name.strip())
    except ActbenchError as error:
        raise ActbenchError(f"{{baseline}}: {error}", ["baseline"]) from None


def _at_least(param: str, value: float | None, low: float) -> None:
    if value is not None and not isinstance(value, bool) and value < low:
        raise ActbenchError(f"{{{param}}} must be at least {low}, got {value}", [param])


def _one_of(param: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ActbenchError(
            f"{{{param}}} must be one of {', '.join(allowed)}, got {value!r}", [param]
        )


def check_pins(threads: int | None, cpu_affinity: Sequence[int] | None) -> None:
    """The pins' values (whether this machine can honour them is `device.pin`'s to say)."""
    _at_least("threads", threads, 1)
    if cpu_affinity is not None and (not cpu_affinity or min(cpu_affinity) < 0):
        raise ActbenchError(
            f"{{cpu_affinity}} needs CPU numbers >= 0, got {list(cpu_affinity)}", ["cpu_affinity"]
        )


_INT = ("batch_size", "epochs", "patience", "jobs", "train_limit", "warmup_steps",
        "round_steps", "window", "threads", "split_seed", "max_seeds")  # fmt: skip
_INTS = ("seeds", "hidden", "cpu_affinity")
_NUMBER = ("lr", "momentum", "val_fraction", "precision")
_TEXT = ("device", "mode", "dataset", "model", "executor", "schedule", "optimizer", "name",
         "ray_address", "baseline", "task")  # fmt: skip


def _types(c: SweepConfig) -> None:
    """A value of the wrong type (`batch_size="100"`, `hidden=50`) in one line, not a
    TypeError from deep inside."""

    def refuse(param: str, want: str, value: object) -> None:
        raise ActbenchError(
            f"{{{param}}} wants {want}, got {value!r} ({type(value).__name__})", [param]
        )

    def integer(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    for param in _INT:
        v = getattr(c, param)
        if v is not None and not integer(v):
            refuse(param, "an integer", v)
    for param in _INTS:
        v = getattr(c, param)
        if v is not None and not (isinstance(v, tuple) and all(integer(i) for i in v)):
            refuse(param, "a list of integers", v)
    for param in _NUMBER:
        v = getattr(c, param)
        if v is not None and not (isinstance(v, int | float) and not isinstance(v, bool)):
            refuse(param, "a number", v)
    for param in _TEXT:
        v = getattr(c, param)
        if v is not None and not isinstance(v, str):
            refuse(param, "a name", v)
    if not (isinstance(c.activations, tuple) and all(isinstance(a, str) for a in c.activations)):
        refuse("activations", "a list of names", c.activations)


def _check(c: SweepConfig, dataset: datasets.Dataset) -> None:
    """Every value of a resolved config that no run could honour, refused before anything
    is loaded or trained; each refusal names its parameter."""
    for param, low in (
        ("batch_size", 1), ("epochs", 1), ("patience", 0), ("jobs", 1), ("train_limit", 1),
        ("warmup_steps", 0), ("round_steps", 1), ("window", 1), ("momentum", 0.0),
    ):  # fmt: skip
        _at_least(param, getattr(c, param), low)
    check_pins(c.threads, c.cpu_affinity)
    _one_of("schedule", c.schedule, SCHEDULES)
    _one_of("optimizer", c.optimizer, OPTIMIZERS)
    _one_of("executor", c.executor, EXECUTORS)
    _one_of("mode", c.mode, MODES)
    if c.model is None:
        raise ActbenchError(
            f"{{model}} is needed with a user's dataset ({c.dataset}): a built-in "
            f"({', '.join(MODELS)}) or FILE.py:NAME for a factory of your own",
            ["model"],
        )
    own = usercode.is_spec(c.model)
    if not own:
        _one_of("model", c.model, MODELS)  # one that fits the dataset: `dataset.check`
    if c.momentum and c.optimizer != "sgd":
        raise ActbenchError(
            f"{{momentum}} applies to {{optimizer}} sgd, not {c.optimizer}",
            ["momentum", "optimizer"],
        )
    if not c.lr > 0:
        raise ActbenchError(f"{{lr}} must be greater than 0, got {c.lr}", ["lr"])
    if not 0.0 < c.val_fraction < 1.0:
        raise ActbenchError(
            f"{{val_fraction}} must be between 0 and 1 (exclusive), got {c.val_fraction}",
            ["val_fraction"],
        )
    if own and c.hidden is not None:
        raise ActbenchError(
            f"{{hidden}} applies to the built-in networks, not {c.model}: a factory sets its "
            "own widths",
            ["hidden"],
        )
    if not own and (not c.hidden or min(c.hidden) < 1):
        raise ActbenchError(
            f"{{hidden}} wants integers >= 1, got {list(c.hidden or ())}", ["hidden"]
        )
    if c.model == "mlp-linear-last" and len(c.hidden) < 2:
        raise ActbenchError(
            f"{{model}} mlp-linear-last leaves the last hidden layer linear, so it needs two or "
            f"more in {{hidden}}, got {list(c.hidden)}",
            ["model", "hidden"],
        )
    dataset.check(c)
    if not c.seeds or min(c.seeds) < 0:
        raise ActbenchError(f"{{seeds}} wants integers >= 0, got {list(c.seeds)}", ["seeds"])
    if len(set(c.seeds)) != len(c.seeds):
        raise ActbenchError(f"{{seeds}} names a seed twice: {list(c.seeds)}", ["seeds"])
    if c.precision is not None:
        _precision(c)
    if c.name is not None and (not c.name or "/" in c.name or c.name in {".", ".."}):
        raise ActbenchError(f"{{name}} must be a plain folder name, got {c.name!r}", ["name"])


def _precision(c: SweepConfig) -> None:
    """What Stein's two stages need (`precision.py`): a half-width to reach, a spread to
    read from the first seeds, a cost to read it from, and room above them to add seeds."""
    if not c.precision > 0:
        raise ActbenchError(
            f"{{precision}} is a half-width in points of cost %, greater than 0, got {c.precision}",
            ["precision"],
        )
    if len(c.seeds) < 2:
        raise ActbenchError(
            f"{{precision}} reads the spread of the first {{seeds}}, so it needs two or more, "
            f"got {list(c.seeds)}",
            ["precision", "seeds"],
        )
    if c.baseline is None:
        raise ActbenchError(
            "{precision} sizes the cost intervals, and a cost is over a {baseline}: got none",
            ["precision", "baseline"],
        )
    if c.max_seeds < len(c.seeds):
        raise ActbenchError(
            f"{{max_seeds}} caps the seeds {{precision}} may bring the run to, so it cannot be "
            f"fewer than the {len(c.seeds)} {{seeds}} given, got {c.max_seeds}",
            ["max_seeds", "precision", "seeds"],
        )
