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
            rounds[name].append(timer.round().kernel_us)
    out = {name: float(np.median(values)) for name, values in rounds.items()}
    assert set(out) == {"identity", "relu", "gelu"}
    assert out["identity"] == 0.0 and not timers["identity"].timers  # nothing built or timed
    assert all(math.isfinite(v) for v in out.values())


def test_a_round_reads_the_kernels_against_a_copy_of_their_bytes():
    mlp, x = builtin("mlp", (32, 16)), torch.randn(20, 784)
    timer = kernels.KernelTimer(mlp, activation.resolve("relu"), x, threads=1)
    # relu keeps its output: 5 values of 4 bytes per element, at 20x32 and 20x16
    assert timer.traffic == 5 * 4 * 20 * (32 + 16)
    reading = timer.round()
    assert set(reading.columns()) == {"kernel_us", "kernel_copy_x", "kernel_gbs"}
    identity = kernels.KernelTimer(mlp, activation.resolve("identity"), x, threads=1)
    assert identity.round().kernel_us == 0.0 and math.isnan(identity.round().copy_x)


def test_the_multiple_and_the_bandwidth_follow_from_a_reading():
    """Hand numbers: 2000 bytes in 4 µs is 0.5 GB/s; 4 µs over a 2 µs copy is 2x."""
    reading = kernels.Reading(kernel_us=4.0, floor_us=2.0, traffic=2000)
    assert reading.copy_x == 2.0 and reading.gbs == 0.5
    assert math.isnan(kernels.Reading(4.0, 0.0, 2000).copy_x)  # a copy lost in noise
    assert math.isnan(kernels.Reading(-1.0, 2.0, 2000).gbs)


def test_the_input_check_gives_a_ratio_per_range_and_none_for_identity():
    inputs = [torch.randn(20, 32)]
    ratios = kernels.sensitivity(activation.resolve("relu"), inputs, threads=1)
    assert set(ratios) == {"sensitive_negative", "sensitive_tiny", "sensitive_subnormal"}
    assert all(math.isfinite(v) and v > 0 for v in ratios.values())
    none = kernels.sensitivity(activation.resolve("identity"), inputs, threads=1)
    assert all(math.isnan(v) for v in none.values())
