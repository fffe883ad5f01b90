"""Command line: parse, dispatch, and turn refusals into one line and an exit status.

Only the light modules are imported up front, so that `--help`, `--version` and a
mistyped flag answer at once; each command imports what it needs (torch included) when it
runs."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from actbench import __version__, flags, shutdown, sweep_flags
from actbench.command import program
from actbench.errors import ActbenchError, ActbenchWarning
from actbench.flags import EXIT_ERROR, HelpFormatter, Parser, default_format
from actbench.interrupts import SweepInterrupted, Terminated

if TYPE_CHECKING:
    from actbench.runner import SweepOutcome

EXIT_FAILED, EXIT_UNCHECKED, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 3, 130, 143


def build_parser() -> Parser:
    parser = Parser(
        prog="actbench",
        description=(
            "What does an activation function cost, and what does it buy? Trains the same model "
            "(on MNIST, Fashion-MNIST, KMNIST or the airline-passenger series) once per "
            "activation, times every training step, and tabulates test accuracy (or RMSE) "
            "against µs per step."
        ),
    )
    parser.add_argument("--version", action="version", version=f"actbench {__version__}")
    parser.add_argument(
        "--debug", dest="debug_all", action="store_true", help="show tracebacks for errors"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    def command(name: str, help: str, *adders, description: str | None = None) -> Parser:
        return commands.add_parser(
            name,
            help=help,
            description=description or help,
            formatter_class=HelpFormatter,
            parents=[flags.parent(flags.add_debug, *adders)],
            allow_abbrev=False,
        )

    s = command(
        "sweep",
        "train once per activation (and seed) and write a results table",
        flags.add_pinning,
        flags.add_out,
        flags.add_format,
        flags.add_wide,
        description="Train the model once per (activation, seed), time every step, and write "
        "<out>/<name>/ with run.json, trials.csv, rounds.csv, history.csv, memory.csv, steps/ "
        "(each trial's step times), summary.md, summary.csv and plots. "
        "Defaults marked 'by dataset' follow --dataset (its article's settings).",
    )
    sweep_flags.add(s)
    s.set_defaults(handler=cmd_sweep, sweep_parser=s)

    p = command(
        "plot",
        "(re)draw a run's plots, or overlay several runs in one scatter",
        flags.add_out,
        description="With one RUN: redraw its pictures in its "
        "folder (or, with -o, write its scatter there). With several: one scatter of all of "
        "them (e.g. CPU vs GPU, MLP vs CNN).",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folder, or run name under --out")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="PNG",
        help="write the scatter to this file: one run's (its folder is left as it is), or the "
        "overlay of several (default: the run's folder; <out>/<first>_vs_<others>.png)",
    )
    p.set_defaults(handler=cmd_plot)

    c = command(
        "compare",
        "compare runs: accuracy (or RMSE) and µs/step side by side, with significance",
        flags.add_out,
        flags.add_format,
        flags.add_wide,
        flags.add_gate,
        flags.add_compare,
        description="Compare run B (and C, ...) against run A, joined by activation: "
        "the dataset's metric A and B (mean ± std over seeds; accuracy, or RMSE for a series), "
        "Δ = B - A paired by seed (paired "
        "t-test with >= 3 common seeds), and speed: each side's level - step time over its own "
        "run's baseline in the same rounds when both runs have one, else over the reference "
        "step on the same machine, else raw µs/step - and B/A with a t interval over seeds "
        "(each seed's value from its own worker process; with one seed a side, a stationary "
        "block bootstrap within the run, labelled so). Verdict per row: faster/slower beyond "
        "1 ± tolerance, same within it, undecided otherwise. Gates: every row tested, over "
        "every run and both limits, is one Holm family; the gate prints what it tested; exit "
        "1: a row broke a limit, 3: a row asked about could not be tested (fewer than 2 seeds "
        "a side for speed, 3 for accuracy; raw µs across machines).",
    )
    c.set_defaults(handler=cmd_compare)

    r = command(
        "report",
        "write an HTML report: a page per run, their comparisons, each activation across runs",
        flags.add_out,
        flags.add_gate,
        flags.add_report,
        description="Write a static site (index.html, a page per run and per comparison; it "
        "opens from disk, no server, no network). With no RUN: every run under --out, each "
        "compared with the run before it among comparable ones (same training, same kind of "
        "machine). With RUNs: those runs, each compared with the first, as compare does. "
        "The index charts each activation's cost and gain across the runs, comparable runs "
        "in a band of their own.",
    )
    r.set_defaults(handler=cmd_report)

    x = command(
        "export",
        "export runs to TensorBoard: learning curves and the cost/gain table",
        flags.add_out,
        flags.add_export,
        description="Write each trial's learning curves as TensorBoard scalars and the run's "
        "cost/gain table as hyper-parameter results (tensorboard --logdir DIR; needs "
        "pip install 'actbench[tensorboard]').",
    )
    x.set_defaults(handler=cmd_export)

    sh = command(
        "show", "re-render a saved run's table", flags.add_out, flags.add_format, flags.add_wide
    )
    sh.add_argument("run", metavar="RUN", help="run folder, or run name under --out")
    sh.set_defaults(handler=cmd_show)

    ls = command(
        "list", "list the runs under --out", flags.add_out, flags.add_format, flags.add_wide
    )
    ls.set_defaults(handler=cmd_list)

    e = command(
        "env",
        "print the environment a run would record",
        flags.add_pinning,
        flags.add_format,
        description="Apply --device/--threads/--cpu-affinity as a sweep would, and print what "
        "it would record, so you can check what you are about to pin.",
    )
    e.set_defaults(handler=cmd_env)

    k = command(
        "kernels",
        "time each activation's kernels against a copy of the same bytes, over sizes",
        flags.add_probe,
        flags.add_format,
        description="Forward + backward of each activation, and a plain copy of the bytes it "
        "reads and writes, over tensor sizes from the caches to memory, on normal, "
        "large-negative, tiny and subnormal inputs (docs/measuring.md).",
    )
    k.set_defaults(handler=cmd_kernels)
    return parser


def explicit_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """Destinations of the options actually typed (abbreviations are disabled)."""
    typed = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    return {a.dest for a in parser._actions if typed.intersection(a.option_strings)}


def option_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each parameter's flag, from every command's options (`slower_pct` is
    `--fail-if-slower`): how the command line names what an error is about."""
    names: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                names.update(option_names(sub))
        elif action.option_strings:
            names.setdefault(action.dest, action.option_strings[-1])
    return names


