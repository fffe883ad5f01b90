"""A quick exit: everything frozen before the interpreter's teardown, not before."""

import subprocess
import sys

PROGRAM = """
import atexit, gc
from actbench import shutdown
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
shutdown.quick()
shutdown.quick()
print("frozen now:", gc.get_freeze_count() > 0)
"""


def test_quick_freezes_the_objects_at_exit_and_not_before():
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    # atexit runs its handlers last-registered first: the freeze, then the print above
    assert out == ["frozen now: False", "frozen at exit: True"]
