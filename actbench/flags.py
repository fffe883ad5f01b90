"""The command line's vocabulary: value types that refuse bad input in one line, the
option groups that several commands share, and the options of the smaller commands. No
command logic lives here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tabulate import tabulate_formats

from actbench.config import DEFAULT_OUT, DEFAULT_SITE, DEFAULT_TOLERANCE, DEVICE_CHOICES

EXIT_ERROR = 2


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show `(default: X)` only where X says something the help text does not."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, True, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of usage + error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def number(kind: Callable[[str], float], flag: str) -> Callable[[str], float]:
    """A number (`int` or `float`); whether it is in range is for the code it reaches."""

    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} wants a number, got {text!r}") from None

    return parse


def int_list(flag: str) -> Callable[[str], list[int]]:
    """Comma list of integers; `a-b` ranges too (for --seeds 0-4)."""

    def parse(text: str) -> list[int]:
        values: list[int] = []
        parts = [p.strip() for p in text.split(",")]
        if any(parts) and not all(parts):
            raise argparse.ArgumentTypeError(f"{flag} has an empty item: {text!r}")
        try:
            for part in parts:
                first, dash, last = part.partition("-")
                if dash and first:
                    if int(last) < int(first):
                        raise argparse.ArgumentTypeError(
                            f"{flag} has a reversed range {part!r}; write {last}-{first}"
                        )
                    values.extend(range(int(first), int(last) + 1))
                else:
                    values.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} wants comma-separated integers, got {text!r}"
            ) from None
        return values

    return parse


def default_format() -> str:
    """A grid on a terminal; GitHub markdown on a pipe, so output pastes into an issue."""
    return "rounded_grid" if sys.stdout.isatty() else "github"


FORMAT_HELP = (
    "any tabulate format for the printed table "
    "(default: a grid on a terminal, github markdown on a pipe)"
)


def table_format(text: str) -> str:
    if text not in tabulate_formats:
        raise argparse.ArgumentTypeError(
            f"unknown table format {text!r}; use one of {', '.join(tabulate_formats)}"
        )
    return text


def parent(*adders: Callable[[argparse.ArgumentParser], None]) -> Parser:
    """An argparse parent holding the given shared options."""
    p = Parser(add_help=False, allow_abbrev=False)
    for add in adders:
        add(p)
    return p


def add_debug(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")


def add_out(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="folder that holds run folders (a run may also be named by its folder's path)",
    )


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", type=table_format, default=None, help=FORMAT_HELP)


def add_wide(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wide",
        action="store_true",
        help="every column (default: the columns a reader decides by, fitting 100 columns; "
        "summary.md, summary.csv and --csv/--json always hold them all)",
    )


def add_pinning(p: argparse.ArgumentParser) -> None:
    """--device, --threads, --cpu-affinity: what `sweep` pins and `env` previews."""
    p.add_argument(
        "--device",
        default="auto",
        help=f"{DEVICE_CHOICES}; auto = cuda if "
        "available, else mps, else cpu. An unavailable device is an error",
    )
    p.add_argument(
        "--threads",
        type=number(int, "--threads"),
        default=None,
        help="CPU intra-op threads of the timed step (default on a CPU: 1, which keeps "
        "activation costs steady under a busy neighbour; validation and the test pass use "
        "every core; other devices: what torch picks); always recorded",
    )
    p.add_argument(
        "--cpu-affinity",
        type=int_list("--cpu-affinity"),
        default=None,
        metavar="CPUS",
        help="pin the process to these CPUs, e.g. 0,1 or 0-3 (Linux)",
    )


def add_gate(p: argparse.ArgumentParser) -> None:
    """The gate's limits and the verdicts' tolerance: what `compare` exits by and `report`
    shows."""
    p.add_argument(
        "--fail-if-slower",
        dest="slower_pct",
        type=number(float, "--fail-if-slower"),
        metavar="PCT",
        default=None,
        help="gate: FAIL if any activation is slower by more than PCT%% with confidence "
        "(one-sided t test over seeds, Holm-corrected over every row the gate tests); "
        "compare exits 1 on a FAIL, 3 if a row cannot be tested; report shows the outcome",
    )
    p.add_argument(
        "--fail-if-less-accurate",
        dest="less_accurate_points",
        type=number(float, "--fail-if-less-accurate"),
        metavar="POINTS",
        default=None,
        help="gate: FAIL if any activation is less accurate by more than POINTS percentage "
        "points (for a series: RMSE higher by more than POINTS) (paired t-test over >= 3 "
        "common seeds, Holm-corrected with every row the gate tests); exit codes as above",
    )
    p.add_argument(
        "--tolerance",
        type=number(float, "--tolerance"),
        default=100 * DEFAULT_TOLERANCE,
        metavar="PCT",
        help="speed verdicts: faster/slower when the whole confidence interval lies beyond "
        "1 ± PCT%%, same when it lies inside (default: %(default)g)",
    )
    p.add_argument(
        "--confidence",
        type=number(float, "--confidence"),
        default=0.95,
        help="confidence level of the ratio interval",
    )


def add_compare(p: argparse.ArgumentParser) -> None:
    """`compare`'s runs, and the files it may also write."""
    p.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="run folders or names under --out; the first is the baseline A",
    )
    p.add_argument(
        "--csv",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the comparison rows as CSV",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the comparison (differences, warnings, rows) as JSON",
    )


def add_report(p: argparse.ArgumentParser) -> None:
    """`report`'s runs and where its site goes."""
    p.add_argument("runs", nargs="*", metavar="RUN", help="run folders or names under --out")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_SITE,
        metavar="SITE",
        help="folder for the site (a new one, or an earlier report's, which is replaced)",
    )


def add_export(p: argparse.ArgumentParser) -> None:
    """`export`'s runs and where they go."""
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders or names under --out")
    p.add_argument(
        "--tensorboard", type=Path, required=True, metavar="DIR", help="TensorBoard log folder"
    )


def add_probe(p: argparse.ArgumentParser) -> None:
    """`kernels`: which activations, sizes, threads, capabilities, flush, where to save."""
    p.add_argument(
        "--activations",
        default="all",
        help="comma list: built-in names, FILE.py:NAME or package.module:attr "
        "(default: every built-in)",
    )
    p.add_argument(
        "--sizes",
        default=None,
        help="comma list of input sizes in bytes, K/M/G for KiB/MiB/GiB (default: 4K, x4 up "
        "to 4x the last-level cache this CPU's sysfs reports)",
    )
    p.add_argument(
        "--threads", type=number(int, "--threads"), default=1, help="intra-op threads (default 1)"
    )
    p.add_argument(
        "--flush-denormal",
        action="store_true",
        help="time each range with denormals flushed too, in alternating blocks beside "
        "flush off (their price as a ratio)",
    )
    p.add_argument(
        "--cpu-capability",
        default=None,
        metavar="NAME[,NAME...]",
        help="probe once per capability (default, avx2, avx512 on x86; 'all': each this CPU "
        "dispatches), each in a fresh process with ATEN_CPU_CAPABILITY set",
    )
    p.add_argument(
        "--json", type=Path, default=None, help="write every reading and the environment here"
    )
