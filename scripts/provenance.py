"""Which committed results were made by the code as it is now.

A result under `results/` (a run folder's run.json, or a script's JSON) records the commit
that made it and whether the tree was clean. It still describes the code when no module
that *measures* has changed its code since that commit: the layers from the orchestration
down to the records (what trains, times and writes), and for a script's JSON the script
itself. "Its code" is the module's syntax tree without docstrings (Python's `ast`), so a
comment or a docstring that quotes a figure can be corrected without making every result
stale; any other change, an import's name included, counts.
The reports layer is left out on purpose: it reads records when asked, so a table or a
chart drawn now from an older run is drawn by today's code.

    python scripts/provenance.py            # one line per result; exit 1 if any is stale
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actbench.layout import measuring_modules  # noqa: E402  (the layers are defined there)


def measuring_paths() -> list[str]:
    return [f"actbench/{m}.py" for m in measuring_modules()]


def recorded(path: Path) -> tuple[dict, str | None]:
    """(environment, script) of a result file: a run's run.json, or a script's JSON."""
    data = json.loads(path.read_text(encoding="utf-8"))
    env = data.get("environment") or {}
    argv = env.get("argv") or []
    script = next((a for a in argv if a.startswith("scripts/") and a.endswith(".py")), None)
    return env, script if path.name != "run.json" else None


def changed_since(commit: str, paths: list[str]) -> list[str]:
    out = subprocess.run(
        ["git", "diff", "--name-only", commit, "HEAD", "--", *paths],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode:
        return [f"(commit {commit[:9]} is not in this history)"]
    return out.stdout.split()


def code(source: str) -> str:
    """The module's syntax tree with every docstring dropped, as comparable text."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        value = first.value if isinstance(first, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def show(rev: str, path: str) -> str | None:
    out = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return out.stdout if out.returncode == 0 else None


def code_changed(commit: str, path: str) -> bool:
    then, now = show(commit, path), show("HEAD", path)
    if then is None or now is None:
        return True
    return code(then) != code(now)


def verdict(path: Path) -> str:
    """'' when the result describes the code now, else why not."""
    env, script = recorded(path)
    commit = env.get("git_commit")
    if not commit:
        return "no commit recorded"
    if env.get("git_dirty") is not False:
        return "made from a tree with uncommitted changes (or not recorded)"
    changed = changed_since(commit, measuring_paths() + ([script] if script else []))
    changed = [p for p in changed if not p.endswith(".py") or code_changed(commit, p)]
    if not changed:
        return ""
    return f"{len(changed)} measuring file(s) changed since: {', '.join(changed)}"


def results() -> list[Path]:
    tracked = subprocess.run(
        ["git", "ls-files", "results/*/run.json", "results/*.json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [ROOT / p for p in tracked if p.count("/") <= 2]


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    stale = 0
    for path in results():
        why = verdict(path)
        stale += bool(why)
        name = path.relative_to(ROOT)
        print(f"stale  {name}: {why}" if why else f"ok     {name}")
    print(f"{stale} of {len(results())} results do not describe the code now")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
