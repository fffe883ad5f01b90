"""The package's layout shows its flow: every module sits in one layer, and imports only
run downwards (a layer may use the ones below it, never one above)."""

from __future__ import annotations

import ast
from pathlib import Path

from actbench.layout import LAYERS

PACKAGE = Path(__file__).resolve().parents[1] / "actbench"
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


def test_reports_never_import_the_training_code():
    """The reports read records only (the docstrings' claim): no module of the reports layer
    imports one of the training layer, so a report of an old run cannot run training code."""
    training = dict(LAYERS)["training"]
    reports = dict(LAYERS)["reports"]
    reached = {m: graph()[m] & training for m in reports}
    assert {m: found for m, found in reached.items() if found} == {}


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    """The checker itself, on a hand-written module: a report importing the trainer."""
    module = tmp_path / "table.py"
    module.write_text("from actbench.trainer import Trial\nimport actbench.clock\n")
    assert imports(module) == {"trainer", "clock"}
