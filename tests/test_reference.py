import pytest
import torch

from actbench import data, plan, reference
from actbench.config import SweepConfig


@pytest.fixture
def device_data(tiny_mnist):
    return data.prepare(data.load(tiny_mnist, download=False), torch.device("cpu"), 0.2)


def test_reference_step_is_fixed_and_leaves_the_global_rng_alone(device_data):
    cfg = SweepConfig(hidden=(16, 8), batch_size=40, dataset="mnist", model="mlp")
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    run = plan.build(cfg)
    a, b = reference.for_plan(run, device_data), reference.for_plan(run, device_data)
    assert torch.equal(torch.rand(1), expected)
    assert all(
        torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True)
    )
    assert 0 < a.measure_us() < 1e6 and a.clock.collect().size == 0


def test_the_reference_step_is_work_of_the_runs_own_kind(device_data):
    """A CNN run's machine-speed reading times a CNN on the run's batch shape, with the
    baseline's activation: not an MLP that shares none of its kernels."""
    cfg = SweepConfig(batch_size=32, model="cnn", baseline="identity")
    ref = reference.for_plan(plan.build(cfg), device_data)
    kinds = {type(m).__name__ for m in ref.model.modules()}
    assert "Conv2d" in kinds and "ReLU" not in kinds
    assert ref.x.shape[0] == 32 and ref.y.shape == (32,)
    cfg = SweepConfig(batch_size=40, model="mlp", hidden=(16,), baseline="tanh")
    assert "Tanh" in {
        type(m).__name__ for m in reference.for_plan(plan.build(cfg), device_data).model.modules()
    }
    assert reference.describe(plan.build(cfg)) == "mlp 16, tanh, batch 40, forward+backward"


def test_a_shared_reference_is_read_once_per_epoch_and_a_private_one_every_time(
    monkeypatch, device_data
):
    readings = iter(range(1, 100))
    monkeypatch.setattr(reference.Reference, "measure_us", lambda self: float(next(readings)))
    cfg = SweepConfig(hidden=(8,), batch_size=20, model="mlp")
    run = plan.build(cfg)
    shared, private = (reference.for_plan(run, device_data, shared=s) for s in (True, False))
    assert [shared.at_epoch(e) for e in (1, 1, 1, 2, 2)] == [1, 1, 1, 2, 2]
    assert [private.at_epoch(e) for e in (1, 1, 2)] == [3, 4, 5]
