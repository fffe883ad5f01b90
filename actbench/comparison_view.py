"""How a comparison is shown and written: the header, the table, its legend, CSV and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from actbench import stats
from actbench.comparison import BASIS, ComparisonResult
from actbench.errors import ActbenchError
from actbench.formats import interval, number, score, tabulated, words, wrapped


def _level(value: float, basis: str) -> str:
    return number(value, ".1f" if basis == "µs" else ".3f")


def delta_column(comp: ComparisonResult) -> str:
    """`delta_pts` (accuracy points) or `delta_rmse`: the name says the unit."""
    metric = comp.metric
    return "delta_" + ("pts" if metric.higher_is_better else metric.unit.lower())


def _split(verdict: object) -> tuple[str, str]:
    """'slower (disturbed) (raw)' -> ('slower', 'disturbed, raw'): the verdict's word and
    what qualifies it, each in a column of its own."""
    if not isinstance(verdict, str):
        return "", ""
    word, _, rest = verdict.partition(" (")
    if word == "only in A" or word == "only in B":
        return word, ""
    return word, ", ".join(q.strip("() ") for q in rest.split(") (") if q.strip("() "))


TEXT = ["activation", "score_verdict", "basis", "basis_of", "ratio_over", "speed", "speed_note",
        "timing", "machine"]  # fmt: skip


def frame(comp: ComparisonResult) -> pd.DataFrame:
    """`Comparison.table`: one typed row per activation. The metric of each side as stored
    (accuracy a fraction, mean and std over seeds), B - A in the unit the column's name
    says (`delta_pts`, `delta_rmse`), each side's speed level and B/A with its interval, the
    verdicts in columns of their own (`score_verdict`; `speed`: faster/slower/same/
    undecided, `speed_note`: what qualifies it), what of the machine differs that could
    explain the row (`machine`, `suspects.py`), and µs/step per side. `.rows` has
    every number behind it (p-values, bases)."""
    r, column, delta = comp.rows, comp.metric.column, delta_column(comp)
    get = lambda col: r[col] if col in r else pd.Series([math.nan] * len(r), index=r.index)  # noqa: E731
    verdicts = [_split(v) for v in get("verdict")]
    out = pd.DataFrame(
        {
            "activation": r["activation"],
            f"{column}_a": get("score_a_mean"),
            f"{column}_a_std": get("score_a_std"),
            f"{column}_b": get("score_b_mean"),
            f"{column}_b_std": get("score_b_std"),
            delta: get("delta"),
            f"{delta}_low": get("delta_low"),
            f"{delta}_high": get("delta_high"),
            "score_seeds": get("score_seeds"),
            "score_p_value": get("score_p_value"),
            "score_verdict": get("score_verdict"),
            "basis": get("basis"),
            "basis_of": get("basis_of"),
            "level_a": get("level_a"),
            "level_b": get("level_b"),
            "ratio": get("ratio"),
            "ratio_low": get("ratio_low"),
            "ratio_high": get("ratio_high"),
            "ratio_over": get("ratio_over"),
            "speed": [word for word, _ in verdicts],
            "speed_note": [note for _, note in verdicts],
            "gated": get("gated").fillna(False).astype(bool),
            "timing": get("timing"),
            "machine": get("machine"),
            "us_per_step_a": get("us_per_step_a"),
            "us_per_step_b": get("us_per_step_b"),
            "seeds_a": get("seeds_a"),
            "seeds_b": get("seeds_b"),
        }
    ).reset_index(drop=True)
    for name in TEXT:
        out[name] = words(out[name])
    numbers = [c for c in out if c not in [*TEXT, "gated"]]
    out[numbers] = out[numbers].astype(float)
    return out


def display(comp: ComparisonResult) -> pd.DataFrame:
    """Every column as people read it, formatted from `frame`."""
    f, metric, delta = frame(comp), comp.metric, delta_column(comp)
    rows, level, column = f.to_dict("records"), round(100 * comp.confidence), metric.column
    shown = pd.DataFrame(
        {
            "activation": f["activation"],
            metric.side_label.format(side="A"): [
                score(metric, x[f"{column}_a"], x[f"{column}_a_std"]) for x in rows
            ],
            metric.side_label.format(side="B"): [
                score(metric, x[f"{column}_b"], x[f"{column}_b_std"]) for x in rows
            ],
            f"{metric.delta_label} [{level}% CI]": [
                interval(x[delta], x[f"{delta}_low"], x[f"{delta}_high"], f"+.{metric.digits}f")
                for x in rows
            ],
            metric.what: f["score_verdict"],
            "speed A": [_level(x["level_a"], x["basis"]) for x in rows],
            "speed B": [_level(x["level_b"], x["basis"]) for x in rows],
            "measured as": [
                BASIS[x["basis"]].format(baseline=x["basis_of"]) if x["basis"] else "—"
                for x in rows
            ],
            f"B/A [{level}% CI]": [
                interval(x["ratio"], x["ratio_low"], x["ratio_high"], ".3f") for x in rows
            ],
            "speed": [
                x["speed"] + "".join(f" ({q})" for q in x["speed_note"].split(", ") if q)
                for x in rows
            ],
            "timing": [x["timing"] or "ok" for x in rows],
        }
    )
    return _with_machine(shown, comp, wide=True)


def _with_machine(shown: pd.DataFrame, comp: ComparisonResult, wide: bool) -> pd.DataFrame:
    """A `machine differs` column beside the rows, when the machines' fingerprints differ:
    the fields that could explain each row, or in a 100-column table their numbers in the
    notes' `the machines differ:` line."""
    if not comp.machine:
        return shown
    cells = [
        ", ".join(
            s.words if wide else str(k) for k, s in enumerate(comp.machine, 1) if name in s.rows
        )
        or "—"
        for name in shown["activation"]
    ]
    return shown.assign(**{"machine differs": cells})


