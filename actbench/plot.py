"""Pictures of a run: cost against gain, learning curves, the timeline, the step breakdown
(time and memory), and training health (`health_plot.py`).

Reads only saved records (run.json, trials.csv, history.csv, rounds.csv) and draws with
matplotlib's object API (a `Figure`, no pyplot state), so it works on headless machines,
never touches training code, and a notebook shows each picture once. Every function
returns the Figure and writes nothing: drawing apart from writing, so the API, the report
and the sweep share the pictures, and the run folder's files are written where the rest of
them are (`printout.draw`, through `storage`). Each activation keeps one colour in every
picture.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Collection

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from actbench import health_plot, labels, table
from actbench import summary as summary_mod
from actbench.errors import ActbenchError
from actbench.palette import colour, shape
from actbench.records import PROFILE_PARTS
from actbench.run_record import RunRecord, describe
from actbench.stats import CONFIDENCE
from actbench.storage import RunFolder
from actbench.task import metric_named

SCATTER, CURVES = "accuracy_vs_us_per_step.png", "learning_curves.png"
TIMELINE, BREAKDOWN, HEALTH = "timeline.png", "step_breakdown.png", "health.png"
NAMES = (SCATTER, CURVES, TIMELINE, BREAKDOWN, HEALTH)  # every picture, in the order drawn
MARKERS = "osD^vP"


def _title(text: str, figure_inches: float) -> str:
    """A title broken into lines that fit the figure (about 9 characters an inch at the
    title's size), never cut at its ends by a long CPU name."""
    return textwrap.fill(text, max(40, int(9 * figure_inches)), break_on_hyphens=False)


def _bar(value: pd.Series, low: pd.Series, high: pd.Series):
    return [(value - low).fillna(0.0).clip(lower=0), (high - value).fillna(0.0).clip(lower=0)]


def _points(ax, summary: pd.DataFrame, relative: bool, marker: str | None, label: str | None):
    """Draw one point per activation (its own marker unless `marker`, a run's, is given);
    returns (x, y, name, colour) per point, for the names beside them."""
    named = []
    for row in summary.to_dict("records"):
        one = pd.DataFrame([row])
        if relative:
            x, y = one["cost_pct"], one["gain"]
            xerr = _bar(x, one["cost_pct_low"], one["cost_pct_high"])
            yerr = _bar(y, one["gain_low"], one["gain_high"])
        else:
            metric = summary_mod.metric_of(summary)
            x, y = one["us_per_step_median"], metric.shown(one[f"{metric.column}_mean"])
            xerr = _bar(x, one["us_per_step_p25"], one["us_per_step_p75"])
            yerr = metric.shown(one[f"{metric.column}_std"]).fillna(0.0)
        name, disturbed = row["activation"], bool(row.get("timing"))
        shown = name if label is None else f"{name} ({label})"
        ax.errorbar(
            x, y, xerr=xerr, yerr=yerr, fmt=marker or shape(name), capsize=3,
            color=colour(name), label=shown, linestyle="none",
            markerfacecolor="white" if disturbed else None,
        )  # fmt: skip
        if relative and row.get("pareto"):
            ax.scatter(x, y, s=220, facecolors="none", edgecolors="black", linewidths=1.2)
        named.append((float(x.iloc[0]), float(y.iloc[0]), name, colour(name)))
    return named


def _bars(rows: pd.DataFrame, low: str, over: str) -> str:
    """What a cost's or gain's bars are, from the rows drawn: over how many seeds, within
    one run, or none where no interval could be computed."""
    level = f"{round(100 * CONFIDENCE)}% CI"
    drawn = rows[rows[low].notna()]
    if drawn.empty:
        return "no bars: no interval could be computed (the table says why)"
    seeds = int(drawn[over].max()) if over in drawn and drawn[over].notna().any() else 1
    words = f"bars = {level} over {seeds} seeds" if seeds > 1 else f"bars = {level} within the run"
    return words + ("" if len(drawn) == len(rows) else "; none where there is no interval")


def _relative_axes(ax, runs: list[tuple[str, RunRecord, pd.DataFrame]]) -> None:
    """Cost as % of each run's own baseline step, so runs 10x apart share the axis."""
    metric = summary_mod.metric_of(runs[0][2])
    base = runs[0][2].loc[runs[0][2]["baseline"], "activation"].iloc[0]
    rows = pd.concat([s[~s["baseline"]] for _, _, s in runs])
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    own = "each run's own" if len(runs) > 1 else "the"
    ax.set_xlabel(
        f"cost: extra time per step over {base}, % of {own} {base} step in the same rounds\n"
        f"(← cheaper; {_bars(rows, 'cost_pct_low', 'cost_seeds')})"
    )
    gain = (
        f"test-accuracy points over {base}"
        if metric.higher_is_better
        else f"{metric.title} reduction from {base}"
    )
    ax.set_ylabel(f"gain: {gain}\n(↑ better; {_bars(rows, 'gain_low', 'gain_seeds')})")


def scatter(runs: list[tuple[str, RunRecord, pd.DataFrame]]) -> Figure:
    """One point per activation (and run): what it buys against what it costs.

    With a baseline: gain (the metric's improvement: accuracy points, or RMSE reduction)
    against cost, as % of the run's own baseline step (the table's cost %: runs whose steps
    differ 10x, an MLP's and a CNN's, share one axis), bars = the table's confidence
    intervals where it has them, ringed = no other activation beats it on both. Without one
    (old runs, `--baseline none`): the metric against median µs/step (IQR bars), on a log
    axis when the runs span more than 10x. One run: a marker per activation; several: a
    marker per run. Each point's name is written beside it.
    """
    relative = all(table.has_costs(summary) for _, _, summary in runs)
    metric = summary_mod.metric_of(runs[0][2])
    fig = Figure(figsize=(9, 6), layout="constrained")
    ax = fig.subplots()
    named = []
    for i, (label, _, summary) in enumerate(runs):
        marker, run_label = (MARKERS[i % len(MARKERS)], label) if len(runs) > 1 else (None, None)
        named += _points(ax, summary, relative, marker, run_label)
    if len(runs) > 1:  # the same activation across runs: a line from the first run's point
        _link(ax, runs, relative)
    seeds = max(int(s["seeds"].max()) for _, _, s in runs)
    if relative:
        _relative_axes(ax, runs)
    else:
        medians = pd.concat([s["us_per_step_median"] for _, _, s in runs])
        if medians.max() > 10 * medians.min():  # e.g. CPU vs GPU, MLP vs CNN
            ax.set_xscale("log")
        ax.set_xlabel("median training step time (µs/step, ← faster; bars = IQR)")
        spread = f"bars = std over {seeds} seeds" if seeds > 1 else "1 seed, no bars"
        ax.set_ylabel(f"{metric.label} ({metric.direction}; {spread})")
    if len(runs) == 1:
        label, run, _ = runs[0]
        ax.set_title(
            _title(f"actbench {label}: what each activation buys and costs, {describe(run)}", 7)
        )
    else:
        ax.set_title(
            _title(
                "actbench: " + " vs ".join(f"{r[0]} ({MARKERS[i]})" for i, r in enumerate(runs)), 7
            )
        )
    key = None  # beside the points, never over them: what the rings and hollows mean
    if relative:
        better = "more accurate" if metric.higher_is_better else f"lower in {metric.what}"
        key = (
            f"ringed: no other is both\ncheaper and {better}\n"
            "hollow: timing disturbed,\ncost not to be trusted"
        )
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, title=key,
              title_fontsize=8, ncols=2 if len(named) > 24 else 1)  # fmt: skip
    ax.grid(alpha=0.3)
    labels.place(ax, named)
    return fig


