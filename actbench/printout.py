"""Reports of a run for people: what `sweep` and `show` print, summary.md, `list`'s rows.

The numbers come from `table.py`; this module adds what a reader needs to trust them: the
configuration (dataset, model, optimizer, schedule), the environment, how to read cost and
gain, and the timer's own overhead.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from actbench import anatomy, painter, plot, precision, subnormals
from actbench.config import SweepConfig
from actbench.errors import ActbenchError
from actbench.formats import tabulated, wrapped
from actbench.legend import legend, notes
from actbench.painter import Painter
from actbench.records import PROBE_ROWS, PROFILE_STEPS, SATURATION
from actbench.run_record import RunRecord, describe
from actbench.storage import RunFolder
from actbench.summary import metric_of, summarize_folder
from actbench.summary import warm as warm_summary
from actbench.table import breakdown_display, health_display, render

BREAKDOWN_TITLE = "Where an eager step's time goes (µs per step)"
HEALTH_TITLE = "What a step holds, and how the network trains"


def model_name(cfg: SweepConfig) -> str:
    """'MLP 784-100-100-100-10', 'CNN (Keras example)', 'LSTM 6-6 -> 1' or a factory's
    spec, from a saved configuration."""
    hidden = "-".join(map(str, cfg.hidden or ()))
    if cfg.model == "cnn":
        return "CNN 32c3-p2-64c3-p2-64c3-64-10 (Keras example)"
    if cfg.model == "lstm":
        return f"LSTM {hidden} -> Dense 1, window {cfg.window}"
    if cfg.model == "mlp-linear-last":
        return f"MLP 784-{hidden}-10, last hidden layer linear"
    return f"MLP 784-{hidden}-10" if cfg.model == "mlp" else str(cfg.model)  # a factory: its spec


def _optimizer(cfg: SweepConfig) -> str:
    extra = f" momentum {cfg.momentum}" if cfg.optimizer == "sgd" else ""
    return f"{cfg.optimizer} lr {cfg.lr}{extra}"


def header(run: RunRecord, summary: pd.DataFrame | None = None) -> str:
    """How the steps were timed and what the intervals are over, in one line beside the
    table: the two facts a reader needs before trusting a cost (none claimed where, in
    `summary`, no cost has one)."""
    env = run.environment
    if env.device == "cpu" and env.threads == 1:
        where = "timed step on 1 CPU thread (steady under a busy neighbour; --threads N to change)"
    elif env.device == "cpu":
        where = f"timed step on {env.threads} CPU threads (a busy neighbour moves the costs)"
    else:
        where = f"timed on {env.device} ({env.device_name})"
    seeds = len(run.config.seeds)
    if summary is not None and not _any_cost_interval(summary):
        trained = "1 seed" if seeds == 1 else f"{seeds} seeds, each in a worker process of its own"
        return f"{where}; {trained}; too few rounds for any cost interval"
    if seeds >= 2:
        over = f"intervals over {seeds} seeds, each trained in a worker process of its own"
        if seeds == 2:
            over += " (2 seeds: wide, a t with 1 degree of freedom)"
    else:
        over = "1 seed: cost intervals are within this run only (a rerun may land outside)"
    return f"{where}; {over}"


def _any_cost_interval(summary: pd.DataFrame) -> bool:
    """Whether any activation's cost has an interval (True for a run without costs: there
    is nothing to take back)."""
    if "cost_pct_low" not in summary or not summary["baseline"].any():
        return True
    return bool(summary.loc[~summary["baseline"], "cost_pct_low"].notna().any())


def printed(run: RunRecord, summary: pd.DataFrame, fmt: str, wide: bool = True) -> str:
    """What `sweep` and `show` print: the table (compact unless `wide`), the notes that
    qualify it, its header and legend, the breakdown, the timer; prose wrapped to a
    terminal's width."""
    out = [render(summary, fmt, wide)]
    out += [wrapped(note) for note in notes(summary, run.config.warmup_steps)]
    out += [wrapped(asked) for asked in filter(None, [precision.note(run, summary)])]
    out += [wrapped(header(run, summary)), wrapped(legend(summary))]
    for title, table, caption in sections(summary, fmt, wide, run):
        out += ["", f"{title}:", table, wrapped(caption)]
    out.append(wrapped(footer(run, summary)))
    note = advice(run, summary)
    if note:
        out.append(wrapped(note))
    return "\n".join(p for p in out if p is not None)


def sections(
    summary: pd.DataFrame, fmt: str, wide: bool = True, run: RunRecord | None = None
) -> list[tuple[str, str, str]]:
    """(title, table, caption) of the tables below the main one, for runs that have them."""
    return [(t, tabulated(f, fmt), c) for t, f, c in section_frames(summary, wide, run)]


