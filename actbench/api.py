"""The Python API, for notebooks and scripts: the same sweeps, runs and comparisons as the CLI.

    import actbench, torch
    run = actbench.sweep(activations=["relu", torch.nn.GELU, torch.sin], epochs=5)
    run                      # in Jupyter: the results table
    run.summary              # pandas DataFrame, one row per activation
    figures = run.plot()     # matplotlib Figures, by picture
    actbench.compare(actbench.load("default"), run)

`sweep` takes the CLI's options under their Python names (`--batch-size` is `batch_size`)
with the same defaults. Activations may be names, `nn.Module` classes or callables. Bad
input raises `ActbenchError` with the CLI's one-line message, naming the parameter as
Python does (`train_limit`, not `--train-limit`); an interrupted sweep
(Ctrl-C, the notebook's stop button, SIGTERM) keeps what finished and returns it as a
`Run`, with a warning that says how to finish it (`actbench.resume`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from torch import nn

from actbench import activation as activations_mod
from actbench import command as command_mod
from actbench import comparison as compare_mod
from actbench import comparison_view, loader, pages, plot, printout, site, table, usercode
from actbench import device as device_mod
from actbench import environment as environment_mod
from actbench import gate as gate_mod
from actbench import plan as plan_mod
from actbench import runner as sweep_mod
from actbench import summary as summary_mod
from actbench.config import DEFAULT_OUT, DEFAULT_SITE, DEFAULT_TOLERANCE, SweepConfig
from actbench.errors import ActbenchError
from actbench.interrupts import SweepInterrupted
from actbench.run_record import RunRecord, describe
from actbench.storage import RunFolder

ActivationLike = str | type[nn.Module] | Callable
DEFAULTS = SweepConfig()


class Run:
    """A saved run folder: its tables as DataFrames, its pictures as Figures."""

    def __init__(self, folder: RunFolder | str | Path, out: str | Path = DEFAULT_OUT) -> None:
        self.folder = folder if isinstance(folder, RunFolder) else RunFolder.open(folder, Path(out))

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def info(self) -> dict:
        """run.json as a dict (today's format): configuration, environment, status."""
        return self.record.to_dict()

    @property
    def record(self) -> RunRecord:
        """The run as a typed, frozen value (`RunRecord`): what `info` holds, by attribute."""
        return self.folder.info()

    @property
    def summary(self) -> pd.DataFrame:
        """One row per activation: the table's numbers (cost, gain, intervals, timing)."""
        return summary_mod.summarize_folder(self.folder)

    @property
    def trials(self) -> pd.DataFrame:
        return self.folder.trials()

    @property
    def history(self) -> pd.DataFrame:
        return self.folder.history()

    @property
    def rounds(self) -> pd.DataFrame:
        return self.folder.rounds()

    @property
    def memory(self) -> pd.DataFrame:
        """Per trial and layer, the bytes autograd saves for backward in one step (the
        totals and each step's peak are `summary`'s `saved_bytes` and `peak_bytes`)."""
        return self.folder.memory()

    @property
    def health(self) -> pd.DataFrame:
        """Per trial and epoch, the health readings: dead_N, saturated_N (hidden layer N),
        grad_norm_N (weight layer N), and the pooled dead, saturated and grad_ratio."""
        history = self.folder.history()
        keys = ["activation", "seed", "epoch"]
        readings = [c for c in history if c.split("_")[0] in ("dead", "saturated", "grad")]
        return history[keys + readings] if readings else history.iloc[:0]

    @property
    def breakdown(self) -> pd.DataFrame:
        """The breakdown table (where a step's time goes, its kernels alone, its cost)."""
        return table.breakdown_display(self.summary)

    @property
    def table(self) -> pd.DataFrame:
        """The numbers `actbench show` prints, typed: one row per activation, best first,
        plain names (`t[t.activation == "elu"]`), numbers as floats in the units their names
        say (`test_accuracy_mean` a fraction, `cost_pct` %, `cost_us` µs, `gain_pts`
        accuracy points), `pareto` (the `*`) and `timing` in columns of their own. `text()`
        formats it; `summary` has every column."""
        return table.frame(self.summary)

    def text(self, fmt: str = "github", wide: bool = True) -> str:
        """What `actbench show` prints under its first line (`--wide` by default), in any
        tabulate format: `table` formatted, with its notes and legend."""
        return printout.printed(self.record, self.summary, fmt, wide)

    def plot(self) -> dict[str, Figure]:
        """Every picture of the run, by file name (the same pictures the sweep saved)."""
        return plot.figures(self.folder)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, {len(self.trials)} trials, {self.record.status})"

    def _repr_markdown_(self) -> str:
        return f"**{self.name}**: {describe(self.record)}\n\n{self.text('github')}"

    def _repr_html_(self) -> str:
        """The run's page of the HTML report (`actbench report`), pictures inline."""
        return pages.fragment(self.folder)


