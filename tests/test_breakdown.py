"""The profiled breakdown attributes each part of a step to what really ran there."""

import pytest
import torch

from actbench import activation, breakdown
from actbench.model import Architecture
from actbench.records import PROFILE_PARTS
from actbench.step import StepSettings


def measure(name: str, model: str = "mlp") -> dict[str, float]:
    shape = (1, 28, 28) if model == "cnn" else (784,)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, *shape, generator=g), torch.randint(0, 10, (200,), generator=g)
    architecture = Architecture(model, (64, 64))
    return breakdown.measure(
        architecture, activation.resolve(name), StepSettings(batch_size=50), x, y
    )


def test_identity_has_no_activation_time_and_the_rest_is_attributed():
    parts = measure("identity")
    assert set(parts) == set(PROFILE_PARTS)
    assert parts["activation"] == 0.0  # nn.Identity runs no kernel at all
    for part in ("matmul", "loss", "optimizer", "other"):
        assert parts[part] > 0, part


@pytest.mark.parametrize("name", ["relu", "elu", "torch:sin"])
def test_an_activation_owns_its_forward_and_backward_kernels(name, monkeypatch):
    seen: list[str] = []
    real = breakdown.attribute

    def spy(events, on_cuda=False):
        events = list(events)
        seen.extend(e.name for e in events)
        return real(events, on_cuda)

    monkeypatch.setattr(breakdown, "attribute", spy)
    parts = measure(name)
    assert parts["activation"] > 0 and parts["matmul"] > 0
    backward = {"relu": "ReluBackward0", "elu": "EluBackward0", "torch:sin": "SinBackward0"}
    assert any(backward[name] in n for n in seen)  # the backward kernels were profiled


def test_the_cnn_is_attributed_too():
    parts = measure("relu", model="cnn")
    assert parts["activation"] > 0 and parts["matmul"] > parts["activation"]


def test_backward_nodes_follow_their_forward_operator():
    """Attribution by sequence number: a backward node takes its forward operator's part."""

    class Event:
        def __init__(self, name, start, seq=-1, parent=None, us=1.0):
            self.name, self.sequence_nr, self.cpu_parent = name, seq, parent
            self.time_range = type("R", (), {"start": start})()
            self.self_cpu_time_total = us

    step = Event(breakdown.STEP, 0)
    act = Event("actbench.activation", 1, us=100.0)  # a label's own time is not counted
    elu = Event("aten::elu", 2, seq=7, parent=act, us=3.0)
    lin = Event("actbench.matmul", 3)
    addmm = Event("aten::addmm", 4, seq=8, parent=lin, us=5.0)
    back = Event(breakdown.BACKWARD + "EluBackward0", 5, seq=7, us=2.0)
    kernel = Event("aten::elu_backward", 6, parent=back, us=4.0)
    stray = Event("aten::zero_", 7, us=0.5)
    parts = breakdown.attribute([kernel, back, addmm, lin, elu, act, step, stray])
    assert parts == {"activation": 9.0, "matmul": 5.0, "loss": 0.0, "optimizer": 0.0, "other": 0.5}