def section_frames(
    summary: pd.DataFrame, wide: bool = True, run: RunRecord | None = None
) -> list[tuple[str, pd.DataFrame, str]]:
    """(title, cells, caption) of the breakdown and the health table (the terminal's, the
    notebook's and the HTML report's), for runs that have them; `run` says how many
    validation rows the health probe read."""
    out = []
    breakdown = breakdown_display(summary, wide)
    if not breakdown.empty:
        out.append((BREAKDOWN_TITLE, breakdown, breakdown_caption(summary)))
    health = health_display(summary, wide)
    if not health.empty:
        out.append((HEALTH_TITLE, health, health_caption(run) + subnormals.sentence(summary)))
    return out


def breakdown_caption(summary: pd.DataFrame) -> str:
    """How the breakdown was measured, whether its controls agree, and how much of each
    timed cost the activation's part explains."""
    blocks = summary.get("profile_blocks", pd.Series(dtype=float)).dropna()
    if blocks.empty:  # a run saved before the blocks: one profiled block after training
        return "operator self time under torch.profiler, in one block of steps after training."
    text = (
        f"Each part timed by hooks on a twin of the trial's model, one block of {PROFILE_STEPS} "
        "steps per epoch read between rounds (never a timed step); the "
        f"median over {_count(blocks)} blocks per activation, its part's 95% CI "
        "over those blocks. kernels alone: its forward + backward at the run's layer shapes, "
        f"over identity's (torch.utils.benchmark, {_kernel_rounds(summary)}). % of step: its "
        "part's share of its block's step (the machine's speed cancels). The wide table and "
        "summary.md have every part. " + _floor_note(summary) + anatomy.total_note(summary)
    )
    verdict = anatomy.verdict(summary)
    if verdict:
        text += verdict + ". "
    return text + anatomy.explains(summary) + _slow_optimizers(summary)


def _kernel_rounds(summary: pd.DataFrame) -> str:
    """How many rounds the kernels alone are a median of: every round of every seed (runs
    since the multiple of copy), or one per epoch read, then the median over seeds."""
    rounds = summary.get("kernel_rounds", pd.Series(dtype=float)).dropna()
    if rounds.empty:
        return "one round per epoch read, the median over seeds"
    return f"the median over {_count(rounds)} rounds spread over the run, every seed's"


def _floor_note(summary: pd.DataFrame) -> str:
    """What the wide table's floor columns say, for runs that measured them."""
    if "kernel_copy_x" not in summary or summary["kernel_copy_x"].isna().all():
        return ""
    return (
        "× copy: the kernels alone as a multiple of a plain copy of the bytes their forward + "
        "backward reads and writes, timed in the same rounds, each net of its own null call "
        "(near 1: at the memory's speed; far above: bound by arithmetic or the code path); "
        "GB/s: those bytes over the kernels' time. "
    )


def _slow_optimizers(summary: pd.DataFrame) -> str:
    """Where the optimizer computes on subnormal numbers: its extra µs, the rest of a cost."""
    if "optimizer_subnormal" not in summary:
        return ""
    slow = summary["optimizer_subnormal"].fillna(False).astype(bool)
    others = summary.loc[~slow, "profile_optimizer_us"].median()
    extra = [
        f"{r['activation']}'s optimizer takes {r['profile_optimizer_us'] - others:+.0f} µs "
        f"over the others' {others:.0f} ({r['subnormal_pct']:.1f} % of its weights and "
        "optimizer state subnormal)"
        for r in summary[slow].to_dict("records")
    ]
    return (" " + "; ".join(extra) + ".") if extra else ""


def _count(blocks: pd.Series) -> str:
    low, high = int(blocks.min()), int(blocks.max())
    return str(low) if low == high else f"{low}–{high}"


def probed(run: RunRecord | None) -> str:
    """'1000 fixed validation rows' or 'all 12 validation windows': what the health probe
    read (its first `PROBE_ROWS` validation rows: a short split has fewer)."""
    unit = "windows" if run is not None and run.config.window else "rows"
    held = run.data.get("val") if run is not None else None
    if isinstance(held, int) and held <= PROBE_ROWS:
        return f"all {held} validation {unit}"
    return f"{PROBE_ROWS} fixed validation {unit}"


