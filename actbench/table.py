"""The results tables as people read them: `summary.py`'s numbers as cells with units and
intervals, the legend, where an eager step's time goes, and what a step holds and how the
network trains (memory and health)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from actbench.formats import disturbed, interval, score, tabulated
from actbench.records import PROFILE_PARTS
from actbench.stats import CONFIDENCE
from actbench.summary import PROFILE_COLUMNS, metric_of

KIB = 1024


def _diverged(count: int, epochs: str) -> str:
    return f"{count} (epoch {epochs})" if count else "0"


def _raw(mean: float, std: float) -> str:
    """A metric in the data's own unit (thousands of passengers): one decimal is plenty."""
    if pd.isna(mean):
        return "—"
    return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"


def _cost(row) -> str:
    if row["baseline"]:
        return "baseline"
    return interval(row["cost_us"], row["cost_us_low"], row["cost_us_high"], "+.1f")


def _cost_pct(row) -> str:
    if row["baseline"]:
        return "baseline"
    return interval(row["cost_pct"], row["cost_pct_low"], row["cost_pct_high"], "+.1f", "%")


def _gain(row, digits: int) -> str:
    if row["baseline"]:
        return "baseline"
    if pd.isna(row["gain"]):
        return "—"
    if pd.isna(row["gain_low"]):
        return f"{row['gain']:+.{digits}f} (1 seed, no CI)"
    return interval(row["gain"], row["gain_low"], row["gain_high"], f"+.{digits}f")


def has_costs(summary: pd.DataFrame) -> bool:
    return bool(summary["baseline"].any()) if "baseline" in summary else False


def display(summary: pd.DataFrame) -> pd.DataFrame:
    """Human-readable columns (strings with units) for tabulate."""
    rows, metric = summary.to_dict("records"), metric_of(summary)
    level = f"{round(100 * CONFIDENCE)}% CI"
    columns = {
        "activation": [r["activation"] + (" *" if r.get("pareto") else "") for r in rows],
        f"{metric.label} (mean ± std)": [
            score(metric, r[f"{metric.column}_mean"], r[f"{metric.column}_std"]) for r in rows
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


def _part(row, column: str) -> str:
    return interval(row[column], row.get(f"{column}_low"), row.get(f"{column}_high"), ".1f")


def _us(value: float, spec: str = ".1f") -> str:
    return "—" if pd.isna(value) else format(value, spec)


def breakdown_display(summary: pd.DataFrame, wide: bool = True) -> pd.DataFrame:
    """Where an eager step's time goes, per activation (µs per step; the caption says how
    it was measured), beside its kernels timed alone and its timed cost. Compact (not
    `wide`): the activation's part and the whole step, to fit 100 columns."""
    rows = summary.dropna(subset=PROFILE_COLUMNS).to_dict("records")
    frame = pd.DataFrame({"activation": [r["activation"] for r in rows]})
    frame["its part [95% CI]"] = [_part(r, PROFILE_COLUMNS[0]) for r in rows]
    if any(pd.notna(r.get("profile_share_pct")) for r in rows):
        frame["% of step"] = [_us(r["profile_share_pct"]) for r in rows]
    for part, column in zip(PROFILE_PARTS[1:], PROFILE_COLUMNS[1:], strict=True):
        if wide:
            frame[part] = [_us(r[column]) for r in rows]
    frame["total"] = [_us(sum(r[c] for c in PROFILE_COLUMNS)) for r in rows]
    if any(pd.notna(r.get("kernel_us")) for r in rows):
        frame["kernels alone"] = [_us(r["kernel_us"]) for r in rows]
    if has_costs(summary):
        frame["cost µs"] = [
            "baseline" if r["baseline"] else _us(r["cost_us"], "+.1f") for r in rows
        ]
    return frame


def _bytes(value: float) -> str:
    return "—" if pd.isna(value) else f"{value / KIB:,.0f} KiB"


def _pct(first: float, last: float) -> str:
    if pd.isna(first) or pd.isna(last):
        return "—"
    return f"{100 * first:.1f} → {100 * last:.1f}"


def health_display(summary: pd.DataFrame, wide: bool = True) -> pd.DataFrame:
    """What a step holds and how the network trains, per activation; empty for runs saved
    before these were measured. Compact (not `wide`) leaves the step's peak out."""
    if "saved_bytes" not in summary or summary["saved_bytes"].isna().all():
        return pd.DataFrame()
    rows = summary.to_dict("records")
    ratio = [
        interval(r["grad_ratio_last"], r["grad_ratio_last_low"], r["grad_ratio_last_high"], ".3g")
        for r in rows
    ]
    frame = pd.DataFrame(
        {
            "activation": [r["activation"] for r in rows],
            "saved/step": [_bytes(r["saved_bytes"]) for r in rows],
            "step peak": [_bytes(r["peak_bytes"]) for r in rows],
            "dead % first→last": [_pct(r["dead_first"], r["dead_last"]) for r in rows],
            "saturated %": [_pct(r["saturated_first"], r["saturated_last"]) for r in rows],
            "grad ratio [95% CI]": ratio,
        }
    )
    return frame if wide else frame.drop(columns="step peak")


def compact(summary: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader decides by, fitting a 100-column terminal: the metric, the raw
    step time, cost % and gain with their intervals, and whether the timing is to be trusted
    (`display` has them all)."""
    full, metric = display(summary), metric_of(summary)
    level = f"{round(100 * CONFIDENCE)}% CI"
    narrow = replace(metric, digits=metric.narrow_digits or metric.digits)
    rows = summary.to_dict("records")
    columns = {
        "activation": full["activation"],
        metric.label: [
            score(narrow, r[f"{metric.column}_mean"], r[f"{metric.column}_std"]) for r in rows
        ],
        "µs/step": full["µs/step (median, raw)"],
    }
    if has_costs(summary):
        columns[f"cost % [{level}]"] = [
            "baseline"
            if r["baseline"]
            else interval(r["cost_pct"], r["cost_pct_low"], r["cost_pct_high"], "+.1f")
            for r in summary.to_dict("records")
        ]
        gain = next(c for c in full if c.startswith("gain "))
        # "gain RMSE": the legend says
        columns[gain.replace(" reduction", "")] = [_gain(r, narrow.digits) for r in rows]
    if summary["diverged"].sum():
        columns["diverged"] = full["diverged"]
    columns["timing"] = [disturbed(t) for t in summary["timing"]]
    return pd.DataFrame(columns)


def render(summary: pd.DataFrame, fmt: str = "github", wide: bool = True) -> str:
    return tabulated(display(summary) if wide else compact(summary), fmt)


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
        "timing: ok, or disturbed (a wide spread or a slow tail of step times; ×N: in N "
        "seeds; the wide table and summary.md say why)."
    )
