"""The package's layout shows its flow: every module sits in one layer, and imports only
run downwards (a layer may use the ones below it, never one above)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
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


# run.json's own top-level keys, which no other dict or frame of the package uses as a key:
# a string subscript, `.get`, `.pop` or `in` with one of them reads run.json by key
RUN_KEYS = ("config", "environment", "dataset_defaults", "timing_method", "timer_overhead_us",
            "resumed")  # fmt: skip
# its other keys, which other dicts share ("status", "metric", ...): a read by key of one of
# these is a run.json read when the dict is named as a run document is
SHARED_KEYS = ("name", "status", "metric", "reference", "started", "finished", "data", "jobs")
RUN_NAMES = ("run", "run_a", "run_b", "run_info", "info", "document")
RUN_JSON = ("run.json", "RUN_JSON")
RECORDS = dict(LAYERS)["records and storage"]


def _key(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _named_run(node: ast.AST) -> bool:
    """Whether `node` is a name (or attribute) a module gives a run document."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
    return name in RUN_NAMES


def _read_by_key(node: ast.AST) -> tuple[ast.AST, str] | None:
    """(the dict, the key) when `node` reads a dict by a constant key: `d["k"]` (not as an
    assignment's target), `d.get("k")`, `d.pop("k")`, `"k" in d`."""
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _key(node.slice):
        return node.value, _key(node.slice)
    method = getattr(node.func, "attr", None) if isinstance(node, ast.Call) and node.args else None
    if method in ("get", "pop") and _key(node.args[0]):
        return node.func.value, _key(node.args[0])
    if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
        return (node.comparators[0], _key(node.left)) if _key(node.left) else None
    return None


def run_json_reads(source: str) -> list[str]:
    """Where `source` reads run.json itself: a call of `run_info()` (the plain document), a
    JSON load of a run.json path, or a read by one of its keys."""
    found = []
    for node in sorted(ast.walk(ast.parse(source)), key=lambda n: getattr(n, "lineno", 0)):
        line = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "run_info":
                found.append(f"{line}: calls run_info()")
            elif node.func.attr in ("load", "loads") and any(
                _key(n) in RUN_JSON or getattr(n, "id", getattr(n, "attr", None)) in RUN_JSON
                for n in ast.walk(node)
            ):
                found.append(f"{line}: loads run.json")
        read = _read_by_key(node)
        if read and (read[1] in RUN_KEYS or (read[1] in SHARED_KEYS and _named_run(read[0]))):
            found.append(f"{line}: reads [{read[1]!r}]")
    return found


def test_only_the_records_layer_reads_run_json():
    """Every reader of a run reads its `RunRecord` (`RunFolder.info`): outside the records
    layer no module loads run.json, calls `run_info()`, or reads the document by key, so
    run.json's format (and its older ones, `schema.upgrade`) is known in that layer alone."""
    reads = {
        path.stem: found
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem not in RECORDS and (found := run_json_reads(path.read_text(encoding="utf-8")))
    }
    assert reads == {}


def bracket_reads(text: str) -> list[str]:
    """The lines of `text` that read a run.json key as a grep finds them: `["config"]`,
    `.get("environment"` (f-strings and comments included; `document["jobs"] = n` writes)."""
    keys = "|".join(RUN_KEYS)
    subscript = rf"""\[\s*["']({keys})["']\s*\](?!\s*=[^=])"""
    pattern = re.compile(rf"""{subscript}|\.(get|pop)\(\s*["']({keys})["']""")
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if pattern.search(line)
    ]


def test_no_run_json_key_in_brackets_outside_the_records_layer():
    """The same rule as a grep reads it, in the text of every module outside the layer."""
    hits = {
        path.stem: found
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem not in RECORDS and (found := bracket_reads(path.read_text(encoding="utf-8")))
    }
    assert hits == {}


def test_the_run_json_rule_catches_reads_and_spares_other_dicts():
    """The checker itself, on hand-written code: what a report must not do, and what it may."""
    bad = (
        "import json\n"
        "def show(folder, path, entry):\n"
        "    run = folder.run_info()\n"
        "    threads = run['environment'].get('threads')\n"
        "    config = entry.run.get('config', {})\n"
        "    status = run['status']\n"
        "    old = 'environment' not in run\n"
        "    saved = json.loads((path / 'run.json').read_text())\n"
    )
    assert run_json_reads(bad) == [
        "line 3: calls run_info()",
        "line 4: reads ['environment']",
        "line 5: reads ['config']",
        "line 6: reads ['status']",
        "line 7: reads ['environment']",
        "line 8: loads run.json",
    ]
    good = (
        "def show(folder, trials, summary, row, document):\n"
        "    run = folder.info()\n"
        "    threads, baseline = run.environment.threads, run.config.baseline\n"
        "    metric = summary['metric'].iloc[0] if 'metric' in summary else None\n"
        "    flagged = row.get('timing') or trials['status']\n"
        "    document['data'] = {}\n"
        "    document.setdefault('resumed', []).append('now')\n"
    )
    assert run_json_reads(good) == []
    assert bracket_reads(bad) == [
        "4: threads = run['environment'].get('threads')",
        "5: config = entry.run.get('config', {})",
    ]
    assert bracket_reads(good + 'document["config"] = {}\nf"{run["config"]}"\n') == [
        '9: f"{run["config"]}"'
    ]


def test_a_sweep_starts_without_the_reports_imports():
    """The parent's imports are on a sweep's start path (its workers wait for its checks):
    matplotlib, scipy and arch are for the end (`printout.warm` pays them early where a
    core idles), so importing the orchestration loads none of them."""
    code = "import sys; from actbench import runner, cli; print(sorted(sys.modules))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()[2:-2]
        .split("', '")
    )
    assert "torch" in loaded and "actbench.executor" in loaded  # the listing is real
    assert not {"matplotlib", "scipy", "arch"} & loaded
