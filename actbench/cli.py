"""Command line: parse, dispatch, and turn refusals into one line and an exit status."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from actbench import __version__, comparison_view, environment, flags, gate, runner, stats, table
from actbench import comparison as compare_mod
from actbench import device as device_mod
from actbench import plot as plot_mod
from actbench.activation import BUILTINS
from actbench.config import OPTIMIZERS, SCHEDULES, SweepConfig
from actbench.errors import ActbenchError
from actbench.executor import EXECUTORS
from actbench.flags import EXIT_ERROR, HelpFormatter, Parser, fraction, int_list, number
from actbench.model import MODELS
from actbench.step import MODES
from actbench.storage import RunFolder

EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 130, 143


def build_parser() -> Parser:
    parser = Parser(
        prog="actbench",
        description=(
            "What does an activation function cost, and what does it buy? Trains the same model on "
            "MNIST once per activation, times every training step, and tabulates test accuracy "
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

    d = SweepConfig()
    s = command(
        "sweep",
        "train once per activation (and seed) and write a results table",
        flags.add_pinning,
        flags.add_out,
        flags.add_format,
        description="Train the model once per (activation, seed), time every step, and write "
        "<out>/<name>/ with trials.csv, history.csv, steps.npz, run.json, summary.md and plots.",
    )
    s.add_argument(
        "--activations",
        default=",".join(d.activations),
        help="comma list of activations; 'all' = every built-in "
        f"({', '.join(BUILTINS)}); or package.module:attr naming an nn.Module "
        "class or a callable",
    )
    s.add_argument(
        "--model",
        choices=MODELS,
        default=d.model,
        help="mlp: the seed article's MLP (784-hidden-10); cnn: the Keras example's CNN "
        "(Conv32-Pool-Conv64-Pool-Conv64-Dense64-Dense10; --hidden is ignored)",
    )
    s.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=d.executor,
        help="where trials run: in this process, or as Ray tasks (one GPU per trial on CUDA, "
        "--threads CPUs otherwise; needs pip install 'actbench[ray]')",
    )
    s.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="Ray cluster to join, e.g. ray://head:10001 or auto (default: start or join a "
        "local Ray instance)",
    )
    s.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=d.schedule,
        help="interleaved: the trials of a seed train together, round by round in an order "
        "shuffled every round, so every activation is timed in the same stretches of time; "
        "sequential: one trial after another",
    )
    s.add_argument(
        "--round-steps",
        type=number(int, 1, "--round-steps"),
        default=d.round_steps,
        help="steps per round: how many steps a trial trains before the next trial's turn",
    )
    s.add_argument(
        "--baseline",
        default=d.baseline,
        metavar="ACT",
        help="activation every other is measured against (cost in µs/step, gain in accuracy "
        "points), added to the sweep if not listed; 'none' for no baseline",
    )
    s.add_argument(
        "--mode",
        choices=MODES,
        default=d.mode,
        help="how the step executes: eager PyTorch, torch.compile (compile time "
        "recorded separately, never in µs/step), or one CUDA graph replay per step "
        "(CUDA only)",
    )
    s.add_argument(
        "--deterministic",
        action="store_true",
        help="use torch's deterministic algorithms (recorded; may be slower)",
    )
    s.add_argument(
        "--hidden",
        type=int_list("--hidden", 1),
        default=",".join(map(str, d.hidden)),
        help="comma list of hidden layer widths",
    )
    s.add_argument(
        "--batch-size",
        type=number(int, 1, "--batch-size"),
        default=d.batch_size,
        help="training batch size; each timed step is one batch",
    )
    s.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=d.optimizer,
        help="adam, or sgd with momentum 0.9",
    )
    s.add_argument(
        "--lr", type=number(float, 0.0, "--lr", strict=True), default=d.lr, help="learning rate"
    )
    s.add_argument(
        "--epochs",
        type=number(int, 1, "--epochs"),
        default=d.epochs,
        help="maximum epochs per trial",
    )
    s.add_argument(
        "--patience",
        type=number(int, 0, "--patience"),
        default=d.patience,
        help="early-stopping patience in epochs on validation loss; 0 = no early "
        "stopping (the best-validation weights are tested either way)",
    )
    s.add_argument(
        "--val-fraction",
        type=fraction("--val-fraction"),
        default=d.val_fraction,
        help="share of the training images held out for validation (seeded split)",
    )
    s.add_argument(
        "--train-limit",
        type=number(int, 1, "--train-limit"),
        default=None,
        help="use only the first N training images, before the split",
    )
    s.add_argument(
        "--seeds",
        type=int_list("--seeds", 0),
        default=",".join(map(str, d.seeds)),
        help="comma list of seeds (ranges like 0-4 too); each seed gives every "
        "activation the same initial weights and batch order",
    )
    s.add_argument(
        "--warmup-steps",
        type=number(int, 0, "--warmup-steps"),
        default=d.warmup_steps,
        help="first steps of each trial left out of the timing statistics",
    )
    s.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding MNIST/raw/ (default: $ACTBENCH_DATA, else ~/.cache/actbench)",
    )
    s.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        help="never download MNIST; fail if it is not in --data-dir",
    )
    s.add_argument(
        "--name", default=None, help="run folder name (default: <date>-<time>-<device type>)"
    )
    s.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    s.add_argument(
        "--resume",
        metavar="RUN",
        default=None,
        help="finish an interrupted run (folder, or name under --out): only its "
        "missing trials run, under its saved configuration; flags given too must "
        "agree with it",
    )
    s.set_defaults(handler=cmd_sweep, sweep_parser=s)

    p = command(
        "plot",
        "(re)draw a run's plots, or overlay several runs in one scatter",
        flags.add_out,
        description=f"With one RUN: redraw {plot_mod.SCATTER} and {plot_mod.CURVES} in its "
        "folder. With several: one scatter of all of them (e.g. CPU vs GPU).",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folder, or run name under --out")
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where the overlay scatter of several runs goes "
        "(default: <out>/<first>_vs_<others>.png)",
    )
    p.set_defaults(handler=cmd_plot)

    c = command(
        "compare",
        "compare runs: accuracy and µs/step side by side, with significance",
        flags.add_out,
        flags.add_format,
        description="Compare run B (and C, ...) against run A, joined by activation: "
        "accuracy A and B (mean ± std over seeds), Δ accuracy in points paired by seed (paired "
        "t-test with >= 3 common seeds), and speed: each side's level - step time over its own "
        "run's baseline in the same rounds when both runs have one, else over the reference "
        "step on the same machine, else raw µs/step - and B/A with a two-stage bootstrap "
        "interval (seeds, then a stationary block bootstrap within each trial). Verdict per "
        "row: faster/slower beyond 1 ± tolerance, same within it, undecided otherwise.",
    )
    c.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="run folders or names under --out; the first is the baseline A",
    )
    c.add_argument(
        "--fail-if-slower",
        type=number(float, 0.0, "--fail-if-slower"),
        metavar="PCT",
        default=None,
        help="exit 1 if any activation is slower by more than PCT%% with confidence "
        "(one-sided, Holm-corrected over the activations checked)",
    )
    c.add_argument(
        "--fail-if-less-accurate",
        type=number(float, 0.0, "--fail-if-less-accurate"),
        metavar="POINTS",
        default=None,
        help="exit 1 if any activation is less accurate by more than POINTS percentage points "
        "(paired t-test, Holm-corrected, with >= 3 common seeds; else the estimate itself)",
    )
    c.add_argument(
        "--tolerance",
        type=number(float, 0.0, "--tolerance"),
        default=100 * stats.DEFAULT_TOLERANCE,
        metavar="PCT",
        help="speed verdicts: faster/slower when the whole confidence interval lies beyond "
        "1 ± PCT%%, same when it lies inside (default: %(default)g)",
    )
    c.add_argument(
        "--confidence",
        type=fraction("--confidence"),
        default=0.95,
        help="confidence level of the ratio interval",
    )
    c.add_argument(
        "--csv",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the comparison rows as CSV",
    )
    c.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the comparison (differences, warnings, rows) as JSON",
    )
    c.set_defaults(handler=cmd_compare)

    sh = command("show", "re-render a saved run's table", flags.add_out, flags.add_format)
    sh.add_argument("run", metavar="RUN", help="run folder, or run name under --out")
    sh.set_defaults(handler=cmd_show)

    ls = command("list", "list the runs under --out", flags.add_out, flags.add_format)
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
    return parser


def explicit_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """Destinations of the options actually typed (abbreviations are disabled)."""
    typed = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    return {a.dest for a in parser._actions if typed.intersection(a.option_strings)}


def config_from(args: argparse.Namespace) -> SweepConfig:
    return SweepConfig(
        activations=[a.strip() for a in args.activations.split(",")],
        device=args.device,
        threads=args.threads,
        cpu_affinity=args.cpu_affinity,
        deterministic=args.deterministic,
        mode=args.mode,
        model=args.model,
        executor=args.executor,
        ray_address=args.ray_address,
        schedule=args.schedule,
        round_steps=args.round_steps,
        baseline=None if args.baseline.strip().lower() == "none" else args.baseline.strip(),
        hidden=tuple(args.hidden),
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        epochs=args.epochs,
        patience=args.patience,
        val_fraction=args.val_fraction,
        train_limit=args.train_limit,
        seeds=list(args.seeds),
        warmup_steps=args.warmup_steps,
        data_dir=args.data_dir,
        download=args.download,
        out=args.out,
        name=args.name,
    )


def _print_table(outcome: runner.SweepOutcome, fmt: str | None) -> None:
    if outcome.summary.empty:
        print("no trial finished; nothing to tabulate", file=sys.stderr)
        return
    fmt = fmt or table.default_format()
    print(table.printed(outcome.folder.run_info(), outcome.summary, fmt))
    print(f"\nresults: {outcome.folder.path}", file=sys.stderr)


def cmd_sweep(args: argparse.Namespace) -> int:
    try:
        if args.resume:
            outcome = runner.resume(args.resume, config_from(args), args.explicit, args.quiet)
        else:
            outcome = runner.run(config_from(args), quiet=args.quiet)
    except runner.SweepInterrupted as stop:
        what = "terminated (SIGTERM)" if stop.terminated else "interrupted"
        print(f"\n{what}: finished trials are saved; partial table:", file=sys.stderr)
        _print_table(stop.outcome, args.format)
        return EXIT_TERMINATED if stop.terminated else EXIT_INTERRUPTED
    if args.resume and outcome.trained == 0:
        print(f"nothing to resume: every trial of {outcome.folder.path} is saved", file=sys.stderr)
    _print_table(outcome, args.format)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    folders = [RunFolder.open(ref, args.out) for ref in args.runs]
    for folder in folders:
        if folder.trials().empty:
            raise ActbenchError(f"run {folder.path} has no finished trials to plot")
    if len(folders) == 1:
        for path in plot_mod.draw_run(folders[0]):
            print(path)
        return 0
    default = args.out / ("_vs_".join(f.name for f in folders) + ".png")
    output = args.output or default
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        print(plot_mod.save(plot_mod.overlay(folders), output))
    except OSError as exc:
        raise ActbenchError(f"cannot write {output}: {exc.strerror or exc}") from None
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    if len(args.runs) < 2:
        raise ActbenchError("compare needs at least two runs: A B [C ...]")
    folders = [RunFolder.open(ref, args.out) for ref in args.runs]
    fmt = args.format or table.default_format()
    comparisons, failures = [], []
    for other in folders[1:]:
        comp = compare_mod.compare(folders[0], other, args.tolerance / 100, args.confidence)
        comparisons.append(comp)
        print(comparison_view.render(comp, fmt), end="\n\n")
        failures += gate.gate(comp, args.fail_if_slower, args.fail_if_less_accurate)
    comparison_view.write(comparisons, csv=args.csv, json_path=args.json)
    if failures:
        for line in failures:
            print(f"actbench: FAIL: {line}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    folder = RunFolder.open(args.run, args.out)
    print(table.show_text(folder, args.format or table.default_format()))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    rows = table.listing(RunFolder.list(args.out))
    if not rows:
        print(f"no runs under {args.out}", file=sys.stderr)
        return 0
    print(
        tabulate(
            rows,
            headers="keys",
            tablefmt=args.format or table.default_format(),
            disable_numparse=True,
        )
    )
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    pinning = device_mod.pin(args.device, args.threads, args.cpu_affinity)
    env = environment.collect(pinning)
    env.pop("argv", None)
    rows = [(k, "" if v is None else v) for k, v in env.items()]
    print(
        tabulate(
            rows,
            headers=["field", "value"],
            tablefmt=args.format or table.default_format(),
            disable_numparse=True,
        )
    )
    return 0


def _one_line_warnings(message, category, filename, lineno, file=None, line=None) -> str:
    return f"actbench: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.debug = args.debug or args.debug_all
    if args.command == "sweep":
        args.explicit = explicit_flags(args.sweep_parser, argv)
    if not args.debug:
        warnings.formatwarning = _one_line_warnings
    try:
        return args.handler(args)
    except ActbenchError as exc:
        if args.debug:
            raise
        print(f"actbench: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except runner.Terminated:
        print("\nactbench: terminated (SIGTERM)", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("\nactbench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