def health_caption(run: RunRecord | None = None) -> str:
    """How the memory and health columns were read, with the rows the probe really read."""
    return (
        "saved/step: bytes autograd keeps for backward in one step, each storage once, "
        "the parameters and the batch left out (memory.csv: per layer); step peak: one step's "
        "highest allocation above its start (CPU: torch.profiler's memory view, per operator). "
        f"Health on {probed(run)} after each epoch read: dead = hidden units "
        "whose derivative is 0 on every row; saturated = entries whose derivative is below "
        f"{SATURATION:.0%} of the activation's largest; grad ratio = the first weight "
        "layer's gradient norm over the last's at the last epoch read (far below 1: it "
        "vanishes), geometric mean over seeds with a t interval. Mean over seeds; health.png "
        "per layer."
    )


def advice(run: RunRecord, summary: pd.DataFrame) -> str:
    """What to change when a multi-threaded CPU run's step times were disturbed.

    With every core in the step's thread pool, any other work stalls the step at its
    parallel operators, and the relative cost of the activations moves with that load
    (measured in docs/measuring.md); one thread keeps it within about 1 %.
    """
    threads = run.environment.threads or 0
    if summary.empty or run.environment.device != "cpu" or threads < 2 or "timing" not in summary:
        return ""
    flagged = int((summary["timing"].fillna("") != "").sum())
    if not flagged:
        return ""
    return (
        f"note: {flagged} of {len(summary)} activations had disturbed step times on "
        f"{threads} CPU threads; other work on this machine stalls a multi-threaded step "
        "and moves the costs with it. On a shared CPU, `--threads 1` keeps them steady "
        "(docs/measuring.md, 'Does the answer survive a noisy neighbour?')."
    )


def footer(run: RunRecord, summary: pd.DataFrame) -> str:
    """The timer's own cost next to the steps it timed: proof that the clock adds nothing."""
    overhead = run.timer_overhead_us
    if overhead is None or summary.empty:
        return ""
    fastest = summary["us_per_step_median"].min()
    return (
        f"timer overhead: {overhead:.2f} µs per timed region "
        f"({100 * overhead / fastest:.3f}% of the fastest median step)"
    )


def _warmup(run: RunRecord, summary: pd.DataFrame | None) -> str:
    """The warm-up the trials really excluded (`summary`'s), beside the one asked for; without
    a summary, the most a trial excluded."""
    asked = run.config.warmup_steps
    done = None if summary is None else summary.get("warmup_steps", pd.Series()).dropna()
    if done is None or done.empty:
        return f"warm-up: up to {asked} steps excluded per trial (a trial keeps half its steps)"
    low, high = int(done.min()), int(done.max())
    span = str(low) if low == high else f"{low}–{high}"
    if low == high == asked:
        return f"warm-up steps excluded per trial: {span}"
    return f"warm-up steps excluded per trial: {span} ({asked} asked; a trial keeps half its steps)"


def setup(run: RunRecord, summary: pd.DataFrame | None = None) -> list[str]:
    """What was trained, where, with what, and when: the lines above summary.md's table and
    the HTML report's; with `summary`, what was really done (the warm-up excluded)."""
    cfg, env = run.config, run.environment
    return [
        f"device: `{env.device}` ({env.device_name}), threads: {env.threads}, "
        f"torch {env.torch_version}" + (f", CUDA {env.cuda_version}" if env.cuda_version else ""),
        f"dataset: {cfg.dataset}; model: {model_name(cfg)}, "
        f"batch {cfg.batch_size}, mode {cfg.mode}, {_optimizer(cfg)}, "
        f"≤{cfg.epochs} epochs, patience {cfg.patience}, val fraction {cfg.val_fraction}"
        + (f", train limit {cfg.train_limit}" if cfg.train_limit else ""),
        f"seeds: {', '.join(map(str, cfg.seeds))}; {_warmup(run, summary)}; "
        f"timing: {run.timing_method}",
        f"schedule: {cfg.schedule}"
        + (f" (rounds of {cfg.round_steps} steps)" if cfg.schedule == "interleaved" else "")
        + f"; baseline: {cfg.baseline or 'none'}",
        f"host: {env.hostname}, {env.cpu_model}, {env.platform}",
        f"started {run.started}, finished {run.finished or '(not finished)'}",
    ]


def markdown_report(run: RunRecord, summary: pd.DataFrame) -> str:
    """summary.md: the table with the configuration and environment needed to read it."""
    lines = [f"# actbench run `{run.name}`", "", *(f"- {line}" for line in setup(run, summary))]
    lines += ["", render(summary, "github"), ""]
    qualified = notes(summary, run.config.warmup_steps)
    qualified += filter(None, [precision.note(run, summary)])
    lines += [*(f"- {note}" for note in qualified), *([""] if qualified else [])]
    lines += [
        header(run, summary),
        "",
        f"Sorted by {metric_of(summary).title}, best first. µs/step: median of each trial's "
        "median step time over seeds, IQR likewise. " + legend(summary),
        "",
    ]
    for title, table, caption in sections(summary, "github", run=run):
        lines += [f"## {title}", "", table, "", caption, ""]
    lines += [footer(run, summary), ""]
    if advice(run, summary):
        lines += [advice(run, summary), ""]
    return "\n".join(lines)


