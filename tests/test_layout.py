"""The package's layout shows its flow: every module sits in one layer, and imports only
run downwards (a layer may use the ones below it, never one above)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "actbench"
# top to bottom: who calls whom. A run's data flows request -> plan -> schedule -> trial ->
# records -> storage -> reports; the imports point the other way where a layer reads a type.
LAYERS = [
    ("front ends", {"__main__", "__init__", "cli", "sweep_flags", "flags", "api"}),
    ("orchestration", {"runner", "executor", "worker", "progress", "interrupts"}),
    (
        "reports",
        {
            "printout",
            "site",
            "pages",
            "trackers",
            "trend",
            "plot",
            "comparison_view",
            "gate",
            "comparison",
            "table",
            "formats",
            "summary",
            "costs",
            "stats",
            "anatomy",
            "health_plot",
        },
    ),
    (
        "training",
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
        },
    ),
    ("run description", {"plan"}),
    (
        "parts",
        {
            "dataset",
            "data",
            "series",
            "model",
            "step",
            "activation",
            "task",
            "device",
            "environment",
        },
    ),
    ("records and storage", {"storage", "schema", "lock", "records", "disturbance"}),
    ("plain values", {"config", "errors", "quiet"}),
]
RANK = {module: rank for rank, (_, modules) in enumerate(LAYERS) for module in modules}


def imports(path: Path) -> set[str]:
    """The actbench modules `path` imports (at any depth: a late import is an arrow too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("actbench"):
            if node.module == "actbench":
                found |= {a.name for a in node.names if a.name in RANK}
            else:
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("actbench.")}
    return found - {path.stem}


def graph() -> dict[str, set[str]]:
    return {p.stem: imports(p) for p in sorted(PACKAGE.glob("*.py"))}


def test_every_module_has_a_layer():
    assert set(graph()) == set(RANK)


def test_no_module_imports_one_above_it():
    upward = [
        f"{module} ({LAYERS[RANK[module]][0]}) imports {other} ({LAYERS[RANK[other]][0]})"
        for module, others in graph().items()
        for other in others
        if RANK[other] < RANK[module]
    ]
    assert upward == []


def test_imports_within_a_layer_have_no_cycle():
    edges = graph()
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in edges[module]:
            if state.get(other) == "open":
                raise AssertionError(" -> ".join([*path, module, other]))
            if other not in state:
                visit(other, [*path, module])
        state[module] = "done"

    for module in edges:
        if module not in state:
            visit(module, [])
