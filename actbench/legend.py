"""How to read a run's table, written from the case at hand: the legend under it (one seed,
two, many; costs with or without an interval; accuracy or a regression metric), and the
notes that qualify it (short trials, a warm-up cut short, divergence), in the table's own
words. `show`, `sweep`, summary.md and the report print the same sentences."""

from __future__ import annotations

import pandas as pd

from actbench import costs, outliers
from actbench.stats import CONFIDENCE, MIN_POINTS, MIN_SEEDS, MIN_TIMED_STEPS, WITHIN_RUN
from actbench.summary import metric_of

LEVEL = f"{round(100 * CONFIDENCE)}% CI"


def _others(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows with a cost over the baseline: every activation but the baseline."""
    return summary[~summary["baseline"] & summary["cost_pct"].notna()]


def _seeds(rows: pd.DataFrame) -> int:
    seeds = rows["cost_seeds"].dropna() if "cost_seeds" in rows else pd.Series(dtype=float)
    return int(seeds.max()) if len(seeds) else 0


def _near_zero(summary: pd.DataFrame) -> bool:
    """Whether a cell shows `≈0`: a cost below 0 whose interval holds 0."""
    rows = _others(summary)
    return bool(((rows["cost_pct"] < 0) & (rows["cost_pct_high"] >= 0)).any())


def _cost_interval(summary: pd.DataFrame) -> str:
    """What the cost intervals are over, and what the cells without one say."""
    rows = _others(summary)
    why = rows.get("cost_no_interval", pd.Series("", index=rows.index)).fillna("")
    with_ci, reasons = rows[why == ""], list(dict.fromkeys(why[why != ""]))
    parts = []
    if len(with_ci):
        k = _seeds(with_ci)
        if (with_ci["cost_over"] == WITHIN_RUN).all():
            parts.append(
                f"{LEVEL}: within this run only (one seed: a bootstrap over its rounds, which "
                "a rerun may land outside)"
            )
        elif k >= MIN_SEEDS:
            wide = " (1 degree of freedom: wide)" if k == 2 else ""
            parts.append(
                f"{LEVEL}: a t interval over {k} seeds, each trained in its own process{wide}"
            )
        else:
            parts.append(f"{LEVEL}: a bootstrap interval over rounds (a run saved before seeds)")
    for reason in reasons:
        detail = costs.NO_INTERVAL.get(reason, "no interval could be made")
        parts.append(f"(no CI: {reason}): {detail}, so no interval and never a *")
    return "; ".join(parts) if parts else "no cost could be measured"


def _gain_interval(summary: pd.DataFrame) -> str:
    rows = summary[~summary["baseline"] & summary["gain"].notna()]
    seeds = rows["gain_seeds"].dropna() if "gain_seeds" in rows else pd.Series(dtype=float)
    k = int(seeds.max()) if len(seeds) else 0
    if k < MIN_SEEDS:
        return "one seed: the difference alone (no CI: 1 seed)"
    text = f"{LEVEL}: a paired t interval over {k} seeds"
    flat = rows[rows["gain_low"].isna()]
    if (flat["gain"] == 0).any():
        text += "; (no CI: identical): every seed scored the same on both"
    if (flat["gain"] != 0).any():
        text += "; (no CI: no spread): every seed moved by the same amount"
    return text


def legend(summary: pd.DataFrame) -> str:
    """How to read the cost and gain columns of this summary, in one paragraph."""
    if "baseline" not in summary or not summary["baseline"].any():
        return ""
    base = summary.loc[summary["baseline"], "activation"].iloc[0]
    metric = metric_of(summary)
    better = "more accurate" if metric.higher_is_better else f"lower in {metric.title}"
    spread = "mean ± std over seeds" if summary["seeds"].max() > 1 else "one seed's score"
    stars = "" if summary["pareto"].any() else " (none here)"
    near_zero = (
        " ≈0: below 0, but its interval holds 0, so no saving is shown."
        if _near_zero(summary)
        else ""
    )
    return (
        f"cost: extra time per step over the baseline `{base}` measured in the same rounds "
        "(per seed, the median over rounds of the step-time ratio; drift cancels), as % of "
        f"the baseline's step and in µs of its median step; {_cost_interval(summary)}."
        f"{near_zero} µs/step columns are raw, not drift-corrected. "
        f"gain: {metric.gain_title}, paired by seed; "
        f"{_gain_interval(summary)}. {metric.title}: {spread}. "
        f"* = no other activation is both cheaper and {better}, among those whose cost has "
        f"an interval and a steady timing{stars}. "
        "timing: ok, or disturbed (a wide spread or a slow tail of step times; ×N: in N "
        "seeds; the wide table and summary.md say why)."
    )


def notes(summary: pd.DataFrame, warmup_asked: int | None = None) -> list[str]:
    """What qualifies the table, one line each: trials too short for steady step-time
    statistics, a warm-up cut short, trials that diverged, kernels slowed by their inputs,
    a seed apart."""
    out = []
    timed = summary.get("timed_steps", pd.Series(dtype=float)).dropna()
    if len(timed) and timed.min() < MIN_TIMED_STEPS:
        short = summary.loc[summary["timed_steps"] < MIN_TIMED_STEPS, "activation"]
        which = "every activation" if len(short) == len(summary) else ", ".join(short)
        out.append(
            f"rough: {which} timed as few as {int(timed.min())} steps in a trial (fewer than "
            f"{MIN_TIMED_STEPS}), so µs/step and cost are rough; more --epochs or a larger "
            "--train-limit help."
        )
    warmup = summary.get("warmup_steps", pd.Series(dtype=float)).dropna()
    if warmup_asked is not None and len(warmup) and warmup.min() < warmup_asked:
        out.append(
            f"warm-up: {_span(warmup)} steps excluded per trial, not the {warmup_asked} asked "
            "(a trial keeps at least half its steps)."
        )
    others = _others(summary)
    if len(others) and others["cost_pct_low"].isna().all() and "cost_rounds" in others:
        per_seed = round((others["cost_rounds"] / others["cost_seeds"]).min())
        rounds = f"{per_seed} round" + ("" if per_seed == 1 else "s")
        out.append(
            f"no CI: no cost has an interval ({rounds} a seed; an interval needs "
            f"{MIN_POINTS}), so no row is starred."
        )
    diverged = summary[summary.get("diverged", pd.Series(0, index=summary.index)) > 0]
    if len(diverged):
        counts = zip(diverged["activation"], diverged["diverged"], strict=True)
        names = ", ".join(f"{a} ({int(n)})" for a, n in counts)
        out.append(f"diverged: {names} trial(s) stopped with a non-finite loss.")
    moved = sensitive(summary)
    if moved:
        out.append(
            "inputs (against the kernels' time on the pre-activations they really see, timed "
            f"alone once per trial, median over seeds): {'; '.join(moved)}."
        )
    return out + outliers.notes(summary)


RANGE_WORDS = {"negative": "large negatives", "tiny": "tiny values", "subnormal": "subnormals"}
SENSITIVE = 2.0  # a kernel whose time moves more than this factor with its inputs is named


def sensitive(summary: pd.DataFrame) -> list[str]:
    """'elu's kernels take 3.1× as long on large negatives', one per activation whose
    kernels' time moves more than `SENSITIVE`× (either way) on an adversarial range."""
    out = []
    for row in summary.to_dict("records"):
        moves = {
            words: row.get(f"sensitive_{name}", float("nan")) for name, words in RANGE_WORDS.items()
        }
        far = {w: r for w, r in moves.items() if r > SENSITIVE or r < 1 / SENSITIVE}
        if far:
            said = ", ".join(f"{r:.1f}× as long on {w}" for w, r in far.items())
            out.append(f"{row['activation']}'s kernels take {said}")
    return out


def _span(values: pd.Series) -> str:
    low, high = int(values.min()), int(values.max())
    return str(low) if low == high else f"{low}–{high}"
