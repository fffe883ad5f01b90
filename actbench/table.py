"""The results table: trial records in, one row per activation out.

Accuracy is mean ± std over seeds; µs/step is the median over seeds of each trial's median
step time, with the IQR likewise (one seed: exactly that trial's median and IQR). Cost and
gain are measured against the run's baseline (`costs.py`); `timing` says when a trial's
step times are disturbed (`timing.disturbance`). A second table says where an eager
step's time goes (`breakdown.py`).
"""

from __future__ import annotations

import sys

import pandas as pd
from tabulate import tabulate

from actbench import costs, timing
from actbench.errors import ActbenchError
from actbench.records import PROFILE_PARTS
from actbench.records import PROFILE_STEPS as PROFILED_STEPS
from actbench.storage import RunFolder

PROFILE_COLUMNS = [f"profile_{part}_us" for part in PROFILE_PARTS]


def trial_disturbance(trials: pd.DataFrame) -> pd.Series:
    """Per trial: why its step times should not be read at face value ('' if clean)."""
    slow = trials["slow_steps"] if "slow_steps" in trials else pd.Series(0, index=trials.index)
    return pd.Series(
        [
            timing.disturbance(m, lo, hi, mean, n)
            for m, lo, hi, mean, n in zip(
                trials["us_per_step_median"],
                trials["us_per_step_p25"],
                trials["us_per_step_p75"],
                trials["us_per_step_mean"],
                slow,
                strict=True,
            )
        ],
        index=trials.index,
        dtype=object,
    )


def _timing_flags(trials: pd.DataFrame) -> pd.Series:
    """Per activation: the disturbed trials' reasons, by seed when there are several."""
    reasons = trials.assign(reason=trial_disturbance(trials))
    several = trials["seed"].nunique() > 1
    out = {}
    for name, rows in reasons.groupby("activation", sort=False):
        flagged = rows[rows["reason"] != ""]
        out[name] = "; ".join(
            f"seed {s}: {r}" if several else r
            for s, r in zip(flagged["seed"], flagged["reason"], strict=True)
        )
    return pd.Series(out, dtype=object)


def summarize(
    trials: pd.DataFrame,
    rounds: pd.DataFrame | None = None,
    baseline: str | None = None,
) -> pd.DataFrame:
    """One row per activation, best test accuracy first; cost and gain over `baseline`."""
    trials = trials.assign(mode=trials.get("mode", "eager"), model=trials.get("model", "mlp"))
    for column in PROFILE_COLUMNS:
        if column not in trials:
            trials[column] = float("nan")
    grouped = trials.groupby("activation", sort=False)
    summary = pd.DataFrame(
        {
            "model": grouped["model"].first(),
            "mode": grouped["mode"].first(),
            "seeds": grouped["seed"].nunique(),
            "test_accuracy_mean": grouped["test_accuracy"].mean(),
            "test_accuracy_std": grouped["test_accuracy"].std(ddof=1),
            "us_per_step_median": grouped["us_per_step_median"].median(),
            "us_per_step_p25": grouped["us_per_step_p25"].median(),
            "us_per_step_p75": grouped["us_per_step_p75"].median(),
            "epochs_mean": grouped["epochs"].mean(),
            "diverged": grouped["diverged"].sum().astype(int),
            "diverged_epochs": grouped["diverged_epoch"].agg(_epochs),
            "timing": _timing_flags(trials),
            **{column: grouped[column].median() for column in PROFILE_COLUMNS},
        }
    )
    summary.index.name = "activation"
    rounds = pd.DataFrame() if rounds is None else rounds
    summary = summary.join(costs.table(trials, rounds, baseline))
    summary["baseline"] = summary.index == baseline
    return (
        summary.reset_index()
        .sort_values(
            ["test_accuracy_mean", "us_per_step_median"],
            ascending=[False, True],
            na_position="last",
        )
        .reset_index(drop=True)
    )


def summarize_folder(folder: RunFolder) -> pd.DataFrame:
    """`summarize` of a saved run, against the baseline its configuration names."""
    trials = folder.trials()
    if trials.empty:
        raise ActbenchError(f"run {folder.path} has no finished trials")
    baseline = folder.run_info().get("config", {}).get("baseline")
    try:
        return summarize(trials, folder.rounds(), baseline)
    except KeyError as exc:
        raise ActbenchError(f"{folder.path / 'trials.csv'} is missing column {exc}") from None


def _epochs(values: pd.Series) -> str:
    return ",".join(str(int(v)) for v in values.dropna())


def _diverged(count: int, epochs: str) -> str:
    return f"{count} (epoch {epochs})" if count else "0"


def _accuracy(mean: float, std: float) -> str:
    if pd.isna(mean):
        return "—"
    return f"{100 * mean:.2f}" if pd.isna(std) else f"{100 * mean:.2f} ± {100 * std:.2f}"