def _link(ax, runs: list[tuple[str, RunRecord, pd.DataFrame]], relative: bool) -> None:
    metric = summary_mod.metric_of(runs[0][2])
    x, y = ("cost_pct", "gain") if relative else ("us_per_step_median", f"{metric.column}_mean")
    scale = 1 if relative else metric.scale
    first = runs[0][2].set_index("activation")
    for _, _, summary in runs[1:]:
        for i, row in enumerate(summary.to_dict("records")):
            name = row["activation"]
            if name in first.index:
                # each activation's arrow bends its own way, so arrows along one line
                # (every activation moved alike) stay apart instead of hiding each other
                bend = 0.12 * (i + 1) * (-1) ** i
                ax.annotate(
                    "", xy=(row[x], scale * row[y]),
                    xytext=(first.loc[name, x], scale * first.loc[name, y]),
                    arrowprops={"arrowstyle": "->", "color": colour(name), "alpha": 0.7,
                                "connectionstyle": f"arc3,rad={bend:.2f}"},
                )  # fmt: skip


def learning_curves(label: str, run: RunRecord, history: pd.DataFrame) -> Figure:
    """Train and validation loss and the validation metric per epoch, one colour per
    activation. Lines are the mean over seeds, the band their range; a dot marks the
    restored epoch.
    """
    metric = metric_named(run.metric)
    score, k = metric.val_column, metric.scale
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    by = history.groupby(["activation", "epoch"], sort=False)
    mean, low, high = (
        by.mean(numeric_only=True),
        by.min(numeric_only=True),
        by.max(numeric_only=True),
    )
    seeds = history["seed"].nunique()
    for activation in dict.fromkeys(history["activation"]):
        c = colour(activation)
        m, lo, hi = mean.loc[activation], low.loc[activation], high.loc[activation]
        epochs = m.index
        loss_ax.plot(epochs, m["val_loss"], color=c, label=activation)
        loss_ax.plot(epochs, m["train_loss"], color=c, ls=":", lw=1)
        acc_ax.plot(epochs, k * m[score], color=c, label=activation)
        if seeds > 1:
            loss_ax.fill_between(epochs, lo["val_loss"], hi["val_loss"], color=c, alpha=0.15)
            acc_ax.fill_between(epochs, k * lo[score], k * hi[score], color=c, alpha=0.15)
        best = m["val_loss"].idxmin()
        loss_ax.plot([best], [m.loc[best, "val_loss"]], "o", color=c)
        acc_ax.plot([best], [k * m.loc[best, score]], "o", color=c)
    band = f"mean of {seeds} seeds, band = range" if seeds > 1 else "1 seed"
    loss_name = "cross-entropy" if metric.higher_is_better else "mean squared error"
    what = metric.title.replace("test", "validation")
    losses = f"validation loss (solid), train loss (dotted); {band}"
    loss_ax.set(xlabel="epoch", ylabel=f"{loss_name} (↓ better)",
                title=_title(losses, 5.5))  # fmt: skip
    acc_ax.set(xlabel="epoch", ylabel=f"{what} ({metric.direction})",
               title=_title(f"{what}; ● = lowest mean validation loss", 5.5))  # fmt: skip
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    acc_ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)  # off the curves
    fig.suptitle(_title(f"actbench {label}: learning curves, {describe(run)}", 12))
    return fig


