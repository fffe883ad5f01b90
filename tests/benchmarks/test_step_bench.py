"""Micro-benchmark of the whole training step (seed MLP, batch 100) in each CPU mode.

`scripts/bench_step.py` compares these side by side with a typical DataLoader loop and the
compute floor; this keeps the step itself under pytest-benchmark's history and compare.
"""

from __future__ import annotations

import pytest
import torch

from actbench import activation
from actbench.model import build_mlp
from actbench.step import StepSettings, make_step


@pytest.mark.parametrize("mode", ["eager", "compile"])
def test_training_step(benchmark, mode):
    x, y = torch.randn(1000, 784), torch.randint(0, 10, (1000,))
    model = build_mlp((100, 100, 100), activation.resolve("relu"), seed=0)
    step = make_step(StepSettings(mode, batch_size=100), model, x, y)
    step.fetch(x[:100], y[:100])
    step()  # compilation (compile mode) happens here, outside the measurement
    before = model[0].weight.detach().clone()
    benchmark.group = "training step 784-100-100-100-10, batch 100"
    benchmark.pedantic(step, rounds=50, iterations=5, warmup_rounds=2)
    assert not torch.equal(model[0].weight, before)  # the step really trained
