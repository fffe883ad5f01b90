"""The `sweep` command's options, and the configuration they describe.

Options whose default depends on the dataset default to None here and say so in --help
(`by dataset: ...`); `plan.build` fills them from the dataset. The types here only parse;
every value is checked once, by `plan.build`.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from actbench import config
from actbench.config import ACTIVATIONS as BUILTINS
from actbench.config import EXECUTORS, MODELS, MODES, OPTIMIZERS, SCHEDULES, SweepConfig
from actbench.flags import int_list, number


def widths(value: tuple[int, ...]) -> str:
    return ",".join(map(str, value))


def by_dataset(field: str, show=str) -> str:
    return config.default_text(field, show)


def add(s: argparse.ArgumentParser) -> None:
    """Every `sweep` option (the shared pinning, --out and --format come from `flags`)."""
    d = SweepConfig()
    s.add_argument(
        "--activations",
        default=",".join(d.activations),
        help="comma list of activations; 'all' = every built-in "
        f"({', '.join(BUILTINS)}); or package.module:attr naming an nn.Module "
        "class or a callable",
    )
    s.add_argument(
        "--dataset",
        default=d.dataset,
        metavar="{" + ",".join(config.DATASETS) + "} or FILE.py:NAME",
        help="mnist, fashion-mnist, kmnist: 28x28 images in 10 classes, read from "
        "<data-dir>/{MNIST,FashionMNIST,KMNIST}/raw (scored by accuracy); airline: the "
        "monthly airline-passenger series 1949-1960, shipped with actbench (scored by RMSE); "
        "FILE.py:NAME or package.module:NAME: your loader, a function of no argument that "
        "returns {'train': (x, y), 'test': (x, y)} and optionally 'val' (docs/your-network.md)",
    )
    s.add_argument(
        "--task",
        choices=config.TASKS,
        default=None,
        help="a user's dataset: what its labels are; default: integer labels are "
        "classification (accuracy), float targets regression (RMSE)",
    )
    s.add_argument(
        "--model",
        default=None,
        metavar="{" + ",".join(MODELS) + "} or FILE.py:NAME",
        help="mlp: the seed article's MLP (784-hidden-10); mlp-linear-last: the same with no "
        "activation after the last hidden layer (the second article's Keras stack is "
        "--hidden 200,200); cnn: the Keras example's CNN "
        "(Conv32-Pool-Conv64-Pool-Conv64-Dense64-Dense10; --hidden is ignored); lstm: "
        "stacked LSTM layers of --hidden units, then Dense 1, the swept activation as the "
        "cell's nonlinearity (series only); FILE.py:NAME or package.module:NAME: your "
        "factory, called with act (act() returns a fresh module of the trial's activation) "
        f"and returning an nn.Module. Default by dataset: {by_dataset('model')}",
    )
    s.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=d.executor,
        help="where trials run: in this process, or as Ray tasks (one GPU per trial on CUDA, "
        "--threads CPUs otherwise; needs pip install 'actbench[ray]')",
    )
    s.add_argument(
        "--jobs",
        type=number(int, "--jobs"),
        default=None,
        metavar="N",
        help="seed groups trained at once, each in its own worker process pinned to cores of "
        "its own (--threads each). Default: as many as the CPUs hold (1 on a GPU); on a "
        "2-core machine two groups measured the same costs as one (docs/measuring.md)",
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
        type=number(int, "--round-steps"),
        default=d.round_steps,
        help="steps per round: how many steps a trial trains before the next trial's turn",
    )
    s.add_argument(
        "--baseline",
        default=d.baseline,
        metavar="ACT",
        help="activation every other is measured against (cost in µs/step, gain in the "
        "dataset's metric), added to the sweep if not listed; 'none' for no baseline",
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
        "--cpu-capability",
        default=d.cpu_capability,
        type=str.lower,
        metavar="ISA",
        help="the instruction set torch's own CPU kernels use in the worker processes that "
        "time the steps (ATEN_CPU_CAPABILITY): default, avx2 or avx512 on x86 (refused where "
        "this CPU or torch cannot); unset: torch's choice, recorded either way",
    )
    s.add_argument(
        "--flush-denormal",
        action="store_true",
        help="the worker processes flush subnormal floats to zero (torch.set_flush_denormal; "
        "refused where the CPU cannot); recorded either way",
    )
    s.add_argument(
        "--hidden",
        type=int_list("--hidden"),
        default=None,
        help="comma list of hidden layer widths (MLP) or LSTM layer widths. Default by "
        f"dataset: {by_dataset('hidden', widths)}",
    )
    s.add_argument(
        "--batch-size",
        type=number(int, "--batch-size"),
        default=None,
        help="training batch size; each timed step is one batch. Default by dataset: "
        + by_dataset("batch_size"),
    )
    s.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=d.optimizer,
        help="adam, or sgd (plain, or with --momentum)",
    )
    s.add_argument(
        "--momentum",
        type=number(float, "--momentum"),
        default=d.momentum,
        help="SGD momentum (default: 0, as in torch and Keras; sgd only)",
    )
    s.add_argument("--lr", type=number(float, "--lr"), default=d.lr, help="learning rate")
    s.add_argument(
        "--epochs",
        type=number(int, "--epochs"),
        default=None,
        help=f"maximum epochs per trial. Default by dataset: {by_dataset('epochs')}",
    )
    s.add_argument(
        "--patience",
        type=number(int, "--patience"),
        default=None,
        help="early-stopping patience in epochs on validation loss; 0 = no early "
        "stopping (the best-validation weights are tested either way). Default by dataset: "
        + by_dataset("patience"),
    )
    s.add_argument(
        "--val-fraction",
        type=number(float, "--val-fraction"),
        default=None,
        help="share of the training examples held out for validation (images: a seeded "
        "split; a series: its last windows). Default by dataset: " + by_dataset("val_fraction"),
    )
    s.add_argument(
        "--window",
        type=number(int, "--window"),
        default=None,
        help="past values per input of a series model (series only). Default by dataset: "
        + by_dataset("window"),
    )
    s.add_argument(
        "--train-limit",
        type=number(int, "--train-limit"),
        default=None,
        help="use only the first N training examples, before the split (image datasets and "
        "a user's dataset)",
    )
    s.add_argument(
        "--seeds",
        type=int_list("--seeds"),
        default=",".join(map(str, d.seeds)),
        help="comma list of seeds (ranges like 0-4 too); each seed gives every "
        "activation the same initial weights and batch order and trains in a worker process "
        "of its own; intervals are over seeds (with one seed: within this run only). "
        "Default: %(default)s",
    )
    s.add_argument(
        "--precision",
        type=number(float, "--precision"),
        default=None,
        metavar="P",
        help="cost half-width to reach, in points of cost %%: the seeds given are a first "
        "stage whose spread sizes how many more train (Stein's two stages), up to "
        "--max-seeds; the table says what was reached",
    )
    s.add_argument(
        "--max-seeds",
        type=number(int, "--max-seeds"),
        default=d.max_seeds,
        help="with --precision, the most seeds the run may reach in all. Default: %(default)s",
    )
    s.add_argument(
        "--warmup-steps",
        type=number(int, "--warmup-steps"),
        default=d.warmup_steps,
        help="first steps of each trial left out of the timing statistics",
    )
    s.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding MNIST/raw/ (or FashionMNIST/, KMNIST/; default: $ACTBENCH_DATA, "
        "else ~/.cache/actbench)",
    )
    s.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        help="never download an image dataset; fail if it is not in --data-dir",
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


def config_from(args: argparse.Namespace) -> SweepConfig:
    """The request the flags make: each config field from its flag (same names; a field
    with no flag keeps its default)."""
    values = {name: getattr(args, name) for name in FIELDS if hasattr(args, name)}
    values["activations"] = tuple(a.strip() for a in args.activations.split(","))
    baseline = args.baseline.strip()
    values["baseline"] = None if baseline.lower() == "none" else baseline
    return SweepConfig(**values)


FIELDS = [f.name for f in fields(SweepConfig)]
