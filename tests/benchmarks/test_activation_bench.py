"""Micro-benchmarks: each built-in activation's forward + backward, against the roofline.

An activation is elementwise, so its speed limit is memory bandwidth, not FLOPs. Each
benchmark reports in `extra_info` the bandwidth it achieved and the machine's measured
copy bandwidth (the roofline), on a model-sized tensor (100x100, what the MLP sees) and a
large one (4096x4096, about 16M elements, where caches no longer help).

    python -m pytest tests/benchmarks --benchmark-only -n 0     # real numbers, one at a time
    python -m pytest tests/benchmarks --benchmark-disable       # run each once, as tests
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from actbench import activation

SHAPES = {"model": (100, 100), "large": (4096, 4096)}
ROUNDS = {"model": (100, 20), "large": (5, 1)}  # (rounds, iterations per round)
# forward reads x and writes y; backward reads the incoming gradient and x, writes x.grad
BYTES_PER_ELEMENT = 5 * 4


@pytest.fixture(scope="session")
def copy_gb_per_s() -> float:
    """Measured copy bandwidth (read + write) on a large float32 tensor: the roofline."""
    src, dst = torch.randn(SHAPES["large"]), torch.empty(SHAPES["large"])
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        dst.copy_(src)
        times.append(time.perf_counter() - t0)
    return 2 * src.numel() * 4 / float(np.median(times[2:])) / 1e9


@pytest.mark.parametrize("size", list(SHAPES))
@pytest.mark.parametrize("name", list(activation.BUILTINS))
def test_forward_backward(benchmark, name, size, copy_gb_per_s):
    module = activation.resolve(name).make()
    x = torch.randn(SHAPES[size], requires_grad=True)
    grad_out = torch.ones(SHAPES[size])

    def forward_backward():
        x.grad = None
        module(x).backward(grad_out)

    rounds, iterations = ROUNDS[size]
    benchmark.group = f"activation fwd+bwd {size} {'x'.join(map(str, SHAPES[size]))}"
    benchmark.pedantic(forward_backward, rounds=rounds, iterations=iterations, warmup_rounds=1)

    assert x.grad is not None and x.grad.shape == x.shape and torch.isfinite(x.grad).all()
    if benchmark.stats is not None:  # None under --benchmark-disable
        seconds = benchmark.stats.stats.median
        achieved = x.numel() * BYTES_PER_ELEMENT / seconds / 1e9
        benchmark.extra_info.update(
            elements=x.numel(),
            gb_per_s=round(achieved, 2),
            copy_gb_per_s=round(copy_gb_per_s, 2),
            roofline_fraction=round(achieved / copy_gb_per_s, 3),
        )
