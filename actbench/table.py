"""The results tables as people read them: `summary.py`'s numbers as cells with units and
intervals, the legend, where an eager step's time goes, and what a step holds and how the
network trains (memory and health)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from actbench.formats import MISSING, disturbed, interval, number, score, tabulated, words
from actbench.legend import legend  # noqa: F401 (the report's pages read it from here)
from actbench.records import PROFILE_PARTS
from actbench.stats import CONFIDENCE, MIN_SEEDS
from actbench.summary import PROFILE_COLUMNS, metric_of

KIB = 1024


TEXT_COLUMNS = ["activation", "cost_over", "cost_no_interval", "timing", "diverged_epochs"]
FLAG_COLUMNS = ["pareto", "baseline"]


def gain_column(summary: pd.DataFrame) -> str:
    """`gain_pts` (accuracy points) or `gain_rmse`: the name says the unit, as
    `test_accuracy` (a fraction) and `cost_pct` do."""
    metric = metric_of(summary)
    return "gain_" + ("pts" if metric.higher_is_better else metric.unit.lower())


def _frame_columns(summary: pd.DataFrame) -> list[str]:
    """Run.table's columns, in order: the metric's (and its raw twin's) and the gain's
    names follow the run's metric."""
    metric, gain = metric_of(summary), gain_column(summary)
    scores = [metric.column]
    if metric.raw_column and summary.get(f"{metric.raw_column}_mean", pd.Series()).notna().any():
        scores.append(metric.raw_column)
    return [
        "activation", "seeds", *(f"{c}_{s}" for c in scores for s in ("mean", "std")),
        "us_per_step_median", "us_per_step_p25", "us_per_step_p75",
        "cost_pct", "cost_pct_low", "cost_pct_high", "cost_us", "cost_us_low", "cost_us_high",
        "cost_over", "cost_no_interval", gain, f"{gain}_low", f"{gain}_high", "gain_seeds",
        "pareto", "baseline", "timing", "epochs_mean", "diverged", "diverged_epochs",
        "warmup_steps", "timed_steps", "model", "mode",
    ]  # fmt: skip


def frame(summary: pd.DataFrame) -> pd.DataFrame:
    """`Run.table`: one typed row per activation, best first, the numbers every table
    formats. Plain activation names; numbers as numbers in the units their names say (the
    metric as stored: accuracy a fraction; µs; cost in % and µs; gain in points or RMSE);
    the best trade-off (`pareto`), the baseline and the timing's verdict (`timing`: '' when
    steady, else why not) in columns of their own; `cost_no_interval`: why a cost has no
    interval, in the word its cell shows ('' when it has one)."""
    gain = gain_column(summary)
    named = summary.rename(columns={f"gain{end}": f"{gain}{end}" for end in ("", "_low", "_high")})
    out = named.reindex(columns=_frame_columns(summary)).reset_index(drop=True)
    for column in TEXT_COLUMNS:
        out[column] = words(out[column])
    for column in FLAG_COLUMNS:
        out[column] = out[column].fillna(False).astype(bool)
    numbers = [c for c in out if c not in [*TEXT_COLUMNS, *FLAG_COLUMNS, "model", "mode"]]
    out[numbers] = out[numbers].astype(float)
    return out


def _diverged(count: int, epochs: str) -> str:
    return f"{int(count)} (epoch {epochs})" if count else "0"


def _raw(mean: float, std: float) -> str:
    """A metric in the data's own unit (thousands of passengers): one decimal is plenty."""
    if pd.isna(mean):
        return "—"
    return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"


def cost_cell(row: dict, column: str, unit: str = "", bare: bool = False) -> str:
    """A cost with what it can bear: its interval (none when `bare`); `(no CI: WHY)` without
    one; `≈0` for a point below 0 whose interval holds 0 (no saving the data cannot bear)."""
    if row["baseline"]:
        return "baseline"
    value, low, high = row[column], row.get(f"{column}_low"), row.get(f"{column}_high")
    if pd.isna(value):
        return MISSING
    if pd.isna(low):
        return f"{value:+.1f}{unit} (no CI: {row.get('cost_no_interval') or 'none'})"
    if value < 0 <= high:
        return f"≈0{unit}" if bare else f"≈0{unit} [{low:+.1f}, {high:+.1f}]"
    return f"{value:+.1f}{unit}" if bare else interval(value, low, high, "+.1f", unit)


def _gain(row, gain: str, digits: int) -> str:
    if row["baseline"]:
        return "baseline"
    if pd.isna(row[gain]):
        return MISSING
    if pd.isna(row[f"{gain}_low"]):
        seeds = row["gain_seeds"]
        why = "1 seed" if pd.isna(seeds) or seeds < MIN_SEEDS else "no spread"
        why = "identical" if why == "no spread" and row[gain] == 0 else why
        return f"{row[gain]:+.{digits}f} (no CI: {why})"
    return interval(row[gain], row[f"{gain}_low"], row[f"{gain}_high"], f"+.{digits}f")


def has_costs(summary: pd.DataFrame) -> bool:
    return bool(summary["baseline"].any()) if "baseline" in summary else False


def _level() -> str:
    return f"{round(100 * CONFIDENCE)}% CI"


def display(summary: pd.DataFrame) -> pd.DataFrame:
    """Every column as people read it (strings with units), formatted from `frame`."""
    typed, metric, gain = frame(summary), metric_of(summary), gain_column(summary)
    rows = typed.to_dict("records")
    columns = {
        "activation": [r["activation"] + (" *" if r["pareto"] else "") for r in rows],
        f"{metric.label} (mean ± std)": [
            score(metric, r[f"{metric.column}_mean"], r[f"{metric.column}_std"]) for r in rows
        ],
    }
    if metric.raw_column and f"{metric.raw_column}_mean" in typed:
        unit = summary["raw_unit"].iloc[0] if "raw_unit" in summary else "data units"
        columns[f"{metric.label}, {unit}"] = [
            _raw(r[f"{metric.raw_column}_mean"], r[f"{metric.raw_column}_std"]) for r in rows
        ]
    columns |= {
        "seeds": [number(r["seeds"], ".0f") for r in rows],
        "model": typed["model"],
        "mode": typed["mode"],
        "µs/step (median, raw)": typed["us_per_step_median"].map("{:.1f}".format),
        "µs/step IQR (raw)": [
            f"{r['us_per_step_p25']:.1f}–{r['us_per_step_p75']:.1f}" for r in rows
        ],
    }
    if has_costs(summary):
        columns[f"cost µs/step [{_level()}]"] = [cost_cell(r, "cost_us") for r in rows]
        columns["cost % of baseline step"] = [cost_cell(r, "cost_pct", "%") for r in rows]
        gain_unit = "pts" if metric.higher_is_better else f"{metric.unit} reduction"
        columns[f"gain {gain_unit} [{_level()}]"] = [_gain(r, gain, metric.digits) for r in rows]
    columns["epochs"] = typed["epochs_mean"].map("{:.1f}".format)
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
    if wide and any(pd.notna(r.get("kernel_copy_x")) for r in rows):  # runs since the floor
        frame["× copy"] = [_us(r["kernel_copy_x"], ".2f") for r in rows]
        frame["GB/s"] = [_us(r["kernel_gbs"]) for r in rows]
    if has_costs(summary):
        frame["cost µs"] = [cost_cell(r, "cost_us", bare=True) for r in rows]
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
    (`display` has them all). A regression's RMSE and its gain take fewer digits here."""
    full, typed, metric = display(summary), frame(summary), metric_of(summary)
    narrow = replace(metric, digits=metric.narrow_digits or metric.digits)
    rows = typed.to_dict("records")
    columns = {
        "activation": full["activation"],
        metric.label: [
            score(narrow, r[f"{metric.column}_mean"], r[f"{metric.column}_std"]) for r in rows
        ],
        "µs/step": full["µs/step (median, raw)"],
    }
    if has_costs(summary):
        columns[f"cost % [{_level()}]"] = [cost_cell(r, "cost_pct") for r in rows]
        gain, label = gain_column(summary), next(c for c in full if c.startswith("gain "))
        # "gain RMSE": the legend says
        columns[label.replace(" reduction", "")] = [_gain(r, gain, narrow.digits) for r in rows]
    if typed["diverged"].sum():
        columns["diverged"] = full["diverged"]
    columns["timing"] = [disturbed(t) for t in typed["timing"]]
    return pd.DataFrame(columns)


def render(summary: pd.DataFrame, fmt: str = "github", wide: bool = True) -> str:
    return tabulated(display(summary) if wide else compact(summary), fmt)