def compact(comp: ComparisonResult) -> pd.DataFrame:
    """What a reader decides by, in a 100-column terminal: Δ of the metric and its verdict,
    B/A and its verdict (which says '(disturbed)' when a side's timing is); `display` has
    every column."""
    full, level = display(comp), round(100 * comp.confidence)
    delta = f"{comp.metric.delta_label} [{level}% CI]"
    compact = pd.DataFrame(
        {
            "activation": full["activation"],
            delta: full[delta],
            comp.metric.what: full[comp.metric.what],
            f"B/A [{level}% CI]": full[f"B/A [{level}% CI]"],
            "speed": full["speed"],
        }
    )
    return _with_machine(compact, comp, wide=False)


def notes(comp: ComparisonResult) -> list[str]:
    """What a reader must know before the table: a different training, what else differs."""
    lines = []
    if comp.warnings:
        lines.append(
            f"WARNING: the runs trained different things; {comp.metric.what} and speed are "
            "not comparable like for like: " + "; ".join(comp.warnings)
        )
    if comp.differences:
        lines.append("differs: " + "; ".join(comp.differences))
    if comp.machine:
        lines.append(
            "the machines differ: "
            + "; ".join(f"({k}) {s.note()}" for k, s in enumerate(comp.machine, 1))
        )
    if not comp.differences and not comp.warnings and not comp.machine:
        lines.append("same configuration and environment")
    return lines


def legend(comp: ComparisonResult, wide: bool = True) -> str:
    """How to read the comparison's columns (the terminal's and the HTML report's)."""
    level, tol = round(100 * comp.confidence), f"{100 * comp.tolerance:g}%"
    return (
        "speed A/B: each side's level (per seed the median, then the geometric mean over "
        "seeds) of what 'measured as' names: step time over its own run's baseline in the "
        "same rounds (cancels the machine's speed), over the reference step timed at each "
        "epoch's start (same machine), or raw µs/step. B/A: their ratio, with a "
        f"{level}% t interval over seeds (paired when both runs hold the same seeds), never "
        "narrower than the seeds' own stationary-bootstrap errors allow; '(within run)': one "
        "seed a side, so the interval is within each run, which a rerun need not respect, and "
        "a gate cannot test it. speed: slower/faster when the whole interval is beyond "
        f"1 ± {tol}, same when it lies inside, undecided otherwise; '(disturbed)': a side's "
        "step times are disturbed (timing column); '(raw)': raw µs across machines, devices "
        "or thread counts, not gated. "
        f"{comp.metric.what} ({comp.metric.direction}): Δ = B - A paired over the seeds both "
        f"runs trained; t-test with >= {stats.MIN_SEEDS} of them; better/"
        "worse in the metric's direction; n.s. = not significant."
        + (
            ""
            if wide
            else " --wide adds each side's score, speed and 'measured as', and why a "
            "timing is disturbed."
        )
    )


def render(comp: ComparisonResult, fmt: str, wide: bool = True) -> str:
    lines = [f"A = {comp.a}   B = {comp.b}", *(wrapped(n) for n in notes(comp)), ""]
    lines.append(tabulated(display(comp) if wide else compact(comp), fmt))
    lines.append(wrapped(legend(comp, wide)))
    return "\n".join(lines)


def to_json(comparisons: list[ComparisonResult]) -> str:
    return (
        json.dumps(
            [
                {
                    "a": c.a,
                    "b": c.b,
                    "metric": c.metric.name,
                    "differences": c.differences,
                    "warnings": c.warnings,
                    "machine": [s.note() for s in c.machine],
                    "tolerance": c.tolerance,
                    "confidence": c.confidence,
                    "rows": json.loads(c.rows.to_json(orient="records")),
                }
                for c in comparisons
            ],
            indent=2,
        )
        + "\n"
    )


def to_csv(comparisons: list[ComparisonResult], path: Path) -> None:
    frames = [c.rows.assign(run_a=c.a, run_b=c.b) for c in comparisons]
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)


def write(comparisons: list[ComparisonResult], csv: Path | None, json_path: Path | None) -> None:
    """`--csv` / `--json`: the comparison itself, for other tools."""
    for path, writer in ((csv, to_csv), (json_path, None)):
        if path is None:
            continue
        try:
            if writer is None:
                path.write_text(to_json(comparisons), encoding="utf-8")
            else:
                writer(comparisons, path)
        except OSError as exc:
            raise ActbenchError(f"cannot write {path}: {exc.strerror or exc}") from None
