"""actbench: what does an activation function cost, and what does it buy?

    import actbench
    run = actbench.sweep(activations=["relu", "tanh"], epochs=5)

See `actbench.api` for `sweep`, `resume`, `load`, `runs`, `compare`, `report`, `export`,
`activations`, `env`, `Run`, `Comparison`; refusals raise `ActbenchError` with the CLI's
one-line message.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("actbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

from actbench.errors import ActbenchError

__all__ = [
    "ActbenchError",
    "Comparison",
    "Run",
    "__version__",
    "activations",
    "compare",
    "env",
    "export",
    "load",
    "probe",
    "report",
    "resume",
    "runs",
    "sweep",
]


def __getattr__(name: str):
    """The API on first use: a worker process or `--help` that imports `actbench.worker` or
    `actbench.cli` never pays for pandas, matplotlib and scipy.stats it does not need."""
    if name in __all__ and name not in ("ActbenchError", "__version__"):
        from actbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'actbench' has no attribute {name!r}")
