import time

import numpy as np
import pytest
import torch

from actbench import data, timing, trainer
from actbench.config import SweepConfig


def test_stats_on_known_samples():
    s = timing.StepStats.of(np.arange(1, 101, dtype=float))
    assert s.median == 50.5 and s.p25 == pytest.approx(25.75) and s.p75 == pytest.approx(75.25)
    assert s.mean == 50.5 and s.n == 100 and s.std == pytest.approx(np.std(np.arange(1, 101)))


def test_stats_of_nothing_is_nan_not_a_crash():
    s = timing.StepStats.of(np.array([]))
    assert s.n == 0 and np.isnan(s.median)


def test_cpu_clock_measures_the_bracketed_region_and_resets_per_epoch():
    clock = timing.clock_for(torch.device("cpu"))
    for delay in (0.002, 0.0):
        clock.start()
        time.sleep(delay)
        clock.stop()
    first = clock.collect()
    assert first.shape == (2,) and first[0] >= 2000 and first[1] < first[0]
    assert clock.collect().size == 0


def test_method_names_the_clock():
    assert "perf_counter_ns" in timing.method(torch.device("cpu"))
    assert "cuda.Event" in timing.method(torch.device("cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_clock_reads_events_once_per_epoch():
    clock = timing.clock_for(torch.device("cuda"))
    x = torch.randn(2048, 2048, device="cuda")
    for _ in range(3):
        clock.start()
        x @ x
        clock.stop()
    us = clock.collect()
    assert us.shape == (3,) and (us > 0).all()


@pytest.fixture
def device_data(tiny_mnist):
    return data.prepare(data.load(tiny_mnist, download=False), torch.device("cpu"), 0.2)


def test_reference_step_is_fixed_and_leaves_the_global_rng_alone(device_data):
    cfg = SweepConfig(hidden=(16, 8), batch_size=40, dataset="mnist", model="mlp")
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    a, b = trainer.reference_step(cfg, device_data), trainer.reference_step(cfg, device_data)
    assert torch.equal(torch.rand(1), expected)
    assert all(
        torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True)
    )
    assert 0 < a.measure_us() < 1e6 and a.clock.collect().size == 0


def test_the_reference_step_is_work_of_the_runs_own_kind(device_data):
    """A CNN run's machine-speed reading times a CNN on the run's batch shape, with the
    baseline's activation: not an MLP that shares none of its kernels."""
    cfg = SweepConfig(batch_size=32, model="cnn", baseline="identity")
    reference = trainer.reference_step(cfg, device_data)
    kinds = {type(m).__name__ for m in reference.model.modules()}
    assert "Conv2d" in kinds and "ReLU" not in kinds
    assert reference.x.shape[0] == 32 and reference.y.shape == (32,)
    cfg = SweepConfig(batch_size=40, model="mlp", hidden=(16,), baseline="tanh")
    assert "Tanh" in {
        type(m).__name__ for m in trainer.reference_step(cfg, device_data).model.modules()
    }
    assert trainer.reference_description(cfg) == "mlp 16, tanh, batch 40, forward+backward"


def test_a_shared_reference_is_read_once_per_epoch_and_a_private_one_every_time(
    monkeypatch, device_data
):
    readings = iter(range(1, 100))
    monkeypatch.setattr(timing.Reference, "measure_us", lambda self: float(next(readings)))
    cfg = SweepConfig(hidden=(8,), batch_size=20, model="mlp")
    shared, private = (trainer.reference_step(cfg, device_data, shared=s) for s in (True, False))
    assert [shared.at_epoch(e) for e in (1, 1, 1, 2, 2)] == [1, 1, 1, 2, 2]
    assert [private.at_epoch(e) for e in (1, 1, 2)] == [3, 4, 5]


def test_a_tail_of_slow_steps_is_counted_and_flagged():
    steps = np.r_[np.full(900, 600.0), np.full(100, 10_000.0)]  # one step in ten takes 10 ms
    s = timing.StepStats.of(steps)
    assert s.median == 600 and s.slow_steps == 100
    reason = timing.disturbance(s.median, s.p25, s.p75, s.mean, s.slow_steps)
    assert "mean 2.57× median" in reason and "100 steps > 5× median" in reason


def test_spread_is_flagged_and_a_calm_trial_is_not():
    assert timing.disturbance(1000, 940, 1060, 1001) == "IQR 12% of median"
    assert timing.disturbance(1000, 970, 1030, 1010) == ""
    assert timing.disturbance(float("nan"), 1, 2, 3) == ""
