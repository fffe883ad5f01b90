"""Silence for torch's C++ side: Kineto prints start/stop lines (and, on a CUDA build
without a GPU, an error) to the process's stderr; a user asked for a table, not for those."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while the block runs (Python's own
    `sys.stderr` objects are untouched, but they write to the same descriptor)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
