"""Whether a run's network fits its data, asked once before anything is trained or saved.

A user's factory and loader meet here for the first time, in the parent process, on the
first batch: every activation's network must start from the same weights (and the same
ones twice), its output must fit the labels, and its first loss must be a number. Each
failure is one line that names what is wrong; the run folder is not created yet. What
passes is recorded in run.json: the network's size and shapes, and where the user's code
came from (with a hash of it), so `compare` can tell two runs' networks and data apart.
"""

from __future__ import annotations

import math

import torch

from actbench import health, usercode
from actbench.data import DeviceData
from actbench.errors import ActbenchError, first_line
from actbench.network import check_same_start, shape_summary
from actbench.plan import Plan


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(map(str, t.shape)) + ")"


def _output_fits(plan: Plan, output: object, y: torch.Tensor) -> None:
    name = plan.network.name
    if not isinstance(output, torch.Tensor):
        raise ActbenchError(
            f"{{model}} {name} returned {type(output).__name__} from forward, not a tensor",
            ["model"],
        )
    if plan.metric.higher_is_better:  # classification: (N, C) for (N), (N, T, C) for (N, T)
        fits = output.dim() == y.dim() + 1 and output.shape[:-1] == y.shape
        want = "(N, C) for labels (N), or (N, T, C) for (N, T)"
    else:
        fits = output.shape == y.shape
        want = "the targets' own shape"
    if not fits:
        raise ActbenchError(
            f"{{model}} {name}'s output {_shape(output)} does not fit the labels {_shape(y)} "
            f"of {{dataset}} {plan.config.dataset}: {plan.metric.what} wants {want}",
            ["model", "dataset"],
        )


def check(plan: Plan, data: DeviceData) -> dict[str, object]:
    """Refuse a network that cannot train on `data`; what run.json says of it."""
    seed, acts = plan.config.seeds[0], plan.activations
    models = check_same_start(plan.network, acts, seed)
    x, y = data.x_train[: plan.config.batch_size], data.y_train[: plan.config.batch_size]
    summary: dict[str, object] = {}
    for activation, model in zip(acts, models, strict=True):  # the baseline first
        model = model.to(x.device)
        try:
            with torch.no_grad():
                output = model(x)
        except Exception as exc:
            raise ActbenchError(
                f"{{model}} {plan.network.name} failed on a batch of {{dataset}} "
                f"{plan.config.dataset} inputs {_shape(x)}: {first_line(exc)}",
                ["model", "dataset"],
            ) from None
        _output_fits(plan, output, y)
        if not summary:  # an activation under test may diverge: that is a result
            loss = _first_loss(plan, output, y)
            _probe(plan, model, data)
            if not math.isfinite(loss):
                raise ActbenchError(
                    f"the loss is {loss} at the first step with {activation.name} (seed {seed}) "
                    f"on {{model}} {plan.network.name} and {{dataset}} {plan.config.dataset}: "
                    "the network or the data gives no number before any activation is compared",
                    ["model", "dataset"],
                )
            summary = {"name": plan.network.describe(), **shape_summary(model)}
    return {**summary, **_code(plan)}


def _first_loss(plan: Plan, output: torch.Tensor, y: torch.Tensor) -> float:
    try:
        return float(plan.task.loss(output, y))
    except Exception as exc:  # labels of the wrong dtype or range for the task
        raise ActbenchError(
            f"{{dataset}} {plan.config.dataset}: the {plan.metric.what} loss fails on the "
            f"network's output {_shape(output)} and the labels {_shape(y)} ({y.dtype}): "
            f"{first_line(exc)}",
            ["dataset", "task"],
        ) from None


def _probe(plan: Plan, model: torch.nn.Module, data: DeviceData) -> None:
    """The health probe once, as every trial will read it, so that it fails here."""
    try:
        health.Probe(model, plan.task.loss, data.x_val, data.y_val).read()
    except Exception as exc:
        raise ActbenchError(
            f"{{model}} {plan.network.name}: the health probe fails on it: {first_line(exc)}",
            ["model"],
        ) from None


def _code(plan: Plan) -> dict[str, object]:
    """Where a user's factory and loader came from, and a hash of each one's code."""
    code: dict[str, object] = {}
    if not plan.network.builtin:
        code["factory"] = usercode.identity(plan.network.name, plan.network.factory)
    load = getattr(plan.dataset, "load_fn", None)
    if load is not None:
        code["loader"] = usercode.identity(plan.dataset.name, load)
    return code
