import time

import pytest
import torch

from actbench import clock


def test_cpu_clock_measures_the_bracketed_region_and_resets_per_epoch():
    timer = clock.clock_for(torch.device("cpu"))
    for delay in (0.002, 0.012):
        timer.start()
        time.sleep(delay)
        timer.stop()
    first = timer.collect()
    # a sleep lasts at least what it asked (a busy machine only lengthens it): lower bounds
    assert first.shape == (2,) and first[0] >= 2000 and first[1] >= 12000
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


def test_the_stamps_of_a_span_read_as_the_steps_do():
    """The breakdown's stamps come from the same clock: a span bracketed by `now()` reads
    in µs after `sync()`, like a step bracketed by start/stop."""
    timer = clock.clock_for(torch.device("cpu"))
    start = timer.now()
    time.sleep(0.002)
    end = timer.now()
    timer.sync()
    assert 2000 <= timer.elapsed_us(start, end) < 1e6


def test_the_breakdown_synchronises_on_mps_as_the_steps_do(monkeypatch):
    """On MPS a stamp, like a step's start and stop, waits for the device first (no MPS
    needed: the synchronisation is counted)."""
    from actbench import breakdown

    calls = []
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append(1))
    stamps = breakdown._Stamps(torch.device("mps"))
    assert isinstance(stamps.clock, clock.SyncClock)
    start = stamps.now()
    stamps.add("activation", start)
    assert len(calls) == 2 and stamps.totals()["activation"] >= 0
