"""Each activation's cost and gain across runs: one point per (run, activation), and the
chart that shows a regression as a visible step.

Two runs' costs are drawn on one line only when they are *comparable*: the same training
(`WHAT`: `compare`'s model keys - data, model, batch, optimizer, split - the mode, the
baseline and the pins `--cpu-capability` and `--flush-denormal`) on the same kind of
machine (`WHERE`: device, CPU or GPU model, host, threads, affinity). Every other pair sits
in another band of the chart, never joined by a line, because a cost that moved there may
have moved with the machine. Epochs, patience and seeds may differ inside a band: they
change how precisely a cost is known, not what it is. Reads summaries (`summary.py`'s
rows), never training code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from matplotlib.colors import to_hex

from actbench import plot
from actbench.comparison import MODEL_KEYS
from actbench.config import PINS
from actbench.run_record import RunRecord, describe, what, where
from actbench.task import metric_named

PRECISION_ONLY = ("epochs", "patience", "warmup_steps")  # how precisely, not what, is known
WHAT = (*(k for k in MODEL_KEYS if k not in PRECISION_ONLY), "mode", "baseline", *PINS)
WHERE = ("device", "device_name", "cpu_model", "hostname", "threads", "cpu_affinity")
PANELS = (  # (column, title): the cost, the gain, and the raw step a run without a baseline has
    ("cost_pct", "cost, % of the baseline's step"),
    ("gain", "gain over the baseline"),
    ("us_per_step_median", "µs per step (median; IQR)"),
)


@dataclass(frozen=True)
class Entry:
    """A run as the report reads it: its name, record and summary (one row per activation)."""

    name: str
    run: RunRecord
    summary: pd.DataFrame


def _plain(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _applies(model: str, key: str) -> bool:
    """`--hidden` shapes the MLP and the LSTM, not the CNN (its layers are fixed): two CNN
    runs that differ only there trained the same network, and their key must not say it."""
    return not (key == "hidden" and model == "cnn")


def group_key(run: RunRecord) -> str:
    """What makes two runs comparable, as one value: equal keys, one group."""
    cfg, env = run.config, run.environment
    what = [_plain(getattr(cfg, k)) if _applies(cfg.model, k) else "-" for k in WHAT]
    return repr(what + [_plain(getattr(env, k)) for k in WHERE])


def run_row(entry: Entry) -> dict:
    """One run in the index: when, which code, which torch, where, what (`run_record`'s
    words: the line `show` starts with)."""
    run = entry.run
    return {
        "run": entry.name,
        "started": (run.started or "")[:16].replace("T", " "),
        "commit": run.environment.commit,
        "torch": run.environment.torch_version or "?",
        "where": where(run),
        "what": what(run),
        "label": describe(run),  # where; what: the group's name in the report
        "group": group_key(run),
        "activations": ", ".join(run.config.activations),
        "seeds": len(run.config.seeds),
        "status": run.status or "",
    }


def points(entries: list[Entry]) -> pd.DataFrame:
    """One row per (run, activation): the run's facts, its group, and the activation's cost,
    gain and step time with their intervals, ordered by group (first started first) then
    by date."""
    rows = []
    for entry in entries:
        facts = run_row(entry)
        for r in entry.summary.to_dict("records"):
            rows.append({**facts, "metric": entry.run.metric, **_values(r)})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    first = frame.groupby("group")["started"].transform("min")
    frame = (
        frame.assign(_first=first)
        .sort_values(["_first", "group", "started", "run"])
        .drop(columns="_first")
        .reset_index(drop=True)
    )
    number = {g: n for n, g in enumerate(dict.fromkeys(frame["group"]), start=1)}
    return frame.assign(group_no=frame["group"].map(number))


def _values(r: dict) -> dict:
    keys = ["activation", "baseline", "us_per_step_median", "us_per_step_p25", "us_per_step_p75"]
    out = {k: r.get(k) for k in keys}
    for column in ("cost_pct", "gain"):
        out |= {c: r.get(c, math.nan) for c in (column, f"{column}_low", f"{column}_high")}
    return out


def _cells(frame: pd.DataFrame, column: str, spec: str) -> list[str]:
    """Each point's value and interval as text: a step time's with its IQR (the baseline's
    too), a cost's or gain's with its 95% interval ('baseline' for the baseline's)."""
    from actbench.formats import interval

    if column == "us_per_step_median":
        return [
            "—" if pd.isna(v) else f"{v:{spec}} (IQR {lo:{spec}}–{hi:{spec}})"
            for v, lo, hi in zip(
                frame[column], frame["us_per_step_p25"], frame["us_per_step_p75"], strict=True
            )
        ]
    return [
        "baseline" if b else interval(v, lo, hi, spec)
        for b, v, lo, hi in zip(
            frame["baseline"], frame[column], frame[f"{column}_low"], frame[f"{column}_high"],
            strict=True,
        )
    ]  # fmt: skip


def table(frame: pd.DataFrame, column: str, spec: str) -> pd.DataFrame:
    """The chart's numbers without JavaScript: a row per run (in the chart's order), a column
    per activation, each cell the value and its interval (a step time's IQR)."""
    cells = frame.assign(cell=_cells(frame, column, spec))
    wide = cells.pivot_table(
        index=["group_no", "run", "started"], columns="activation", values="cell", aggfunc="first",
        sort=False,
    )  # fmt: skip
    return wide.reset_index().rename(columns={"group_no": "group"}).fillna("—")


def figure(frame: pd.DataFrame, pages: dict[str, str]):
    """The across-runs chart for runs of one metric: cost, gain and raw step time stacked,
    one trace per activation (the legend toggles it everywhere), a shaded band per group of
    comparable runs, lines only inside a band; hovering a point names its run, and clicking
    it opens the run's page (`pages`: run name -> relative link)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    metric = metric_named(frame["metric"].iloc[0])
    gain_title = f"gain, {'points' if metric.higher_is_better else metric.unit + ' reduction'}"
    titles = [gain_title if c == "gain" else t for c, t in PANELS]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, subplot_titles=titles,
                        vertical_spacing=0.06)  # fmt: skip
    runs = frame.drop_duplicates("run")[["run", "started", "group", "group_no", "label"]]
    runs = runs.reset_index(drop=True)
    x_of, x = {}, 0
    for i, r in runs.iterrows():
        x += 2 if i and r["group"] != runs["group"][i - 1] else 1  # a gap between groups
        x_of[r["run"]] = x
    for name in dict.fromkeys(frame["activation"]):
        rows = frame[frame["activation"] == name]
        for panel, (column, _) in enumerate(PANELS, start=1):
            # the legend entry is the step-time panel's: every activation has a point there
            fig.add_trace(_trace(go, rows, column, name, x_of, pages, panel == 3), panel, 1)
    _bands(fig, runs, x_of)
    fig.update_xaxes(
        tickvals=[x_of[r] for r in runs["run"]],
        ticktext=[f"{r}<br>{s[:10]}" for r, s in zip(runs["run"], runs["started"], strict=True)],
        tickangle=-40, row=3, col=1,
    )  # fmt: skip
    fig.update_yaxes(type="log", row=3, col=1)  # a CNN's step and an MLP's, both readable
    fig.update_layout(
        height=900, margin={"t": 120, "b": 140}, hovermode="closest", template="plotly_white",
        legend={"title": "activation (click to hide)"},
    )  # fmt: skip
    return fig


def _trace(go, rows: pd.DataFrame, column: str, name: str, x_of: dict, pages: dict, legend: bool):
    """One activation in one panel: a point per run with its interval, a line only between
    neighbours of one group (None breaks it)."""
    xs, ys, plus, minus, data = [], [], [], [], []
    previous = None
    for r in rows.to_dict("records"):
        value = r[column]
        if column != "us_per_step_median" and (r["baseline"] or pd.isna(value)):
            continue
        if previous not in (None, r["group"]):  # another group: break the line
            for values, gap in ((xs, None), (ys, None), (plus, 0), (minus, 0), (data, None)):
                values.append(gap)
        low, high = _bounds(r, column)
        xs.append(x_of[r["run"]])
        ys.append(value)
        plus.append(high - value)
        minus.append(value - low)
        data.append([r["run"], r["started"], r["commit"], r["torch"], r["where"],
                     _cell(r, column), pages.get(r["run"], "")])  # fmt: skip
        previous = r["group"]
    return go.Scatter(
        x=xs, y=ys, mode="lines+markers", name=name, legendgroup=name, showlegend=legend,
        marker={"color": to_hex(plot.colour(name)), "size": 8},
        line={"color": to_hex(plot.colour(name))}, connectgaps=False,
        error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
        customdata=data,
        hovertemplate="<b>%{customdata[0]}</b> · " + name + "<br>%{customdata[5]}<br>"
        "%{customdata[1]} · commit %{customdata[2]} · torch %{customdata[3]}<br>"
        "%{customdata[4]}<extra></extra>",
    )  # fmt: skip


def _bounds(r: dict, column: str) -> tuple[float, float]:
    if column == "us_per_step_median":
        return r["us_per_step_p25"], r["us_per_step_p75"]
    low, high = r[f"{column}_low"], r[f"{column}_high"]
    return (r[column], r[column]) if pd.isna(low) else (low, high)


def _cell(r: dict, column: str) -> str:
    from actbench.formats import interval

    if column == "us_per_step_median":
        iqr = f"{r['us_per_step_p25']:.1f}–{r['us_per_step_p75']:.1f}"
        return f"{r[column]:.1f} µs/step (IQR {iqr})"
    unit = " %" if column == "cost_pct" else ""
    return f"{column.replace('_pct', '')}: " + interval(
        r[column], r[f"{column}_low"], r[f"{column}_high"], "+.2f", unit
    )


def _bands(fig, runs: pd.DataFrame, x_of: dict) -> None:
    """A shaded band and a label per group of comparable runs."""
    for (number, label), members in runs.groupby(["group_no", "label"], sort=False):
        xs = [x_of[r] for r in members["run"]]
        fig.add_vrect(
            x0=min(xs) - 0.45, x1=max(xs) + 0.45, fillcolor="#4c72b0" if number % 2 else "#dd8452",
            opacity=0.08, line_width=0, layer="below",
        )  # fmt: skip
        fig.add_annotation(
            x=(min(xs) + max(xs)) / 2, y=1.035, xref="x", yref="paper", yanchor="bottom",
            text=f"group {number}", showarrow=False, font={"size": 11},
            hovertext=label.replace("; ", "<br>"),
        )  # fmt: skip
