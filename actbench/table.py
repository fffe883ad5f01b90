"""The results table: trial records in, one row per activation out.

The dataset's metric (`task.Metric`: accuracy, or RMSE for a series) is mean ± std over
seeds, best first; µs/step is the median over seeds of each trial's median
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
from actbench.storage import RunFolder
from actbench.task import ACCURACY, Metric, metric_named

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


def metric_of(summary: pd.DataFrame) -> Metric:
    """The metric a summary was made for (its `metric` column; accuracy before datasets)."""
    if "metric" in summary and len(summary):
        return metric_named(summary["metric"].iloc[0])
    return ACCURACY


def summarize(
    trials: pd.DataFrame,
    rounds: pd.DataFrame | None = None,
    baseline: str | None = None,
    metric: Metric = ACCURACY,
) -> pd.DataFrame:
    """One row per activation, best `metric` first; cost and gain over `baseline`."""
    trials = trials.assign(mode=trials.get("mode", "eager"), model=trials.get("model", "mlp"))
    for column in PROFILE_COLUMNS:
        if column not in trials:
            trials[column] = float("nan")
    grouped = trials.groupby("activation", sort=False)
    scores = {}
    for column in filter(None, (metric.column, metric.raw_column)):
        scores[f"{column}_mean"] = grouped[column].mean()
        scores[f"{column}_std"] = grouped[column].std(ddof=1)
    summary = pd.DataFrame(
        {
            "model": grouped["model"].first(),
            "mode": grouped["mode"].first(),
            "seeds": grouped["seed"].nunique(),
            "metric": metric.name,
            **scores,
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
    summary = summary.join(costs.table(trials, rounds, baseline, metric))
    summary["baseline"] = summary.index == baseline
    return (
        summary.reset_index()
        .sort_values(
            [f"{metric.column}_mean", "us_per_step_median"],
            ascending=[not metric.higher_is_better, True],
            na_position="last",
        )
        .reset_index(drop=True)
    )


def summarize_folder(folder: RunFolder) -> pd.DataFrame:
    """`summarize` of a saved run, against the baseline its configuration names."""
    trials = folder.trials()
    if trials.empty:
        raise ActbenchError(f"run {folder.path} has no finished trials")
    run = folder.run_info()
    baseline = run.get("config", {}).get("baseline")
    try:
        summary = summarize(trials, folder.rounds(), baseline, metric_named(run.get("metric")))
    except KeyError as exc:
        raise ActbenchError(f"{folder.path / 'trials.csv'} is missing column {exc}") from None
    unit = (run.get("data") or {}).get("unit")
    if unit:  # what a raw metric (RMSE in the data's own unit) is measured in
        summary["raw_unit"] = unit
    return summary


def _epochs(values: pd.Series) -> str:
    return ",".join(str(int(v)) for v in values.dropna())


def _diverged(count: int, epochs: str) -> str:
    return f"{count} (epoch {epochs})" if count else "0"


def _score(metric: Metric, mean: float, std: float) -> str:
    if pd.isna(mean):
        return "—"
    text = metric.format(mean)
    return text if pd.isna(std) else f"{text} ± {metric.format(std)}"


def _raw(mean: float, std: float) -> str:
    """A metric in the data's own unit (thousands of passengers): one decimal is plenty."""
    if pd.isna(mean):
        return "—"
    return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"


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


def _gain(row, digits: int) -> str:
    if row["baseline"]:
        return "baseline"
    if pd.isna(row["gain_points"]):
        return "—"
    if pd.isna(row["gain_low"]):
        return f"{row['gain_points']:+.{digits}f} (1 seed, no CI)"
    return _interval(row["gain_points"], row["gain_low"], row["gain_high"], f"+.{digits}f")


def has_costs(summary: pd.DataFrame) -> bool:
    return bool(summary["baseline"].any()) if "baseline" in summary else False


def display(summary: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Human-readable columns (strings with units) for tabulate."""
    rows, metric = summary.to_dict("records"), metric_of(summary)
    level = f"{round(100 * confidence)}% CI"
    columns = {
        "activation": [r["activation"] + (" *" if r.get("pareto") else "") for r in rows],
        f"{metric.label} (mean ± std)": [
            _score(metric, r[f"{metric.column}_mean"], r[f"{metric.column}_std"]) for r in rows
        ],
    }
    if metric.raw_column and f"{metric.raw_column}_mean" in summary:
        unit = summary["raw_unit"].iloc[0] if "raw_unit" in summary else "data units"
        columns[f"{metric.label}, {unit}"] = [
            _raw(r[f"{metric.raw_column}_mean"], r[f"{metric.raw_column}_std"]) for r in rows
        ]
    columns |= {
        "seeds": summary["seeds"],
        "model": summary["model"],
        "mode": summary["mode"],
        "µs/step (median, raw)": summary["us_per_step_median"].map("{:.1f}".format),
        "µs/step IQR (raw)": [
            f"{r['us_per_step_p25']:.1f}–{r['us_per_step_p75']:.1f}" for r in rows
        ],
    }
    if has_costs(summary):
        columns[f"cost µs/step [{level}]"] = [_cost(r) for r in rows]
        columns["cost % of baseline step"] = [_cost_pct(r) for r in rows]
        gain_unit = "pts" if metric.higher_is_better else f"{metric.unit} reduction"
        columns[f"gain {gain_unit} [{level}]"] = [_gain(r, metric.digits) for r in rows]
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


def _cost_basis(summary: pd.DataFrame) -> str:
    """What the cost intervals are over, from the rows themselves."""
    over = summary.get("cost_over", pd.Series(dtype=object))
    over = over[~summary["baseline"]].dropna() if len(over) else over
    if len(over) and (over == "within this run").all():
        return "within this run (one seed: a rerun may land outside it)"
    seeds = (
        summary.loc[~summary["baseline"], "cost_seeds"].dropna() if "cost_seeds" in summary else []
    )
    k = int(max(seeds)) if len(seeds) else 0
    if k >= 2:
        return f"a t interval over {k} seeds, each trained in its own process" + (
            " (2 seeds: wide)" if k == 2 else ""
        )
    return "a bootstrap interval over rounds (a run saved before intervals over seeds)"


def legend(summary: pd.DataFrame) -> str:
    """How to read the cost and gain columns of this summary, in one paragraph."""
    if not has_costs(summary):
        return ""
    base = summary.loc[summary["baseline"], "activation"].iloc[0]
    metric = metric_of(summary)
    better = "more accurate" if metric.higher_is_better else f"lower in {metric.title}"
    return (
        f"cost: extra time per step over the baseline `{base}` measured in the same rounds "
        "(per seed, the median over rounds of the step-time ratio; drift cancels), as % of "
        "the baseline's step and in µs of its median step, with "
        f"{_cost_basis(summary)}; µs/step columns are raw, not drift-corrected. "
        f"gain: {metric.gain_title}, paired by seed, with a t interval over seeds; "
        f"{metric.title} is mean ± std over seeds. "
        f"* = no other activation is both cheaper and {better}. "
        "timing: ok, or why a trial's step times are disturbed (spread or a slow tail)."
    )
