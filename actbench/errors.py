"""The one exception type that means "the user asked for something we cannot do".

The CLI turns it into a single `actbench: error: ...` line and a non-zero exit; anything
else that escapes is a bug and keeps its traceback.
"""


class ActbenchError(Exception):
    """Bad input or an unusable environment, explained in one line."""