def timeline(label: str, run: RunRecord, rounds: pd.DataFrame) -> Figure:
    """Each round's median step time against wall-clock time: the machine's weather, and
    whether the trials moved through it together."""
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax = fig.subplots()
    start = rounds["start_seconds"].min()
    for activation, rows in rounds.groupby("activation", sort=False):
        ax.plot(rows["start_seconds"] - start, rows["us_median"], ".", ms=3,
                color=colour(activation), label=activation)  # fmt: skip
    schedule = run.config.schedule
    ax.set(xlabel="wall-clock time since the first round (s)",
           ylabel="median step time in the round (µs, ↓ faster)",
           title=_title(f"actbench {label}: step time through the run ({schedule} "
                        f"schedule), {describe(run)}", 9))  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, markerscale=3)
    return fig


def step_breakdown(label: str, run: RunRecord, summary: pd.DataFrame) -> Figure:
    """Stacked bars: each activation's step split into its parts (µs) and, beside it, the
    bytes it saves for backward."""
    columns = [f"profile_{part}_us" for part in PROFILE_PARTS]
    parts = summary.dropna(subset=columns).iloc[::-1]
    memory = "saved_bytes" in parts and parts["saved_bytes"].notna().any()
    fig = Figure(figsize=(12 if memory else 10, 1.2 + 0.45 * len(parts)), layout="constrained")
    axes = fig.subplots(1, 2, width_ratios=[3, 1], sharey=True) if memory else [fig.subplots()]
    ax, left = axes[0], pd.Series(0.0, index=parts.index)
    hatches = {"activation": None, "matmul": "//", "loss": "..", "optimizer": "xx", "other": ""}
    greys = matplotlib.colormaps["Greys"]
    for i, (part, column) in enumerate(zip(PROFILE_PARTS, columns, strict=True)):
        colours = (
            [colour(a) for a in parts["activation"]]
            if part == "activation"
            else [greys(0.25 + 0.15 * i)] * len(parts)
        )
        ax.barh(parts["activation"], parts[column], left=left, color=colours,
                hatch=hatches[part], edgecolor="white", label=part)  # fmt: skip
        left += parts[column]
    timed_by = "hooks, eager step" if parts["profile_blocks"].notna().any() else "torch.profiler"
    ax.set(xlabel=f"µs per step, median over blocks ({timed_by})")
    ax.grid(axis="x", alpha=0.3)
    if memory:
        kib = parts["saved_bytes"] / 1024
        axes[1].barh(parts["activation"], kib, color=[colour(a) for a in parts["activation"]])
        axes[1].set(xlabel="KiB saved for backward per step")
        axes[1].grid(axis="x", alpha=0.3)
    title = f"actbench {label}: where the step's time goes, {describe(run)}"
    fig.suptitle(_title(title, 10), fontsize=10)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=5, fontsize=8)  # above the bars
    return fig