def _print_table(outcome: SweepOutcome, fmt: str | None, wide: bool) -> None:
    from actbench import printout

    if outcome.summary.empty:
        print("no trial finished; nothing to tabulate", file=sys.stderr)
        return
    fmt = fmt or default_format()
    print(printout.printed(outcome.folder.info(), outcome.summary, fmt, wide))
    print(f"\nresults: {outcome.folder.path}", file=sys.stderr)


def resume_command(argv: Sequence[str], name: str) -> str:
    """The command line that finishes run `name`: the one typed, with `--resume NAME`."""
    prog = " ".join(program(sys.argv[0]) or ["python", "-m", "actbench"])
    kept, skip = [], False
    for arg in argv:  # an earlier --resume is replaced, not repeated
        if skip or arg == "--resume" or arg.startswith("--resume="):
            skip = arg == "--resume"
            continue
        kept.append(arg)
    return shlex.join([*prog.split(), *kept, "--resume", name])


def _stopped_early(stop: SweepInterrupted, args: argparse.Namespace) -> None:
    """Say what a stopped sweep kept and the exact command that finishes it."""
    what = "terminated (SIGTERM)" if stop.terminated else "interrupted"
    folder = stop.outcome.folder
    if not folder.path.is_dir():
        print(
            f"\n{what} before any trial finished: nothing was kept, and the run folder "
            f"{folder.path} was removed",
            file=sys.stderr,
        )
        return
    print(f"\n{what}: finished trials are saved in {folder.path}; partial table:", file=sys.stderr)
    _print_table(stop.outcome, args.format, args.wide)
    print(f"finish the run with: {resume_command(args.argv, folder.name)}", file=sys.stderr)


def cmd_sweep(args: argparse.Namespace) -> int:
    if not args.resume and args.executor == "local":
        from actbench import spares

        spares.prestart(args.cpu_capability)  # its imports overlap the next line's
    from actbench import runner

    try:
        if args.resume:
            outcome = runner.resume(
                args.resume, sweep_flags.config_from(args), args.explicit, args.quiet
            )
        else:
            outcome = runner.run(sweep_flags.config_from(args), quiet=args.quiet)
    except SweepInterrupted as stop:
        _stopped_early(stop, args)
        return EXIT_TERMINATED if stop.terminated else EXIT_INTERRUPTED
    if args.resume and outcome.trained == 0:
        drawn = f"; wrote what was missing: {', '.join(outcome.redrawn)}" if outcome.redrawn else ""
        print(
            f"nothing to resume: every trial of {outcome.folder.path} is saved{drawn}",
            file=sys.stderr,
        )
    _print_table(outcome, args.format, args.wide)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from actbench import plot as plot_mod
    from actbench import printout
    from actbench.storage import RunFolder, write_bytes

    folders = [RunFolder.open(ref, args.out) for ref in args.runs]
    for folder in folders:
        if folder.trials().empty:
            raise ActbenchError(f"run {folder.path} has no finished trials to plot")
    if len(folders) == 1 and args.output is None:
        for path in printout.draw(folders[0]):
            print(path)
        return 0
    default = args.out / ("_vs_".join(f.name for f in folders) + ".png")
    output = args.output or default
    if output.suffix.lower() != ".png":
        raise ActbenchError(f"-o {output}: the scatter is a PNG; name a .png file")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(output, plot_mod.png(plot_mod.overlay(folders)))
        print(output)
    except OSError as exc:
        raise ActbenchError(f"cannot write {output}: {exc.strerror or exc}") from None
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from actbench import comparison as compare_mod
    from actbench import comparison_view, gate
    from actbench.storage import RunFolder

    if len(args.runs) < 2:
        raise ActbenchError("compare needs at least two runs: A B [C ...]")
    folders = [RunFolder.open(ref, args.out) for ref in args.runs]
    fmt = args.format or default_format()
    comparisons = []
    for other in folders[1:]:
        comp = compare_mod.compare(folders[0], other, args.tolerance / 100, args.confidence)
        comparisons.append(comp)
        print(comparison_view.render(comp, fmt, args.wide), end="\n\n")
    comparison_view.write(comparisons, csv=args.csv, json_path=args.json)
    verdict = gate.gate(comparisons, args.slower_pct, args.less_accurate_points)
    for line in verdict.failures:
        print(f"actbench: FAIL: {line}", file=sys.stderr)
    if verdict.asked:
        print(f"actbench: {verdict.summary()}", file=sys.stderr)
    if verdict.failures:
        return EXIT_FAILED
    return EXIT_UNCHECKED if verdict.outcome in ("untested", "incomplete") else 0