def _interval(value: float, low: float, high: float, spec: str, unit: str = "") -> str:
    if pd.isna(value):
        return "—"
    if pd.isna(low):
        return f"{value:{spec}}{unit}"
    return f"{value:{spec}}{unit} [{low:{spec}}, {high:{spec}}]"


def _cost(row) -> str:
    if row["baseline"]:
        return "baseline"
    return _interval(row["cost_us"], row["cost_us_low"], row["cost_us_high"], "+.1f")


def _cost_pct(row) -> str:
    if row["baseline"]:
        return "baseline"
    return _interval(row["cost_pct"], row["cost_pct_low"], row["cost_pct_high"], "+.1f", "%")


def _gain(row) -> str:
    if row["baseline"]:
        return "baseline"
    if pd.isna(row["gain_points"]):
        return "—"
    if pd.isna(row["gain_low"]):
        return f"{row['gain_points']:+.2f} (1 seed, no CI)"
    return _interval(row["gain_points"], row["gain_low"], row["gain_high"], "+.2f")


def has_costs(summary: pd.DataFrame) -> bool:
    return bool(summary["baseline"].any()) if "baseline" in summary else False


def display(summary: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Human-readable columns (strings with units) for tabulate."""
    rows = summary.to_dict("records")
    level = f"{round(100 * confidence)}% CI"
    columns = {
        "activation": [r["activation"] + (" *" if r.get("pareto") else "") for r in rows],
        "test acc % (mean ± std)": [
            _accuracy(r["test_accuracy_mean"], r["test_accuracy_std"]) for r in rows
        ],
        "seeds": summary["seeds"],
        "model": summary["model"],
        "mode": summary["mode"],
        "µs/step (median)": summary["us_per_step_median"].map("{:.1f}".format),
        "µs/step IQR": [f"{r['us_per_step_p25']:.1f}–{r['us_per_step_p75']:.1f}" for r in rows],
    }
    if has_costs(summary):
        columns[f"cost µs/step [{level}]"] = [_cost(r) for r in rows]
        columns["cost %"] = [_cost_pct(r) for r in rows]
        columns[f"gain pts [{level}]"] = [_gain(r) for r in rows]
    columns["epochs"] = summary["epochs_mean"].map("{:.1f}".format)
    columns["diverged"] = [_diverged(r["diverged"], r["diverged_epochs"]) for r in rows]
    columns["timing"] = [r["timing"] or "ok" for r in rows]
    return pd.DataFrame(columns)


def breakdown_display(summary: pd.DataFrame) -> pd.DataFrame:
    """Where an eager step's time goes, per activation (µs per step, profiled)."""
    parts = summary[["activation", *PROFILE_COLUMNS]].dropna()
    frame = pd.DataFrame({"activation": parts["activation"]})
    for part, column in zip(PROFILE_PARTS, PROFILE_COLUMNS, strict=True):
        frame[f"{part} µs"] = parts[column].map("{:.1f}".format)
    frame["profiled total µs"] = parts[PROFILE_COLUMNS].sum(axis=1).map("{:.1f}".format)
    return frame


def default_format() -> str:
    """A grid on a terminal; GitHub markdown on a pipe, so output pastes into an issue."""
    return "rounded_grid" if sys.stdout.isatty() else "github"


def _tabulate(frame: pd.DataFrame, fmt: str) -> str:
    return tabulate(frame, headers="keys", tablefmt=fmt, showindex=False, disable_numparse=True)


def render(summary: pd.DataFrame, fmt: str = "github") -> str:
    return _tabulate(display(summary), fmt)


def render_breakdown(summary: pd.DataFrame, fmt: str = "github") -> str:
    """The second table, or '' for runs saved before steps were profiled."""
    frame = breakdown_display(summary)
    return "" if frame.empty else _tabulate(frame, fmt)


def legend(summary: pd.DataFrame) -> str:
    """How to read the cost and gain columns of this summary, in one paragraph."""
    if not has_costs(summary):
        return ""
    base = summary.loc[summary["baseline"], "activation"].iloc[0]
    return (
        f"cost: extra µs per step over the baseline `{base}`, from per-round ratios of "
        "median step times paired by round (the same stretch of time under the interleaved "
        "schedule), with a bootstrap interval over rounds; gain: test-accuracy difference in "
        "points over the baseline, paired by seed, with a t interval over seeds. "
        "* = no other activation is both cheaper and more accurate. "
        "timing: ok, or why a trial's step times are disturbed (spread or a slow tail)."
    )


def model_name(cfg: dict) -> str:
    """'MLP 784-100-100-100-10' or 'CNN (Keras example)', from a saved configuration."""
    if cfg.get("model", "mlp") == "cnn":
        return "CNN 32c3-p2-64c3-p2-64c3-64-10 (Keras example)"
    return f"MLP 784-{'-'.join(map(str, cfg['hidden']))}-10"


def printed(run: dict, summary: pd.DataFrame, fmt: str) -> str:
    """What `sweep` and `show` print: the table, its legend, the breakdown, the timer."""
    parts = [render(summary, fmt), legend(summary)]
    breakdown = render_breakdown(summary, fmt)
    if breakdown:
        parts += ["", "Where an eager step's time goes (torch.profiler, µs per step):", breakdown]
    parts.append(footer(run, summary))
    return "\n".join(p for p in parts if p is not None)


def footer(run: dict, summary: pd.DataFrame) -> str:
    """The timer's own cost next to the steps it timed: proof that the clock adds nothing."""
    overhead = run.get("timer_overhead_us")
    if overhead is None or summary.empty:
        return ""
    fastest = summary["us_per_step_median"].min()
    return (
        f"timer overhead: {overhead:.2f} µs per timed region "
        f"({100 * overhead / fastest:.3f}% of the fastest median step)"
    )


def markdown_report(run: dict, summary: pd.DataFrame) -> str:
    """summary.md: the table with the configuration and environment needed to read it."""
    cfg, env = run["config"], run["environment"]
    lines = [
        f"# actbench run `{run['name']}`",
        "",
        f"- device: `{env['device']}` ({env['device_name']}), threads: {env['threads']}, "
        f"torch {env['torch_version']}"
        + (f", CUDA {env['cuda_version']}" if env.get("cuda_version") else ""),
        f"- model: {model_name(cfg)}, batch {cfg['batch_size']}, "
        f"mode {cfg.get('mode', 'eager')}, {cfg['optimizer']} lr {cfg['lr']}, "
        f"≤{cfg['epochs']} epochs, patience {cfg['patience']}, "
        f"val fraction {cfg['val_fraction']}"
        + (f", train limit {cfg['train_limit']}" if cfg.get("train_limit") else ""),
        f"- seeds: {', '.join(map(str, cfg['seeds']))}; warm-up steps excluded per trial: "
        f"{cfg['warmup_steps']}; timing: {run['timing_method']}",
        f"- schedule: {cfg.get('schedule', 'sequential')}"
        + (
            f" (rounds of {cfg['round_steps']} steps)"
            if cfg.get("schedule") == "interleaved"
            else ""
        )
        + f"; baseline: {cfg.get('baseline') or 'none'}",
        f"- host: {env['hostname']}, {env['cpu_model']}, {env['platform']}",
        f"- started {run['started']}, finished {run.get('finished') or '(not finished)'}",
        "",
        render(summary, "github"),
        "",
        "Sorted by test accuracy. µs/step: median of each trial's median step time over seeds, "
        "IQR likewise. " + legend(summary),
        "",
    ]
    breakdown = render_breakdown(summary, "github")
    if breakdown:
        lines += [
            "## Where an eager step's time goes",
            "",
            "Operator self time per step under torch.profiler, in a separate block of "
            f"{PROFILED_STEPS} steps after training (never the timed steps): activation "
            "kernels forward and backward, the linear/conv layers, the loss, the optimizer, "
            "and everything else.",
            "",
            breakdown,
            "",
        ]
    lines += [footer(run, summary), ""]
    return "\n".join(lines)


def show_text(folder: RunFolder, fmt: str) -> str:
    """What `actbench show` prints: the run in one line, its table, and where its plots are."""
    run, summary = folder.run_info(), summarize_folder(folder)
    env, cfg = run.get("environment", {}), run.get("config", {})
    lines = [
        f"{folder.name}: {env.get('device', '?')} ({env.get('device_name', '?')}), "
        f"{env.get('threads', '?')} threads, "
        f"{cfg.get('model', 'mlp')}, {cfg.get('mode', 'eager')}, "
        f"{run.get('status', '?')}, started {run.get('started', '?')}",
        printed(run, summary, fmt),
    ]
    lines += [f"plot: {p}" for p in sorted(folder.path.glob("*.png"))]
    return "\n".join(lines)


def listing(folders: list[RunFolder]) -> list[dict]:
    """One row per run folder for `actbench list`: when, where, what, how far."""
    rows = []
    for folder in folders:
        try:
            run = folder.run_info()
            trials = len(folder.trials())
        except ActbenchError as exc:
            rows.append({"run": folder.name, "started": f"unreadable: {exc}"})
            continue
        cfg, env = run.get("config", {}), run.get("environment", {})
        rows.append(
            {
                "run": folder.name,
                "started": run.get("started", ""),
                "status": run.get("status", ""),
                "device": f"{env.get('device', '?')} ({env.get('device_name', '?')})",
                "threads": env.get("threads", ""),
                "model": cfg.get("model", "mlp"),
                "mode": cfg.get("mode", "eager"),
                "activations": ",".join(cfg.get("activations", [])),
                "seeds": ",".join(map(str, cfg.get("seeds", []))),
                "trials": trials,
            }
        )
    return rows