def missing(folder: RunFolder, trials: pd.DataFrame) -> list[str]:
    """The pictures a run folder with these finished `trials` should hold and does not."""
    wanted = [SCATTER, CURVES] + ([TIMELINE] if not folder.rounds().empty else [])
    if trials.filter(like="profile_").notna().any().any():
        wanted.append(BREAKDOWN)
    if trials["grad_ratio_last"].notna().any():
        wanted.append(HEALTH)
    return [name for name in wanted if not (folder.path / name).is_file()]


def figures(
    folder: RunFolder, summary: pd.DataFrame | None = None, only: Collection[str] | None = None
) -> dict[str, Figure]:
    """Every picture of a run folder, by file name, from its saved records (and its
    summary, when the caller has just computed it); `only`: those of these names, the
    summary computed only if one of them needs it (`painter.py` draws a few apart)."""
    if folder.trials().empty:
        return {}
    run, rounds, history = folder.info(), folder.rounds(), folder.history()
    wanted = [name for name in NAMES if only is None or name in only]
    if summary is None and {SCATTER, BREAKDOWN} & set(wanted):
        summary = summary_mod.summarize_folder(folder)
    drawn = {
        SCATTER: lambda: scatter([(folder.name, run, summary)]),
        CURVES: lambda: learning_curves(folder.name, run, history),
        TIMELINE: lambda: None if rounds.empty else timeline(folder.name, run, rounds),
        BREAKDOWN: lambda: (
            None
            if table.breakdown_display(summary).empty
            else step_breakdown(folder.name, run, summary)
        ),
        HEALTH: lambda: (
            health_plot.figure(folder.name, describe(run), history)
            if health_plot.has_health(history)
            else None
        ),
    }
    out = {name: drawn[name]() for name in wanted}
    return {name: fig for name, fig in out.items() if fig is not None}


def png(fig: Figure) -> bytes:
    """The picture as a PNG, as every copy of it is made (a run folder's file, the report's
    page), so they are the same bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def overlay(folders: list[RunFolder]) -> Figure:
    """Several runs in one scatter (e.g. CPU vs GPU, before vs after), scored alike."""
    runs = [(f.name, f.info(), summary_mod.summarize_folder(f)) for f in folders]
    metrics = {summary_mod.metric_of(summary).name for _, _, summary in runs}
    if len(metrics) > 1:
        raise ActbenchError(
            f"cannot draw {', '.join(f.name for f in folders)} in one picture: they are scored "
            f"by different metrics ({', '.join(sorted(metrics))})"
        )
    return scatter(runs)
