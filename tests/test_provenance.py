"""scripts/provenance.py on a scratch repository: which change makes a result stale.

The repository is built here (the package's files, one result recording its commit), so
the expected verdicts follow from the edits made below, not from this repository's state.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding actbench/ and scripts/provenance.py, and one committed
    result made by its first commit from a clean tree."""
    repo = tmp_path / "repo"
    shutil.copytree(
        ROOT / "actbench", repo / "actbench", ignore=shutil.ignore_patterns("__pycache__")
    )
    (repo / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "provenance.py", repo / "scripts")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "code")
    made_by = git(repo, "rev-parse", "HEAD")
    (repo / "results").mkdir()
    env = {"git_commit": made_by, "git_dirty": False, "argv": ["actbench", "sweep"]}
    (repo / "results" / "r.json").write_text(json.dumps({"environment": env}))
    git(repo, "add", "results")
    git(repo, "commit", "-q", "-m", "result")
    return repo


def provenance(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/provenance.py"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )


def edit(repo: Path, module: str, old: str, new: str) -> None:
    path = repo / "actbench" / f"{module}.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    git(repo, "commit", "-q", "-am", f"edit {module}")


def test_a_result_is_current_while_no_measuring_code_changed(repo):
    done = provenance(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok     results/r.json" in done.stdout


def test_a_new_local_variable_in_the_trainer_makes_it_stale(repo):
    edit(repo, "trainer", "\nimport ", "\nunused = 1\nimport ")
    done = provenance(repo)
    assert done.returncode == 1
    assert "stale  results/r.json: 1 measuring file(s) changed since: actbench/trainer.py" in (
        done.stdout
    )


def test_a_docstring_or_a_report_module_leaves_it_current(repo):
    edit(repo, "trainer", '"""', '"""A figure corrected in a docstring. ')
    edit(repo, "table", "\ndef ", "\nunused = 1\n\n\ndef ")  # reports are drawn by today's code
    done = provenance(repo)
    assert done.returncode == 0, done.stdout
