"""The command that made a run, as its user would type it again.

`sys.argv` holds what the shell handed Python: under `python -m actbench` its first item is
the absolute path of the `actbench/__main__.py` that ran (a temporary worktree's, for a
remade result), which no one can copy. A run records `argv` as it was (what
`scripts/remake.py` reruns) and, beside it, `command`: the program as the user named it
(`python -m actbench` or `actbench`) and the arguments as typed, relative paths relative.
A sweep started from Python records the call instead (`actbench.sweep(...)`), set by the
API around the sweep (`invoked_as`), since the host's argv (a notebook kernel's) says
nothing of it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

_INVOKED: ContextVar[str | None] = ContextVar("actbench_invoked_as", default=None)


def program(argv0: str) -> list[str] | None:
    """How the user started actbench, from `sys.argv[0]`: `python -m actbench`, the
    `actbench` script, or None (a script or host of its own)."""
    path = Path(argv0)
    if path.name == "__main__.py" and path.parent.name == "actbench":
        return ["python", "-m", "actbench"]
    if path.name == "actbench":
        return ["actbench"]
    return None


def from_argv(argv: Sequence[str]) -> str:
    """A copyable command line from a recorded argv: actbench's entry point as the user
    named it, the rest as typed; any other program's argv as it was."""
    if not argv:
        return ""
    prog = program(str(argv[0]))
    if prog is None:
        return shlex.join(map(str, argv))
    return shlex.join([*prog, *map(str, argv[1:])])


@contextmanager
def invoked_as(command: str) -> Iterator[None]:
    """Within this block, a run records `command` as the one that made it (the API's call)."""
    token = _INVOKED.set(command)
    try:
        yield
    finally:
        _INVOKED.reset(token)


def current(argv: Sequence[str]) -> str | None:
    """What this process's run records as its command: the API's call when one is being
    made, else `argv` made copyable when actbench's own entry point ran, else None."""
    given = _INVOKED.get()
    if given is not None:
        return given
    return from_argv(argv) if argv and program(str(argv[0])) else None


def python_call(function: str, arguments: dict[str, object]) -> str:
    """`actbench.sweep(activations=['relu'], epochs=5)`: an API call, as its arguments'
    reprs (paths as the strings given)."""
    shown = ", ".join(
        f"{k}={str(v)!r}" if isinstance(v, Path) else f"{k}={v!r}" for k, v in arguments.items()
    )
    return f"actbench.{function}({shown})"
