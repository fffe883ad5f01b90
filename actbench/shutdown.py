"""A process's exit that does not walk every object it holds.

With torch, torch._dynamo, pandas and matplotlib loaded, the interpreter's own teardown
took about 1.7 s of a core on the 2-core host of docs/performance.md (two exits timed; its
garbage collections walk every object as the modules are torn down). Frozen first
(`gc.freeze`), the same exit took about 0.3 s. A sweep's command pays that after its table
is printed, with both cores held, and every worker on the core where its slot's next group
is starting; so both exit this way. atexit handlers still run and objects are still freed
by their reference counts (an open file is flushed as ever); only garbage caught in
reference cycles at exit is left for the operating system to reclaim with the process.
"""

from __future__ import annotations

import atexit
import gc


def quick() -> None:
    """Freeze every object this process holds when it exits (once, however often asked)."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
