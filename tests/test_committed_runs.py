"""Every committed run folder loads, shows and compares exactly as the texts in
tests/golden/ say: a refactor that changes what a saved run reads as changes one of them.

They were written by `python -m tests.test_committed_runs --write` with the code of
5e95563 and held unchanged through the run-description redesign (issue 22, up to
8736d69); they were written again when `show` and `compare` learned to fit a terminal
(issue 26: compact tables, wrapped prose, the preemption-based timing flag). Write them
again only for a change of output you mean, and say so in the commit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from actbench import cli
from tests.conftest import example_runs

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
GOLDEN = Path(__file__).parent / "golden"
RUNS = [p.name for p in example_runs(RESULTS)]
# the comparisons docs/compare.md shows, and the two airline runs
PAIRS = [
    ("default", "default-repeat"),
    ("default", "threads2"),
    ("default", "compile"),
    ("airline-lstm", "airline-lstm-6x6"),
]


def _output(argv: list[str], capsys) -> str:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return f"exit {code}\n--- stdout\n{captured.out}--- stderr\n{captured.err}"


def _cases() -> dict[str, list[str]]:
    out = ["--out", "results", "--format", "github"]  # relative: the texts hold no clone's path
    cases = {f"show-{run}": ["show", run, *out] for run in RUNS}
    cases.update({f"compare-{a}-{b}": ["compare", a, b, *out] for a, b in PAIRS})
    cases["list"] = ["list", *out]
    return cases


@pytest.mark.parametrize("case", sorted(_cases()))
def test_a_committed_run_reads_as_before(case: str, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    expected = (GOLDEN / f"{case}.txt").read_text(encoding="utf-8")
    assert _output(_cases()[case], capsys) == expected


def test_every_committed_run_has_its_golden_text() -> None:
    assert {f"show-{run}" for run in RUNS} <= {p.stem for p in GOLDEN.glob("*.txt")}


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import contextlib
    import io
    import os

    class _Capsys:
        def __init__(self) -> None:
            self.out, self.err = io.StringIO(), io.StringIO()

        def readouterr(self):
            captured = type("C", (), {"out": self.out.getvalue(), "err": self.err.getvalue()})
            self.out, self.err = io.StringIO(), io.StringIO()
            return captured

    GOLDEN.mkdir(exist_ok=True)
    os.chdir(ROOT)
    for name, argv in _cases().items():
        cap = _Capsys()
        with contextlib.redirect_stdout(cap.out), contextlib.redirect_stderr(cap.err):
            code = cli.main(argv)
        text = f"exit {code}\n--- stdout\n{cap.out.getvalue()}--- stderr\n{cap.err.getvalue()}"
        (GOLDEN / f"{name}.txt").write_text(text, encoding="utf-8")
        print(name)