def missing(folder: RunFolder) -> list[str]:
    """What a run folder should hold and does not: its summary files and pictures."""
    trials = folder.trials()
    if trials.empty:
        return []
    files = [n for n in ("summary.md", "summary.csv") if not (folder.path / n).is_file()]
    return files + plot.missing(folder, trials)


def write(folder: RunFolder, run: RunRecord) -> pd.DataFrame:
    """summary.md, summary.csv and the pictures, from what the folder holds; the summary."""
    if folder.trials().empty:
        return pd.DataFrame()
    summary = summarize_folder(folder)
    folder.write_summary(markdown_report(run, summary), summary)
    try:
        draw(folder, summary)
    except Exception as exc:  # a picture must never cost the numbers
        warnings.warn(f"could not draw plots in {folder.path}: {exc}", stacklevel=2)
    return summary


def warm(folder: RunFolder) -> None:
    """Pay early, on a core that would idle, for what the end of a sweep needs: this
    module's imports (matplotlib, scipy: a sweep's start does without them) and the
    summary's (`summary.warm`)."""
    warm_summary(folder)


def draw(folder: RunFolder, summary: pd.DataFrame | None = None) -> list[Path]:
    """(Re)draw every picture of a run folder into it: `plot` draws, the folder writes; a
    forked child draws the slowest meanwhile where it can (`painter.py`)."""
    with Painter(folder) as apart:
        rest = [name for name in plot.NAMES if name not in painter.AHEAD]
        pictures = plot.figures(folder, summary, only=rest)
        paths = folder.write_pictures({name: plot.png(fig) for name, fig in pictures.items()})
        drawn = apart.drawn()
    if not drawn:  # no child, or it failed: drawn here (and its error, if any, seen here)
        pictures = plot.figures(folder, summary, only=painter.AHEAD)
        drawn = folder.write_pictures({name: plot.png(f) for name, f in pictures.items()})
    return sorted(paths + drawn, key=lambda path: plot.NAMES.index(path.name))


def show_text(folder: RunFolder, fmt: str, wide: bool = True) -> str:
    """What `actbench show` prints: the run in one line, its table, and where its plots are."""
    run, summary = folder.info(), summarize_folder(folder)
    lines = [
        wrapped(
            f"{folder.name}: {describe(run)}; {run.status or '?'}, started {run.started or '?'}"
        ),
        printed(run, summary, fmt, wide),
    ]
    lines += [f"plot: {p}" for p in sorted(folder.path.glob("*.png"))]
    return "\n".join(lines)


def listing(folders: list[RunFolder], wide: bool = True) -> list[dict]:
    """One row per run folder for `actbench list`: when, where, what, how far (the
    device's name, the activations and seeds only when `wide`; compact, the status only
    when the run is not complete)."""
    rows = []
    for folder in folders:
        try:
            run = folder.info()
            trials = len(folder.trials())
        except ActbenchError as exc:
            rows.append({"run": folder.name, "started": f"unreadable: {exc}"})
            continue
        rows.append(_listed(folder.name, run, trials, wide))
    return rows


def _short(spec: str) -> str:
    """A user's `dir/modular.py:load` as `modular:load`, for a 100-column row."""
    where, _, name = spec.rpartition(":")
    if not where:
        return spec
    return f"{Path(where).name.removesuffix('.py')}:{name}"


def _clipped(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _listed(name: str, run: RunRecord, trials: int, wide: bool) -> dict:
    """One run's row of `list`."""
    cfg, env, status = run.config, run.environment, run.status or ""
    threads = "?" if env.threads is None else env.threads
    if not wide:
        return {  # 100 columns: the status only when the run is not complete
            "run": name,
            "started": (run.started or "")[:16].replace("T", " "),
            "device": f"{env.device or '?'} ×{threads}",
            "trained": _clipped(" ".join([_short(cfg.dataset), _short(str(cfg.model)), cfg.mode])),
            "trials": trials if status in ("complete", "") else f"{trials} ({status})",
        }
    return {
        "run": name,
        "started": run.started or "",
        "status": status,
        "device": f"{env.device or '?'} ({env.device_name or '?'})",
        "threads": "" if env.threads is None else env.threads,
        "dataset": cfg.dataset,
        "model": cfg.model,
        "mode": cfg.mode,
        "activations": ",".join(cfg.activations),
        "seeds": ",".join(map(str, cfg.seeds)),
        "trials": trials,
    }