def cmd_report(args: argparse.Namespace) -> int:
    from actbench import site
    from actbench.storage import RunFolder

    runs = [RunFolder.open(ref, args.out) for ref in args.runs]
    gate = (args.slower_pct, args.less_accurate_points)
    limits = site.Limits(args.tolerance / 100, args.confidence, *gate)
    index, skipped = site.report(runs, args.out, args.output, limits)
    print(index)
    for line in skipped:
        print(f"actbench: left out {line}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from actbench import trackers
    from actbench.storage import RunFolder

    for ref in args.runs:
        print(trackers.tensorboard(RunFolder.open(ref, args.out), args.tensorboard))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from actbench import printout
    from actbench.storage import RunFolder

    folder = RunFolder.open(args.run, args.out)
    print(printout.show_text(folder, args.format or default_format(), args.wide))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from actbench import printout
    from actbench.storage import RunFolder

    rows = printout.listing(RunFolder.list(args.out), args.wide)
    if not rows:
        print(f"no runs under {args.out}", file=sys.stderr)
        return 0
    print(
        tabulate(
            rows,
            headers="keys",
            tablefmt=args.format or default_format(),
            disable_numparse=True,
        )
    )
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from actbench import device as device_mod
    from actbench import environment
    from actbench import plan as plan_mod
    from actbench.run_record import Environment

    plan_mod.check_pins(args.threads, args.cpu_affinity)
    with device_mod.state_kept():
        env = environment.collect(device_mod.pin(args.device, args.threads, args.cpu_affinity))
    env.pop("argv", None), env.pop("command", None)  # this command's, not a run's
    rows = [(k, "" if v is None else v) for k, v in Environment.of(env).listed().items()]
    print(
        tabulate(
            rows,
            headers=["field", "value"],
            tablefmt=args.format or default_format(),
            disable_numparse=True,
        )
    )
    return 0


def cmd_kernels(args: argparse.Namespace) -> int:
    from actbench import kernel_probe

    if args.json is not None:
        kernel_probe.writable(args.json)
    request = kernel_probe.request(
        args.activations.split(","), args.sizes, args.threads, args.flush_denormal
    )
    record = kernel_probe.run(request, args.cpu_capability)
    if args.json is not None:
        kernel_probe.save(record, args.json)
    print(kernel_probe.text(record, args.format or default_format()))
    return 0


def _one_line_warnings(names: dict[str, str]):
    def formatted(message, category, filename, lineno, file=None, line=None) -> str:
        if isinstance(message, ActbenchWarning):
            message = message.phrased(lambda p: names.get(p, p))
        return f"actbench: warning: {message}\n"

    return formatted


def main(argv: Sequence[str] | None = None) -> int:
    shutdown.quick()  # the command's exit: 0.3 s, not 1.7 (shutdown.py)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.debug = args.debug or args.debug_all
    if args.command == "sweep":
        args.explicit = explicit_flags(args.sweep_parser, argv)
        args.argv = argv
    names = option_names(parser)
    if not args.debug:
        warnings.formatwarning = _one_line_warnings(names)
    try:
        return args.handler(args)
    except ActbenchError as exc:
        if args.debug:
            raise
        print(f"actbench: error: {exc.phrased(lambda p: names.get(p, p))}", file=sys.stderr)
        return EXIT_ERROR
    except Terminated:
        print("\nactbench: terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("\nactbench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `actbench list | head`: the reader left, nothing went wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
