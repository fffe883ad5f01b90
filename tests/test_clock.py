import time

import pytest
import torch

from actbench import clock


def test_cpu_clock_measures_the_bracketed_region_and_resets_per_epoch():
    timer = clock.clock_for(torch.device("cpu"))
    for delay in (0.002, 0.0):
        timer.start()
        time.sleep(delay)
        timer.stop()
    first = timer.collect()
    assert first.shape == (2,) and first[0] >= 2000 and first[1] < first[0]
    assert timer.collect().size == 0


def test_method_names_the_clock():
    assert "perf_counter_ns" in clock.method(torch.device("cpu"))
    assert "cuda.Event" in clock.method(torch.device("cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_clock_reads_events_once_per_epoch():
    timer = clock.clock_for(torch.device("cuda"))
    x = torch.randn(2048, 2048, device="cuda")
    for _ in range(3):
        timer.start()
        x @ x
        timer.stop()
    us = timer.collect()
    assert us.shape == (3,) and (us > 0).all()
