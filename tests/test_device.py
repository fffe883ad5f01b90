import pytest
import torch

from actbench import device
from actbench.errors import ActbenchError


def test_cpu_and_auto():
    assert device.resolve("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and device._mps_available():
        expected = "mps"
    assert device.resolve("auto").type == expected


def test_not_a_device():
    with pytest.raises(ActbenchError, match="'gpu0' is not a device"):
        device.resolve("gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only refusal")
@pytest.mark.parametrize("spec", ["cuda", "cuda:7"])
def test_unavailable_cuda_is_an_error_not_a_fallback(spec):
    with pytest.raises(ActbenchError, match="CUDA is not available"):
        device.resolve(spec)


@pytest.mark.skipif(device._mps_available(), reason="checks the refusal where MPS is absent")
def test_unavailable_mps_is_an_error():
    with pytest.raises(ActbenchError, match="MPS is not available"):
        device.resolve("mps")


def test_pin_threads():
    assert device.pin_threads(1) == 1 == torch.get_num_threads()
    assert device.pin_threads(None) == 1
    with pytest.raises(ActbenchError, match="at least 1"):
        device.pin_threads(0)