class Comparison:
    """Run B against run A, row by row: `.table` (typed: what `compare` prints, as numbers
    and verdict words), `.rows` (every number behind it: p-values, bases), `.text()` (the
    printout), `.gate(...)` (what the CI gate would say: `.outcome`, `.failures`,
    `.unchecked`, `.summary()`), `.failures(...)` (its failures alone), `.plot()` (both
    runs, linked)."""

    def __init__(self, result: compare_mod.Comparison, runs: tuple[Run, Run]) -> None:
        self.result, self.runs = result, runs

    @property
    def table(self) -> pd.DataFrame:
        """What `compare` prints, typed: per activation each side's metric as stored
        (`test_accuracy_a`, a fraction), B - A in the unit its name says (`delta_pts`), the
        speed levels and `ratio` (B/A) with their intervals as floats, and the verdicts in
        columns of their own (`score_verdict`, `speed`, `speed_note`)."""
        return comparison_view.frame(self.result)

    def text(self, fmt: str = "github", wide: bool = True) -> str:
        """What `compare --wide` prints for this pair (`table` formatted), in any tabulate
        format."""
        return comparison_view.render(self.result, fmt, wide)

    @property
    def rows(self) -> pd.DataFrame:
        """Every number the comparison computed, per activation (what `--csv` writes)."""
        return self.result.rows

    def gate(
        self, slower_pct: float | None = None, less_accurate_points: float | None = None
    ) -> gate_mod.GateResult:
        return gate_mod.gate(self.result, slower_pct, less_accurate_points)

    def failures(
        self, slower_pct: float | None = None, less_accurate_points: float | None = None
    ) -> list[str]:
        return self.gate(slower_pct, less_accurate_points).failures

    def plot(self) -> Figure:
        return plot.overlay([run.folder for run in self.runs])

    def __repr__(self) -> str:
        return self.text("simple")

    def _repr_markdown_(self) -> str:
        return self.text("github")

    def _repr_html_(self) -> str:
        """The comparison's page of the HTML report (`actbench report A B`)."""
        return pages.comparison_fragment(self.result, self.gate())


def activations() -> list[str]:
    """The built-in activations' names (any `nn.Module` class or callable works too)."""
    return list(activations_mod.BUILTINS)


def _name(activation: ActivationLike) -> str:
    """A name as given (the plan resolves it); an object, by the name it is registered as."""
    if isinstance(activation, str):
        return activation
    return activations_mod.from_object(activation).name


def sweep(
    activations: Sequence[ActivationLike] = tuple(DEFAULTS.activations),
    *,
    baseline: ActivationLike | None = DEFAULTS.baseline,
    quiet: bool = False,
    **options,
) -> Run:
    """Train every activation (and the baseline) on every seed; return the finished `Run`.

    `options` are `SweepConfig`'s fields - the CLI's flags by their Python names, with the
    same defaults: dataset, seeds, epochs, patience, device, threads, mode, model, hidden,
    batch_size, optimizer, lr, momentum, window, schedule, round_steps, train_limit,
    data_dir, out, name, precision and max_seeds (`--precision`), ... Left unset, model,
    hidden, batch_size, epochs, patience, val_fraction and window follow the dataset
    (`dataset="airline"`: the article's LSTM).
    """
    known = {f.name for f in dataclasses.fields(SweepConfig)} - {"activations", "baseline"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"sweep() got unknown option(s) {', '.join(unknown)}")
    if isinstance(activations, str):  # "relu,tanh", as on the command line
        activations = activations.split(",")
    names = tuple(_name(a) for a in activations)
    config = SweepConfig(
        activations=names,
        baseline=None if baseline is None else _name(baseline),
        **{k: _plain(k, v) for k, v in options.items()},
    )
    asked = {"activations": list(names)}
    if baseline != DEFAULTS.baseline:
        asked["baseline"] = config.baseline
    call = command_mod.python_call("sweep", asked | options)
    with command_mod.invoked_as(call):
        return _finished(lambda: sweep_mod.run(config, quiet=quiet))


def _plain(name: str, value):
    """Python values as the config keeps them: a sequence as a tuple (one seed may be an
    int), a path as a Path, a factory or loader (or the tensors) by the name it is given
    in this process; anything else as given, for `plan.build` to check."""
    if name == "model" and callable(value):
        return usercode.give(value, "model")
    if name == "dataset" and isinstance(value, Mapping):
        tensors = loader.Tensors(value)
        return usercode.give(tensors, "dataset", f"tensors:{tensors.sha256[:12]}")
    if name == "dataset" and callable(value):
        return usercode.give(value, "dataset")
    if name in ("seeds", "cpu_affinity", "hidden") and isinstance(value, list | range):
        return tuple(value)
    if name == "seeds" and isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if name in ("out", "data_dir") and isinstance(value, str):
        return Path(value)
    return value


def resume(run: Run | str | Path, out: str | Path = DEFAULT_OUT, quiet: bool = False) -> Run:
    """Finish an interrupted run: its missing trials only, with its saved configuration."""
    path = run.path if isinstance(run, Run) else run
    given = SweepConfig(out=Path(out))
    return _finished(lambda: sweep_mod.resume(path, given, explicit=set(), quiet=quiet))


