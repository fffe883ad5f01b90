"""The CI gate: which rows of a comparison break `--fail-if-slower` / `--fail-if-less-accurate`.

Family-wise: with many activations checked at once, each at 2.5 %, some false alarm
becomes likely; Holm's correction over the rows checked keeps the chance of any false
alarm in one compare at 2.5 %.
"""

from __future__ import annotations

from actbench import stats
from actbench.comparison import Comparison


def gate(
    comp: Comparison, slower_pct: float | None, less_accurate_points: float | None
) -> list[str]:
    """Rows that break `--fail-if-slower` / `--fail-if-less-accurate`, in words.

    `less_accurate_points` is in the metric's units: accuracy points, or RMSE (worse =
    higher) for a series.

    A row fails only when the evidence that it is worse than the limit survives Holm's
    correction over every row the gate checks (one-sided, at the interval's level), so the
    chance of any false alarm in a compare stays at (1 - confidence) / 2."""
    alpha = (1 - comp.confidence) / 2
    failures = []
    rows = comp.rows.set_index("activation") if not comp.rows.empty else comp.rows
    if slower_pct is not None:
        limit = 1 + slower_pct / 100
        names = [n for n, e in comp.estimates.items() if e.boot.size and rows.loc[n, "gated"]]
        adjusted = stats.holm([comp.estimates[n].p_slower_than(limit) for n in names])
        for name, p in zip(names, adjusted, strict=True):
            if p < alpha:
                e, timing = comp.estimates[name], rows.loc[name, "timing"]
                caveat = f" (timing disturbed: {timing})" if timing else ""
                failures.append(
                    f"{name}: {100 * (e.ratio - 1):.1f}% slower in {comp.b} "
                    f"[{100 * (e.low - 1):.1f}, {100 * (e.high - 1):.1f}] "
                    f"(limit {slower_pct:g}%, Holm-adjusted p = {p:.4f}){caveat}"
                )
    if less_accurate_points is not None:
        unit = comp.metric.unit
        tested = [n for n, d in comp.scores.items() if d.testable]
        adjusted = stats.holm([comp.scores[n].p_worse_than(less_accurate_points) for n in tested])
        for name, p in zip(tested, adjusted, strict=True):
            if p < alpha:
                failures.append(
                    f"{name}: {comp.scores[name].worse_by:.{comp.metric.digits}f} {unit} worse "
                    f"in {comp.b} (limit {less_accurate_points:g}, Holm-adjusted p = {p:.4f})"
                )
        for name, d in comp.scores.items():  # too few seeds to test: the estimate only
            if not d.testable and d.worse_by > less_accurate_points:
                failures.append(
                    f"{name}: {d.worse_by:.{comp.metric.digits}f} {unit} worse in {comp.b} "
                    f"(limit {less_accurate_points:g}; {d.why_untestable})"
                )
    return failures
