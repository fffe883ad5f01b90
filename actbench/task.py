"""What a model is trained to do, and how its result is scored: classification (cross-entropy,
accuracy) or regression (mean squared error, RMSE).

A dataset brings its task (`dataset.py`), and the task brings its loss and its metric, so
the trainer, the step and every report read them from here instead of asking which
dataset they are looking at. A `Metric` knows its columns in trials.csv and history.csv,
how it is printed, and which direction is better: tables, `compare`, the gates and the
plots take the direction from it (lower RMSE is better).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

EVAL_BATCH = 2_000  # measured: faster than one 12k-row GEMM chain on a 2-core CPU (cache)


@dataclass(frozen=True)
class Metric:
    """A test score: where it is stored, how it reads, which way is better."""

    name: str  # "accuracy", "rmse"
    column: str  # trials.csv column (summary.csv adds _mean and _std)
    val_column: str  # history.csv column
    label: str  # table header, e.g. "test acc %"
    title: str  # in sentences, e.g. "test accuracy"
    scale: float  # stored value x scale = shown value (fractions shown as percent)
    higher_is_better: bool
    unit: str  # of a difference: "points", "RMSE"
    digits: int
    raw_column: str | None = None  # the metric in the data's own unit, where that differs
    side_label: str = "{side}"  # compare's header for one run's column, e.g. "acc A %"
    delta_label: str = "Δ"  # compare's header for B - A
    short: str = ""  # in progress lines: "acc", "RMSE"
    suffix: str = ""  # after a shown value: "%" for accuracy
    narrow_digits: int | None = None  # in the compact table, to fit 100 columns

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is: `sign x difference` is the gain."""
        return 1 if self.higher_is_better else -1

    @property
    def direction(self) -> str:
        return "↑ better" if self.higher_is_better else "↓ better"

    def shown(self, value: float) -> float:
        return self.scale * value

    def format(self, value: float) -> str:
        return f"{self.shown(value):.{self.digits}f}"

    @property
    def what(self) -> str:
        """The metric without 'test': 'accuracy', 'RMSE'."""
        return self.title.removeprefix("test ")

    def brief(self, value: float) -> str:
        """'acc 97.12%' or 'RMSE 0.0924', for progress lines."""
        return f"{self.short} {self.format(value)}{self.suffix}"

    @property
    def gain_title(self) -> str:
        """What the gain column measures: a difference that is positive when better."""
        if self.higher_is_better:
            return f"{self.title} {self.unit} over the baseline"
        return f"{self.title} reduction from the baseline"


ACCURACY = Metric(
    name="accuracy",
    column="test_accuracy",
    val_column="val_accuracy",
    label="test acc %",
    title="test accuracy",
    scale=100.0,
    higher_is_better=True,
    unit="points",
    digits=2,
    side_label="acc {side} %",
    delta_label="Δ acc pts",
    short="acc",
    suffix="%",
)
RMSE = Metric(
    name="rmse",
    column="test_rmse",
    val_column="val_rmse",
    label="test RMSE",
    title="test RMSE",
    scale=1.0,
    higher_is_better=False,
    unit="RMSE",
    digits=4,
    raw_column="test_rmse_raw",
    side_label="RMSE {side}",
    delta_label="Δ RMSE",
    short="RMSE",
    narrow_digits=3,  # the gain's interval at 4 digits made airline's compact table 103 wide
)
METRICS = {m.name: m for m in (ACCURACY, RMSE)}


class Task:
    """A loss to train on and a metric to test with, accumulated on the device."""

    metric: Metric

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss_sum(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score_sum(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """What the metric sums over examples (correct answers, squared errors)."""
        raise NotImplementedError

    def metric_of(self, score_sum: float, n: int) -> float:
        raise NotImplementedError

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """Mean loss and the metric over (x, y), in large batches, one host read each."""
        model.eval()
        loss_sum = torch.zeros((), device=x.device)
        score = torch.zeros((), device=x.device)
        for i in range(0, x.shape[0], EVAL_BATCH):
            output = model(x[i : i + EVAL_BATCH])
            target = y[i : i + EVAL_BATCH]
            loss_sum += self.loss_sum(output, target)
            score += self.score_sum(output, target)
        model.train()
        n = self.count(y)
        return loss_sum.item() / n, self.metric_of(score.item(), n)

    def count(self, y: torch.Tensor) -> int:
        """How many scored examples `y` holds."""
        return y.shape[0]


class Classification(Task):
    """Cross-entropy on logits; accuracy of the arg-max. Logits (N, C) for labels (N), or
    (N, T, C) for labels (N, T), a sequence model's: every position is an example."""

    metric = ACCURACY

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.dim() > 2:  # a sequence's positions as examples; (N, C) as it is (timed)
            output, target = output.flatten(0, -2), target.flatten()
        return F.cross_entropy(output, target)

    def loss_sum(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.dim() > 2:
            output, target = output.flatten(0, -2), target.flatten()
        return F.cross_entropy(output, target, reduction="sum")

    def score_sum(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (output.argmax(dim=-1) == target).sum()

    def count(self, y: torch.Tensor) -> int:
        return y.numel()

    def metric_of(self, score_sum: float, n: int) -> float:
        return score_sum / n


class Regression(Task):
    """Mean squared error; root mean squared error over the examples (one target each)."""

    metric = RMSE

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target)

    def loss_sum(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target, reduction="sum") / target[0].numel()

    def score_sum(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_sum(output, target)  # the squared errors the RMSE is made of

    def metric_of(self, score_sum: float, n: int) -> float:
        return math.sqrt(score_sum / n)


def metric_named(name: str) -> Metric:
    """The metric a run folder recorded (`schema.upgrade` names it for older runs)."""
    return METRICS[name]
