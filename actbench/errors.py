"""The one exception type that means "the user asked for something we cannot do", and the
warning that goes with it.

The CLI turns an error into a single `actbench: error: ...` line and a non-zero exit;
anything else that escapes is a bug and keeps its traceback. A message about a parameter
names it as `{batch_size}` and lists it in `params`: each front end names it in its own
terms (`--batch-size` on the command line, `batch_size` in Python) through `phrased`,
so the core never speaks either dialect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Namer = Callable[[str], str]
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def phrase(text: str, params: Sequence[str], name: Namer) -> str:
    """`text` with each `{param}` of `params` replaced by `name(param)`; other braces stay."""
    wanted = set(params)
    return _PLACEHOLDER.sub(lambda m: name(m[1]) if m[1] in wanted else m[0], text)


def python_name(param: str) -> str:
    """A parameter as the Python API spells it: its name, or the value that means it."""
    return "download=False" if param == "download" else param  # only ever turned off


class _Phrased:
    """One line of text whose `{param}` placeholders each front end names its own way."""

    def __init__(self, text: str, params: Sequence[str] = ()) -> None:
        self.text, self.params = text, tuple(params)
        super().__init__(text)

    def phrased(self, name: Namer) -> str:
        return phrase(self.text, self.params, name)

    def __str__(self) -> str:
        return self.phrased(python_name)


class ActbenchError(_Phrased, Exception):
    """Bad input or an unusable environment, explained in one line."""


class ActbenchWarning(_Phrased, UserWarning):
    """Something a reader of the results should know (rough timing, a divergence)."""


def first_line(exc: BaseException) -> str:
    """'ValueError: its first line': a user's exception, said in one line of a refusal."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
