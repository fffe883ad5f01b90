import os
import subprocess
import sys

import pytest
import torch

from actbench import device, plan
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
    with pytest.raises(ActbenchError, match=r"^threads must be at least 1, got 0"):
        plan.check_pins(0, None)


def test_untimed_passes_use_the_wider_count_and_hand_the_steps_back():
    pinning = device.Pinning(torch.device("cpu"), "cpu", 1, "0", False, untimed_threads=2)
    torch.set_num_threads(1)
    with pinning.untimed():
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 1
    with pytest.raises(RuntimeError), pinning.untimed():
        raise RuntimeError("a failing validation pass")
    assert torch.get_num_threads() == 1
    narrow = device.Pinning(torch.device("cpu"), "cpu", 1, "0", False)  # untimed: the step's
    with narrow.untimed():
        assert torch.get_num_threads() == 1


def test_untimed_threads_are_the_cores_unless_a_task_shares_them():
    own = device.pin("cpu", threads=1)
    fresh = subprocess.run(  # torch's own thread count, in a process nobody has pinned
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    cores = min(int(fresh.stdout), len(os.sched_getaffinity(0)))
    assert own.threads == 1 and own.untimed_threads == max(1, cores)
    assert device.pin("cpu", threads=1, own_cores=False).untimed_threads == 1  # a Ray task
    wide = device.pin("cpu", threads=int(fresh.stdout) + 1)
    assert wide.untimed_threads == wide.threads  # never fewer than the step's own
    device.pin_threads(1)