def _finished(start: Callable[[], sweep_mod.SweepOutcome]) -> Run:
    """Run `start`; its warnings once each, at the caller's line (`sweep(...)` or
    `resume(...)`), and its refusals as they are (named in Python's terms)."""
    refusal, interrupted = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            folder = start().folder
        except ActbenchError as error:
            refusal = error
        except SweepInterrupted as stop:
            folder, interrupted = stop.outcome.folder, stop
    for text in dict.fromkeys(str(w.message) for w in caught):
        warnings.warn(text, UserWarning, stacklevel=3)
    if refusal is not None:
        raise refusal.with_traceback(None)
    if interrupted is not None and not folder.path.is_dir():
        raise KeyboardInterrupt(
            f"interrupted before any trial finished: nothing was kept, and {folder.path} "
            "was removed"
        )
    if interrupted is not None:
        warnings.warn(
            f"interrupted: the finished trials are saved in {folder.path}; "
            f"actbench.resume({str(folder.path)!r}) finishes the run",
            stacklevel=3,
        )
    return Run(folder)


def runs(out: str | Path = DEFAULT_OUT) -> list[Run]:
    """Every saved run under `out`, by name (what `actbench list` lists)."""
    return [Run(folder) for folder in RunFolder.list(Path(out))]


def env(
    device: str = DEFAULTS.device,
    threads: int | None = DEFAULTS.threads,
    cpu_affinity: Sequence[int] | None = DEFAULTS.cpu_affinity,
) -> dict:
    """What a run would record about this machine, with these pins applied (`actbench env`)."""
    affinity = None if cpu_affinity is None else list(cpu_affinity)
    plan_mod.check_pins(threads, affinity)
    with device_mod.state_kept():  # the caller's threads and affinity stay as they were
        info = environment_mod.collect(device_mod.pin(device, threads, affinity))
    info.pop("argv", None), info.pop("command", None)  # a run's, not this machine's
    return info


def load(run: str | Path, out: str | Path = DEFAULT_OUT) -> Run:
    """A saved run, by folder path or by name under `out`."""
    return Run(run, out)


def compare(
    a: Run | str | Path,
    b: Run | str | Path,
    *,
    tolerance: float = 100 * DEFAULT_TOLERANCE,
    confidence: float = 0.95,
    out: str | Path = DEFAULT_OUT,
) -> Comparison:
    """B against A: see `actbench compare` (tolerance in %, as on the command line)."""
    run_a, run_b = (r if isinstance(r, Run) else Run(r, out) for r in (a, b))
    result = compare_mod.compare(run_a.folder, run_b.folder, tolerance / 100, confidence)
    return Comparison(result, (run_a, run_b))


def report(
    runs: Sequence[Run | str | Path] = (),
    *,
    output: str | Path = DEFAULT_SITE,
    out: str | Path = DEFAULT_OUT,
    tolerance: float = 100 * DEFAULT_TOLERANCE,
    confidence: float = 0.95,
    slower_pct: float | None = None,
    less_accurate_points: float | None = None,
) -> Path:
    """Write the HTML report (see `actbench report`) and return its index.html: with no
    `runs`, every run under `out`, each compared with the one before it among comparable
    runs; with runs, those, each compared with the first."""
    folders = [r.folder if isinstance(r, Run) else Run(r, out).folder for r in runs]
    limits = site.Limits(tolerance / 100, confidence, slower_pct, less_accurate_points)
    index, skipped = site.report(folders, Path(out), Path(output), limits)
    for line in skipped:
        warnings.warn(f"left out {line}", stacklevel=2)
    return index


def export(run: Run | str | Path, tensorboard: str | Path, out: str | Path = DEFAULT_OUT) -> Path:
    """Write a run's learning curves and cost/gain table for TensorBoard (see `actbench
    export`); returns the run's log folder. Needs `pip install 'actbench[tensorboard]'`."""
    from actbench import trackers

    folder = run.folder if isinstance(run, Run) else Run(run, out).folder
    return trackers.tensorboard(folder, Path(tensorboard))


def probe(
    activations: Sequence[ActivationLike] = ("all",),
    *,
    sizes: str | None = None,
    threads: int = 1,
    flush_denormal: bool = False,
    cpu_capability: str | None = None,
    json: str | Path | None = None,
) -> pd.DataFrame:
    """Each activation's forward + backward against a copy of the same bytes, over sizes
    and input ranges (see `actbench kernels`): one row per reading; `json` saves them all."""
    from actbench import kernel_probe

    names = [a if isinstance(a, str) else activations_mod.from_object(a).name for a in activations]
    if cpu_capability is not None and len(names) > sum(isinstance(a, str) for a in activations):
        raise ActbenchError(
            "{cpu_capability} probes in a fresh process, which cannot see an activation "
            "given as an object: name it as FILE.py:NAME or package.module:NAME",
            ["cpu_capability"],
        )
    if json is not None:
        kernel_probe.writable(Path(json))
    request = kernel_probe.request(names, sizes, threads, flush_denormal)
    record = kernel_probe.run(request, cpu_capability)
    if json is not None:
        kernel_probe.save(record, Path(json))
    return pd.DataFrame(record["readings"])
