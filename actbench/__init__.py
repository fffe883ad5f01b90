"""actbench: what does an activation function cost, and what does it buy?"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("actbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
