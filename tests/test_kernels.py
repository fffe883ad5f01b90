"""The direct timing of an activation's kernels sees the calls a step makes."""

import math

import numpy as np
import torch

from actbench import activation, kernels
from actbench.model import builtin


def test_every_call_of_the_activation_is_seen_at_its_shape():
    mlp = builtin("mlp", (64, 32)).build(activation.resolve("elu"), seed=0)
    inputs = kernels.layer_inputs(mlp, torch.randn(50, 784))
    assert [tuple(z.shape) for z in inputs] == [(50, 64), (50, 32)]
    lstm = builtin("lstm", (6,)).build(activation.resolve("tanh"), seed=0)
    inputs = kernels.layer_inputs(lstm, torch.randn(8, 10, 1))
    # per time step: the candidate and the cell's output, for a window of 10
    assert len(inputs) == 2 * 10 and all(tuple(z.shape) == (8, 6) for z in inputs)


def test_each_activation_gets_a_time_and_identity_is_the_zero():
    """As a sweep reads them (`instruments.py`): a timer per trial, one round per epoch
    read, the trials' rounds in turn, `kernel_us` the median over its rounds."""
    acts = [activation.resolve(n) for n in ("identity", "relu", "gelu")]
    mlp, x = builtin("mlp", (32,)), torch.randn(20, 784)
    timers = {a.name: kernels.KernelTimer(mlp, a, x, threads=1) for a in acts}
    rounds: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(3):
        for name, timer in timers.items():
            rounds[name].append(timer.round())
    out = {name: float(np.median(values)) for name, values in rounds.items()}
    assert set(out) == {"identity", "relu", "gelu"}
    assert out["identity"] == 0.0 and not timers["identity"].timers  # nothing built or timed
    assert all(math.isfinite(v) for v in out.values())
