"""How a comparison is shown and written: the header, the table, its legend, CSV and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from actbench import stats
from actbench.comparison import BASIS, ComparisonResult
from actbench.errors import ActbenchError
from actbench.formats import interval, number, score, tabulated, wrapped


def _level(value: float, basis: str) -> str:
    return number(value, ".1f" if basis == "µs" else ".3f")


def display(comp: ComparisonResult) -> pd.DataFrame:
    r, metric = comp.rows, comp.metric
    level = round(100 * comp.confidence)
    get = lambda col: r[col] if col in r else pd.Series([math.nan] * len(r))  # noqa: E731
    bases = [b if isinstance(b, str) else "" for b in get("basis")]
    return pd.DataFrame(
        {
            "activation": r["activation"],
            metric.side_label.format(side="A"): [
                score(metric, m, s)
                for m, s in zip(r["score_a_mean"], r["score_a_std"], strict=True)
            ],
            metric.side_label.format(side="B"): [
                score(metric, m, s)
                for m, s in zip(r["score_b_mean"], r["score_b_std"], strict=True)
            ],
            f"{metric.delta_label} [{level}% CI]": [
                interval(x, lo, hi, f"+.{metric.digits}f")
                for x, lo, hi in zip(get("delta"), get("delta_low"), get("delta_high"), strict=True)
            ],
            metric.what: r["score_verdict"],
            "speed A": [_level(v, b) for v, b in zip(get("level_a"), bases, strict=True)],
            "speed B": [_level(v, b) for v, b in zip(get("level_b"), bases, strict=True)],
            "measured as": [
                BASIS[b].format(baseline=of) if b else "—"
                for b, of in zip(bases, get("basis_of"), strict=True)
            ],
            f"B/A [{level}% CI]": [
                interval(x, lo, hi, ".3f")
                for x, lo, hi in zip(get("ratio"), get("ratio_low"), get("ratio_high"), strict=True)
            ],
            "speed": r["verdict"],
            "timing": [t if isinstance(t, str) and t else "ok" for t in get("timing")],
        }
    )


def compact(comp: ComparisonResult) -> pd.DataFrame:
    """What a reader decides by, in a 100-column terminal: Δ of the metric and its verdict,
    B/A and its verdict (which says '(disturbed)' when a side's timing is); `display` has
    every column."""
    full, level = display(comp), round(100 * comp.confidence)
    delta = f"{comp.metric.delta_label} [{level}% CI]"
    return pd.DataFrame(
        {
            "activation": full["activation"],
            delta: full[delta],
            comp.metric.what: full[comp.metric.what],
            f"B/A [{level}% CI]": full[f"B/A [{level}% CI]"],
            "speed": full["speed"],
        }
    )


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
    elif not comp.warnings:
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
