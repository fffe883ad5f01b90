"""Stopping a sweep early: Ctrl-C and SIGTERM, and what a stopped sweep hands back.

Both stop it the same way: what finished is saved and tabulated, and the caller gets a
`SweepInterrupted` carrying it. SIGTERM (`kill`, a scheduler, a container stopping) is
turned into `Terminated`, a KeyboardInterrupt, while a sweep runs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


class SweepInterrupted(Exception):
    """Ctrl-C or SIGTERM during a sweep, after what had finished was saved."""

    def __init__(self, outcome: object, terminated: bool = False) -> None:
        super().__init__("terminated" if terminated else "interrupted")
        self.outcome, self.terminated = outcome, terminated


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While a sweep runs, SIGTERM raises `Terminated` (main thread only: elsewhere, e.g.
    a notebook's worker thread, Python allows no signal handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
