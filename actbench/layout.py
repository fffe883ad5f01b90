"""The package's layers, top to bottom: who calls whom.

A run's data flows request -> plan -> schedule -> trial -> records -> storage -> reports; the
imports point the other way where a layer reads a type. The list lives in the package, not in
the tests, because tools read it too: `scripts/provenance.py` decides which layers *measure*
(a change to their code makes a committed result stale) from `MEASURING`.
"""

from __future__ import annotations

LAYERS: list[tuple[str, frozenset[str]]] = [
    ("front ends", frozenset({"__main__", "__init__", "cli", "sweep_flags", "flags", "api"})),
    (
        "orchestration",
        frozenset(
            {
                "runner",
                "executor",
                "spares",
                "zygote",
                "worker",
                "progress",
                "interrupts",
                "shutdown",
                "groups",
                "kernel_probe",
            }
        ),
    ),
    (
        "reports",
        frozenset(
            {
                "printout",
                "painter",
                "site",
                "pages",
                "trackers",
                "trend",
                "plot",
                "comparison_view",
                "gate",
                "comparison",
                "suspects",
                "table",
                "legend",
                "formats",
                "summary",
                "costs",
                "outliers",
                "subnormals",
                "precision",
                "stats",
                "anatomy",
                "health_plot",
                "labels",
                "palette",
            }
        ),
    ),
    (
        "training",
        frozenset(
            {
                "schedule",
                "trainer",
                "instruments",
                "reference",
                "breakdown",
                "kernels",
                "memory",
                "health",
                "clock",
                "fit",
            }
        ),
    ),
    ("run description", frozenset({"plan"})),
    (
        "parts",
        frozenset(
            {
                "dataset",
                "data",
                "handoff",
                "series",
                "model",
                "step",
                "activation",
                "task",
                "device",
                "environment",
                "fingerprint",
                "network",
                "loader",
                "usercode",
                "floor",
            }
        ),
    ),
    (
        "records and storage",
        frozenset({"storage", "schema", "lock", "records", "run_record", "disturbance"}),
    ),
    ("plain values", frozenset({"config", "errors", "quiet", "layout", "command"})),
]

# what trains, times and writes a result; the reports read records when asked, so a table
# drawn now from an older run is drawn by today's code and is left out
MEASURING = ("orchestration", "training", "run description", "parts", "records and storage")
# report modules that also decide what a sweep trains: --precision's seeds
DECIDING = frozenset({"precision"})


def layer_of(module: str) -> str:
    """The name of the layer that holds `module` (a module name without the package)."""
    for name, modules in LAYERS:
        if module in modules:
            return name
    raise KeyError(module)


def measuring_modules() -> list[str]:
    """Every module whose code change makes the committed results describe older code."""
    chosen = {m for name, modules in LAYERS if name in MEASURING for m in modules}
    return sorted(chosen | DECIDING)
