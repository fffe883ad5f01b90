"""The README and docs/ document what the CLI really does."""

import argparse
from pathlib import Path

from actbench import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_flag_of_every_command_is_in_the_docs():
    for name, sub in subcommands().items():
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}`" in DOCS, f"{name} {flag} is not documented in docs/"


def test_the_readme_is_short_and_links_every_docs_page():
    # a screenful per capability: the sweep, its evidence, Python, your network, compare
    assert len(README.splitlines()) <= 160
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in README, f"README does not link docs/{page.name}"


def test_relative_links_in_the_docs_resolve():
    import re

    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+?)(?:#[^)]*)?\)", text):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_readme_names_the_install_run_and_test_commands():
    assert 'pip install -e ".[dev]"' in README
    assert "python -m actbench sweep --device cpu" in README
    assert "python -m pytest" in README


def section(title: str) -> str:
    """The README's text from `## title` to the next `## ` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def test_the_readmes_data_folder_is_where_actbench_looks(monkeypatch, tmp_path):
    """'point `ACTBENCH_DATA` ... at the folder that holds `MNIST/raw/`: `export
    ACTBENCH_DATA=~/data` when the files are in `~/data/MNIST/raw/`': actbench reads MNIST
    from that very folder (tiny files written there, under a stand-in home)."""
    import re

    from actbench import data
    from tests.conftest import make_mnist

    text = " ".join(README.split())
    value, raw = re.search(
        r"`export ACTBENCH_DATA=(\S+)` when the files are in `(\S+)`", text
    ).groups()
    assert "the folder that holds `MNIST/raw/`" in text
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ACTBENCH_DATA", value)
    root = data.default_data_dir()
    assert data.raw_folder(root) == Path(raw).expanduser()
    make_mnist(Path(raw).expanduser().parents[1], n_train=20, n_test=10)
    assert len(data.load(root, download=False).train_labels) == 20


def test_the_quick_start_installs_cpu_only_torch_before_the_project():
    """The CPU-only line changes what `pip install -e` pulls in, so it comes first."""
    quick = section("Quick start")
    cpu = quick.index(
        "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"
    )
    assert cpu < quick.index('pip install -e ".[dev]"') < quick.index("python -m actbench sweep")


def test_the_readme_puts_what_it_is_and_the_quick_start_before_the_evidence():
    order = [
        README.index("## Quick start"),
        README.index("## Example"),
        README.index("checks hold; median half-width"),
        README.index("under an on/off CPU hog"),
    ]
    assert order == sorted(order)
    intro = README[: order[0]]
    assert "first (seed) article" in intro and "second article" in intro
    assert "(docs/tutorials.md)" in intro


def test_the_readmes_python_twins_are_the_commands():
    """'`runs()` is `list`, `env()` is `env`, ...': each function exists and its docstring
    names the command it stands for; `activations()` returns the built-in names."""
    import re

    import actbench

    text = " ".join(section("From Python or a notebook").split())
    twins = re.findall(r"`(\w+)\(\)` is `(\w+)`", text)
    assert {f for f, _ in twins} == {"runs", "env", "report", "export", "probe"}
    for function, command in twins:
        assert function in actbench.__all__ and command in subcommands(), function
        said = " ".join(getattr(actbench, function).__doc__.split())
        assert f"actbench {command}`" in said, (function, command)
    assert "`activations()` returns the built-in names `--activations` takes" in text
    assert {"identity", "relu", "tanh", "sigmoid", "elu"} <= set(actbench.activations())
