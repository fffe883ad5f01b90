"""Make committed results again, by one command, from the commands they recorded.

Every result under `results/` (a run folder's run.json, a script's JSON, or the JSON of
`actbench kernels --json`) recorded the
command line that made it (`environment.argv`). This script makes a clean worktree of one
commit (HEAD by default), reruns each chosen result's command there, one at a time, and writes
what it made back where the result belongs; then it sets the commit column of
docs/results.md's table to the commit that made each one. Where a command wrote (`--out`,
`--json`, `--keep`) is the only thing changed; `--against FILE` reads the committed file
of that name, so a result another one compares against is remade first.

    python scripts/remake.py                        # every committed result
    python scripts/remake.py --stale                # those provenance calls stale
    python scripts/remake.py --only results/default results/gate_check-cpu.json
    python scripts/remake.py --dry-run              # the commands, run nothing

Nothing else should run meanwhile (every result is a timing): it refuses to start while the
machine's one-minute load is above `--max-load`. The docs' figures that quote a remade result
are not rewritten: `python -m pytest tests/test_docs_numbers.py` then says which to mend.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts import provenance  # noqa: E402

RESULTS_MD = ROOT / "docs" / "results.md"


@dataclass(frozen=True)
class Job:
    """One result to make again: the command, where it runs, and what goes where after."""

    result: Path  # results/NAME/run.json or results/NAME.json
    argv: list[str]  # run with the worktree's PYTHONPATH
    copies: list[tuple[Path, Path]]  # (made in the scratch folder, committed place)
    # a sweep runs in its scratch folder, so that the command it records (`--out runs`) is
    # one a reader can copy; a script runs in the worktree, where its path is
    in_scratch: bool = False


def _flag(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def _replace(argv: list[str], flag: str, value: str) -> list[str]:
    out = list(argv)
    out[out.index(flag) + 1] = value
    return out


def job_for(result: Path, scratch: Path, results: Path) -> Job:
    """The command that makes `result` again, writing under `scratch`."""
    argv = json.loads(result.read_text(encoding="utf-8"))["environment"]["argv"]
    if result.name == "run.json":  # a sweep: python -m actbench sweep ... --out OUT
        folder = result.parent
        args = list(argv[1:])  # argv[0]: the path of the __main__.py that ran, never copied
        args = _replace(args, "--out", "runs") if "--out" in args else [*args, "--out", "runs"]
        if _flag(args, "--name") is None:
            args += ["--name", folder.name]
        made = scratch / "runs" / (_flag(args, "--name") or folder.name)
        argv = [sys.executable, "-m", "actbench", *args]
        return Job(result, argv, [(made, folder)], in_scratch=True)
    if argv[1:2] == ["kernels"]:  # python -m actbench kernels ... --json FILE: in the tree
        args = list(argv[1:])
        made = scratch / result.name
        args = (
            _replace(args, "--json", str(made))
            if "--json" in args
            else [*args, "--json", str(made)]
        )
        return Job(result, [sys.executable, "-m", "actbench", *args], [(made, result)])
    script, args = argv[0], list(argv[1:])
    copies = []
    if "--json" in args:
        args = _replace(args, "--json", str(scratch / result.name))
        copies.append((scratch / result.name, result))
    keep = _flag(args, "--keep")
    if keep is not None:
        args = _replace(args, "--keep", str(scratch / "keep"))
        kept = results / Path(script).stem
        if kept.is_dir():  # the repository keeps that script's sweeps as evidence
            copies.append((scratch / "keep", kept))
    against = _flag(args, "--against")
    if against is not None:
        args = _replace(args, "--against", str(results / Path(against).name))
    return Job(result, [sys.executable, f"scripts/{Path(script).name}", *args], copies)


def ordered(results: list[Path]) -> list[Path]:
    """Results another one reads (`--against`) first."""

    def reads(path: Path) -> bool:
        argv = json.loads(path.read_text(encoding="utf-8"))["environment"]["argv"]
        return "--against" in argv

    return sorted(results, key=reads)


def chosen(only: list[str], stale: bool) -> list[Path]:
    every = provenance.results()
    if only:
        wanted = set()
        for name in only:
            path = (ROOT / name).resolve()
            match = [r for r in every if path in (r, r.parent)]
            if not match:
                raise SystemExit(f"remake: {name} is not a committed result (see docs/results.md)")
            wanted |= set(match)
        every = [r for r in every if r in wanted]
    if stale:
        every = [r for r in every if provenance.verdict(r)]
    return ordered(every)


def place(made: Path, target: Path) -> None:
    if not made.exists():
        raise SystemExit(f"remake: the command made no {made.name}; {target} is left as it was")
    if made.is_dir():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(made, target, ignore=shutil.ignore_patterns(".lock"))
    else:
        shutil.copy2(made, target)


def recorded_commit(result: Path) -> str:
    return json.loads(result.read_text(encoding="utf-8"))["environment"]["git_commit"]


def with_commits(text: str, commits: dict[str, str]) -> str:
    """docs/results.md's table with the commit cell of each named result (its first link's
    target, relative to docs/) set to `commits[target]`."""

    def row(match: re.Match) -> str:
        cells = match.group(0).split(" | ")
        link = re.search(r"\]\(\.\./(results/[^)]+?)/?\)", cells[0])
        if link is None or link.group(1) not in commits:
            return match.group(0)
        cells[-1] = f"`{commits[link.group(1)][:9]}` |"
        return " | ".join(cells)

    return re.sub(r"^\| \[`.*\|$", row, text, flags=re.M)


def key(result: Path) -> str:
    """How docs/results.md links a result: results/NAME (a run folder) or results/X.json."""
    return str((result.parent if result.name == "run.json" else result).relative_to(ROOT))


def remake(results: list[Path], commit: str, dry_run: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="remake-") as tmp:
        tree = Path(tmp) / "tree"
        if not dry_run:
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True
            )
        try:
            for n, result in enumerate(results, 1):
                scratch = Path(tmp) / f"made{n}"
                job = job_for(result, scratch, ROOT / "results")
                print(f"[{n}/{len(results)}] {key(result)}: {' '.join(job.argv[1:])}", flush=True)
                if dry_run:
                    continue
                scratch.mkdir()
                env = {**os.environ, "PYTHONPATH": str(tree)}
                cwd = scratch if job.in_scratch else tree
                done = subprocess.run(job.argv, cwd=cwd, env=env, check=False)
                if done.returncode not in (0, 1):  # a gate or check may exit 1 on its verdict
                    raise SystemExit(f"remake: {key(result)} exited {done.returncode}; stopped")
                for made, target in job.copies:
                    place(made, target)
                commits = {key(result): recorded_commit(result)}
                RESULTS_MD.write_text(with_commits(RESULTS_MD.read_text(), commits))
        finally:
            if not dry_run:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="RESULT",
        help="these results (results/NAME or results/X.json) alone",
    )
    parser.add_argument(
        "--stale", action="store_true", help="only the results scripts/provenance.py calls stale"
    )
    parser.add_argument("--commit", default="HEAD", help="the commit whose code makes them")
    parser.add_argument(
        "--max-load",
        type=float,
        default=1.0,
        help="refuse to start above this one-minute load average",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    results = chosen(args.only, args.stale)
    load = os.getloadavg()[0]
    if not args.dry_run and load > args.max_load:
        print(
            f"remake: the machine is busy (load {load:.2f} > --max-load {args.max_load}); "
            "every result is a timing, so wait until nothing else runs",
            file=sys.stderr,
        )
        return 2
    commit = subprocess.run(
        ["git", "rev-parse", args.commit], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"remaking {len(results)} result(s) with the code of {commit[:9]}")
    remake(results, commit, args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
