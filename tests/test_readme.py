"""The README documents what the CLI really does."""

import argparse
from pathlib import Path

from actbench import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_flag_of_every_command_is_in_the_readme():
    for name, sub in subcommands().items():
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}`" in README, f"{name} {flag} is not documented"


def test_readme_names_the_install_run_and_test_commands():
    assert 'pip install -e ".[dev]"' in README
    assert "python -m actbench sweep --device cpu" in README
    assert "python -m pytest" in README
