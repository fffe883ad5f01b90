"""The step breakdown across a run: each part's median with an interval, the parts that
must agree, and how far the activation's part explains its timed cost.

Per activation, each part (`breakdown.py`) is the median over every block the run
measured (one per trial and epoch, all seeds pooled), with a distribution-free 95 %
interval for that median (order statistics of the blocks: no assumption about their
shape). µs move with the machine's speed from one run to the next; the activation's
share of its block's step (`profile_share_pct`) does not, as a cost in % does not.

Matmul, loss and optimizer do identical work whatever the activation (same shapes,
same kernels): they are internal controls. Each block of a control is read against the
median of the same part over the activations measured in the same round (same seed and
epoch: the same seconds, so the machine's speed cancels, as it does in a cost); when the
median of those ratios, for some activation, is more than `TOLERANCE` away from 1, the
breakdown of that run is disturbed (something slowed some blocks and not others) and says
so. One exception is
physics, not weather: when more than `SUBNORMAL` of an activation's weights and optimizer
state is subnormal (a dead relu unit's Adam moments decay through that range), its
optimizer computes on numbers x86 handles slowly; that control is left out for it, and
the verdict says why (docs/measuring.md has what was and was not shown about it).

The activation's part, net of the baseline's (identity's part is its hooks' own cost), is
set against the paired timed cost in µs (`costs.py`): the share of the cost its kernels
explain. The rest is what the activation does to its neighbours (the next layer reads a
tensor it just wrote, or not; a saved input is another tensor to keep) and what the
profiled twin, a step without the sweep's rounds around it, does not see.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from actbench.records import PROFILE_PARTS
from actbench.stats import CONFIDENCE

TOLERANCE = 0.10  # controls within ± 10 % of their median across activations
SUBNORMAL = 0.1  # % of the weights and optimizer state: the optimizer is no control then
CONTROLS = ("matmul", "loss", "optimizer")
COLUMNS = [f"profile_{part}_us" for part in PROFILE_PARTS]


def median_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """A distribution-free interval for the median: the k-th smallest and k-th largest of
    `values`, k from the binomial(n, 1/2) distribution; NaN for fewer than 6 values."""
    values = np.sort(values[np.isfinite(values)])
    n = values.size
    k = int(stats.binom.ppf((1 - confidence) / 2, n, 0.5)) if n else 0
    if k < 1:
        return float("nan"), float("nan")
    return float(values[k - 1]), float(values[n - k])


def table(trials: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """Per activation: each part's median (µs/step), its interval, and the block count;
    from history's blocks when it has them, else from the trials' own medians."""
    per_epoch = history is not None and COLUMNS[0] in history
    blocks = history if per_epoch else trials
    rows = {}
    for name, group in blocks.groupby("activation", sort=False):
        count = int(group[COLUMNS[0]].notna().sum()) if per_epoch else np.nan
        row: dict[str, float] = {"profile_blocks": count}
        if "subnormal_pct" in group:
            row["optimizer_subnormal"] = bool(group["subnormal_pct"].median() > SUBNORMAL)
        for column in COLUMNS:
            values = group[column].to_numpy(dtype=float)
            row[column] = float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan
            row[f"{column}_low"], row[f"{column}_high"] = median_interval(values)
        # the activation's share of its own block's step: the machine's speed cancels
        share = (100 * group[COLUMNS[0]] / group[COLUMNS].sum(axis=1, min_count=1)).to_numpy()
        row["profile_share_pct"] = (
            float(np.nanmedian(share)) if np.isfinite(share).any() else np.nan
        )
        rows[name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "activation"
    if frame.empty:
        return frame
    frame["profile_spread_pct"] = _spread(frame, _paired(blocks) if per_epoch else None)
    return frame


def _paired(blocks: pd.DataFrame) -> pd.DataFrame:
    """Per activation, each control's median ratio to the same part of the activations
    measured in the same round (seed and epoch)."""
    rounds = blocks.groupby(["seed", "epoch"])
    ratios = pd.DataFrame({"activation": blocks["activation"]})
    for part in CONTROLS:
        column = f"profile_{part}_us"
        ratios[column] = blocks[column] / rounds[column].transform("median")
    return ratios.groupby("activation", sort=False).median()


def _spread(frame: pd.DataFrame, paired: pd.DataFrame | None) -> pd.Series:
    """Per activation, the largest distance (%) of a control part from the others': paired
    by round when the blocks are known, else against the median across activations."""
    worst = pd.Series(0.0, index=frame.index)
    slow_numbers = frame.get("optimizer_subnormal", pd.Series(False, index=frame.index))
    for part in CONTROLS:
        column = f"profile_{part}_us"
        ratio = paired[column] if paired is not None else frame[column] / frame[column].median()
        apart = (ratio.reindex(frame.index) - 1).abs() * 100
        if part == "optimizer":
            apart = apart.where(~slow_numbers.fillna(False).astype(bool), 0.0)
        worst = np.maximum(worst, apart.fillna(0.0))
    return worst


def _clearly_positive(summary: pd.DataFrame) -> pd.Series:
    """Costs whose interval lies above 0. A share of a cost that may be 0 or below means
    nothing: 36 µs of a 13 µs cost read as 290 %, of a negative one as -146 %."""
    low = summary.get("cost_us_low", pd.Series(np.nan, index=summary.index))
    return ~summary["baseline"].astype(bool) & (low > 0)


def reconcile(summary: pd.DataFrame) -> pd.DataFrame:
    """The activation part net of the baseline's, and the share of the timed cost (µs)
    it and the directly timed kernels explain, where that cost is clearly above 0."""
    base = summary.loc[summary["baseline"], "profile_activation_us"]
    base_us = float(base.iloc[0]) if len(base) else 0.0
    net = summary["profile_activation_us"] - base_us
    cost, clear = summary["cost_us"], _clearly_positive(summary)
    return summary.assign(
        profile_net_us=net.where(~summary["baseline"]),
        explained_pct=(net / cost * 100).where(clear),
        kernel_of_cost_pct=(summary["kernel_us"] / cost * 100).where(clear),
    )


def explains(summary: pd.DataFrame) -> str:
    """How much of each timed cost the activation's part explains, in a sentence: a share
    where the cost is clearly above 0, a dash and the reason where it is not."""
    rows = summary[~summary["baseline"]].to_dict("records") if "explained_pct" in summary else []
    shown = [
        f"{r['activation']} {r['explained_pct']:.0f}% ({r['profile_net_us']:.0f} of "
        f"{r['cost_us']:.0f} µs)"
        for r in rows
        if pd.notna(r["explained_pct"])
    ]
    dashed = [
        r["activation"]
        for r in rows
        if pd.isna(r["explained_pct"]) and pd.notna(r.get("profile_net_us"))
    ]
    if not shown and not dashed:
        return ""
    parts = list(shown)
    if dashed:
        parts.append(
            f"— for {', '.join(dashed)} (the cost's interval reaches 0 or could not be "
            "computed: a share of it would mean nothing)"
        )
    text = "Its part, net of the baseline's, explains of its timed cost: " + "; ".join(parts) + "."
    if shown:
        text += (
            " The rest is in `other` (autograd's engine, the module call) and the "
            "neighbouring layers (docs/measuring.md)."
        )
    return text


def total_note(summary: pd.DataFrame) -> str:
    """Why the breakdown's total is not the table's µs/step: it is another step."""
    if "us_per_step_median" not in summary:
        return ""
    total = summary[COLUMNS].sum(axis=1, min_count=len(COLUMNS))
    over = (100 * (total / summary["us_per_step_median"] - 1)).dropna().round()
    if over.empty:
        return ""
    span = f"{over.min():+.0f}" + ("" if over.min() == over.max() else f" to {over.max():+.0f}")
    return (
        "total: the parts' sum, the hooked twin's step, not a timed step: here "
        f"{span} % over the table's µs/step, the hooks' own calls (≈ 1 µs on every module "
        "call and every autograd node, charged to `other`; an LSTM's time steps make many) "
        "and short blocks between rounds; costs and µs/step are the timed steps'. "
    )


def verdict(summary: pd.DataFrame) -> str:
    """One line: whether the controls agree, and the worst of them."""
    spread = summary.get("profile_spread_pct", pd.Series(dtype=float)).dropna()
    if spread.empty or len(spread) < 2:
        return ""
    worst = summary.loc[spread.idxmax()]
    words = (
        f"matmul, loss and optimizer agree across activations within {spread.max():.1f} % "
        f"in the same rounds (worst: {worst['activation']})"
    )
    slow = summary.get("optimizer_subnormal", pd.Series(dtype=object)).fillna(False).astype(bool)
    if slow.any():
        names = ", ".join(summary.loc[slow, "activation"])
        words += (
            f"; the optimizer left out for {names}: more than {SUBNORMAL} % of its weights and "
            "Adam state is subnormal, slow numbers on x86, so it is no control"
        )
    if spread.max() > TOLERANCE * 100:
        return f"breakdown disturbed: {words}, more than the ± {TOLERANCE:.0%} they should"
    return f"breakdown holds: {words}, inside ± {TOLERANCE:.0%}"
