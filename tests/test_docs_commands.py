"""Every command the README and docs/ show for a committed result is the one that made it.

A documented `python -m actbench sweep ... --name NAME` must make the configuration that
`results/NAME/run.json` recorded, and a documented `python scripts/X.py ... --json
results/Y.json` must carry the flags `results/Y.json` recorded. The expected side is what
the result saved about its own command line (`environment.argv`), read back through the
CLI's own parser; docs/results.md must list every committed result with its command and
the commit that made it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path

import pytest

from actbench import cli, sweep_flags
from scripts import provenance

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# where a result was written, kept or compared from: the place, not the measurement
PLACES = {"--out", "--json", "--keep", "--data-dir"}
NOT_MEASURED = {"out", "download", "data_dir", "quiet"}


def commands(text: str) -> list[str]:
    """Every `python -m actbench sweep` or `python scripts/X.py` command in a text: code
    block lines (with their backslash continuations) and inline code spans."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = re.findall(r"`(python (?:-m actbench (?:sweep|kernels)|scripts/\w+\.py)[^`]*)`", joined)
    for line in joined.splitlines():
        line = line.split("  #")[0].strip()
        if re.match(r"python (-m actbench (sweep|kernels)|scripts/\w+\.py)", line):
            found.append(line)
    return [" ".join(command.split()) for command in found]


def documented() -> list[tuple[str, str]]:
    return [(doc.name, command) for doc in DOCS for command in commands(doc.read_text())]


def sweep_config(argv: list[str]) -> dict:
    args = cli.build_parser().parse_args(argv)
    config = dataclasses.asdict(sweep_flags.config_from(args))
    return {k: v for k, v in config.items() if k not in NOT_MEASURED}


def script_flags(argv: list[str]) -> list[str]:
    """A script's flags less the places it wrote to; a path it read is named by its file."""
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg in PLACES:
            skip = True
            continue
        out.append(Path(arg).name if i and argv[i - 1] == "--against" else arg)
    return out


def named_result(argv: list[str]) -> Path | None:
    """The committed result a command names: its `--name` run folder or `--json` file."""
    for flag, path in (("--name", "{}/run.json"), ("--json", "{}")):
        if flag in argv:
            value = argv[argv.index(flag) + 1]
            target = RESULTS / path.format(Path(value).name)
            if flag == "--json" and not value.startswith("results/"):
                return None
            return target if target.is_file() else None
    return None


def recorded_argv(result: Path) -> list[str]:
    return json.loads(result.read_text())["environment"]["argv"]


DOCUMENTED = [
    (where, command)
    for where, command in documented()
    if named_result(shlex.split(command)[1:]) is not None
]


@pytest.mark.parametrize(("where", "command"), DOCUMENTED)
def test_a_documented_command_is_the_one_its_result_recorded(where, command):
    argv = shlex.split(command)[1:]
    result = named_result(argv)
    recorded = recorded_argv(result)
    if argv[:3] == ["-m", "actbench", "kernels"]:  # its flags, as a script's
        assert script_flags(argv[3:]) == script_flags(recorded[2:]), (where, command)
    elif argv[0] == "-m":  # python -m actbench sweep ...
        made = sweep_config(recorded[1:])
        shown = sweep_config(argv[2:])
        if shown["device"] == "auto" and made["device"] == "cpu":
            shown["device"] = "cpu"  # no GPU on the machine: the default device is the CPU
        assert shown == made, (where, command)
    else:
        assert Path(argv[0]).name == Path(recorded[0]).name, (where, command)
        assert script_flags(argv[1:]) == script_flags(recorded[1:]), (where, command)


def test_every_committed_result_is_listed_with_its_command_in_results_md():
    text = (ROOT / "docs" / "results.md").read_text()
    section = text[text.index("## The committed results") :]
    listed = {named_result(shlex.split(c)[1:]) for c in commands(section)}
    for result in provenance.results():  # what git tracks under results/
        assert result in listed, result.relative_to(ROOT)


def test_results_md_names_the_commit_that_made_each_result():
    """The visible mark of provenance: each row's "made by" cell is the commit its file
    recorded (scripts/remake.py sets it; which results are stale is a report,
    `python scripts/provenance.py`, not a failure)."""
    text = (ROOT / "docs" / "results.md").read_text()
    rows = re.findall(
        r"^\| \[`[^`]+`\]\(\.\./(results/[^)]+?)/?\).*\| `([0-9a-f]{9})` \|$", text, re.M
    )
    shown = dict(rows)
    for result in provenance.results():
        name = str((result.parent if result.name == "run.json" else result).relative_to(ROOT))
        made_by = json.loads(result.read_text())["environment"]["git_commit"][:9]
        assert shown.get(name) == made_by, name


def test_the_command_finder_reads_continuations_and_inline_spans():
    """Hand-written text: one wrapped block command, one inline, one that is not a command."""
    text = (
        "Run `python -m actbench sweep --seeds 0-2 --name x` first.\n\n"
        "```bash\npython scripts/gate_check.py \\\n    --json results/g.json   # ~9 min\n"
        "python -m actbench compare a b\n```\n"
    )
    assert commands(text) == [
        "python -m actbench sweep --seeds 0-2 --name x",
        "python scripts/gate_check.py --json results/g.json",
    ]
