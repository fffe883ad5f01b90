"""The CI gate: which rows of one or more comparisons break `--fail-if-slower` /
`--fail-if-less-accurate`, and what it could and could not check.

One family: every row the gate tests, over every comparison of one `compare` command and
both limits, is one Holm family, so the chance of any false alarm in that command stays at
(1 - confidence) / 2 however many activations, runs and limits it checks. A row that
cannot be tested (fewer than two seeds a side for speed, three for accuracy; raw µs across
machines) is never failed on a point estimate: it is listed as unchecked, and a gate that
could not check every row it was asked about says so with its own exit code (`EXIT_UNCHECKED`
in the CLI), because a CI gate that silently checks nothing is worse than none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from actbench import stats
from actbench.comparison import ComparisonResult
from actbench.errors import ActbenchError


@dataclass(frozen=True)
class _Test:
    comp: ComparisonResult
    name: str
    kind: str  # "speed" | "accuracy"
    p: float  # one-sided: small when the row is worse than the limit


@dataclass
class GateResult:
    """What the gate checked (`checked`), what broke a limit (`failures`), and what it was
    asked about but could not test (`unchecked`), each in words."""

    checked: int = 0
    failures: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    asked: bool = False
    alpha: float = 0.025

    @property
    def passed(self) -> bool:
        """No row broke a limit (which says nothing of the rows it could not test)."""
        return not self.failures

    @property
    def outcome(self) -> str:
        """The gate in one word that agrees with the CLI's exit code: `FAIL` (1) when a row
        broke a limit; `untested` (3) when it tested nothing it was asked about;
        `incomplete` (3) when it tested some rows and not others; `pass` (0) only when it
        tested every row and none failed; '' when no limit was asked for."""
        if not self.asked:
            return ""
        if self.failures:
            return "FAIL"
        if not self.checked:
            return "untested"
        return "incomplete" if self.unchecked else "pass"

    def summary(self) -> str:
        """One line: the outcome, what was tested and what could not be (printed whether it
        passed or not)."""
        if not self.asked:
            return ""
        outcome = self.outcome
        if self.failures:
            outcome += f" ({len(self.failures)} row(s) over a limit)"
        line = (
            f"gate: {outcome}; {self.checked} row(s) tested as one Holm family at "
            f"{100 * self.alpha:g}% (one-sided)"
        )
        if self.unchecked:
            line += f"; {len(self.unchecked)} row(s) could not be tested: " + "; ".join(
                self.unchecked
            )
        return line


def _speed_tests(comp: ComparisonResult, limit: float, result: GateResult) -> list[_Test]:
    tests, rows = [], comp.rows.set_index("activation")
    for name, estimate in comp.estimates.items():
        where = f"{name} ({comp.a} -> {comp.b}, speed)"
        if not rows.loc[name, "gated"]:
            why = rows.loc[name].get("ungated") if "ungated" in rows else None
            result.unchecked.append(
                f"{where}: {why if isinstance(why, str) else 'raw µs across machines'}"
            )
        elif not estimate.testable:
            result.unchecked.append(f"{where}: {_why_not(estimate)}")
        else:
            tests.append(_Test(comp, name, "speed", estimate.p_slower_than(limit)))
    return tests


def _why_not(estimate: stats.RatioEstimate) -> str:
    if estimate.over == stats.WITHIN_RUN:
        return f"fewer than {stats.MIN_SEEDS} seeds a side"
    return f"too few rounds (< {stats.MIN_POINTS} a seed) for an interval"


def _accuracy_tests(comp: ComparisonResult, margin: float, result: GateResult) -> list[_Test]:
    tests = []
    for name, delta in comp.scores.items():
        if delta.testable:
            tests.append(_Test(comp, name, "accuracy", delta.p_worse_than(margin)))
        else:
            where = f"{name} ({comp.a} -> {comp.b}, {comp.metric.what})"
            result.unchecked.append(f"{where}: {delta.why_untestable or 'not testable'}")
    return tests


def _failure(test: _Test, p: float, slower_pct: float | None, margin: float | None) -> str:
    comp, name = test.comp, test.name
    if test.kind == "speed":
        e, timing = comp.estimates[name], comp.rows.set_index("activation").loc[name, "timing"]
        caveat = f" (timing disturbed: {timing})" if timing else ""
        return (
            f"{name}: {100 * (e.ratio - 1):.1f}% slower in {comp.b} than {comp.a} "
            f"[{100 * (e.low - 1):.1f}, {100 * (e.high - 1):.1f}] "
            f"(limit {slower_pct:g}%, Holm-adjusted p = {p:.4f}){caveat}"
        )
    d, unit = comp.scores[name], comp.metric.unit
    return (
        f"{name}: {d.worse_by:.{comp.metric.digits}f} {unit} worse in {comp.b} than {comp.a} "
        f"(limit {margin:g}, Holm-adjusted p = {p:.4f})"
    )


def gate(
    comparisons: ComparisonResult | Sequence[ComparisonResult],
    slower_pct: float | None,
    less_accurate_points: float | None,
) -> GateResult:
    """Test every row of `comparisons` against the limits, as one Holm family.

    `less_accurate_points` is in the metric's units: accuracy points, or RMSE (worse =
    higher) for a series. A row fails when the evidence that it is worse than the limit
    survives Holm's correction over every row tested, one-sided at the interval's level."""
    for param, value in (
        ("slower_pct", slower_pct),
        ("less_accurate_points", less_accurate_points),
    ):
        if value is not None and not value >= 0:
            raise ActbenchError(f"{{{param}}} must be at least 0, got {value}", [param])
    comps = [comparisons] if isinstance(comparisons, ComparisonResult) else list(comparisons)
    confidence = comps[0].confidence if comps else 0.95
    result = GateResult(alpha=(1 - confidence) / 2)
    result.asked = slower_pct is not None or less_accurate_points is not None
    tests: list[_Test] = []
    for comp in comps:
        if slower_pct is not None:
            tests += _speed_tests(comp, 1 + slower_pct / 100, result)
        if less_accurate_points is not None:
            tests += _accuracy_tests(comp, less_accurate_points, result)
    tests = [t for t in tests if math.isfinite(t.p)]
    result.checked = len(tests)
    adjusted = stats.holm([t.p for t in tests])
    for test, p in zip(tests, adjusted, strict=True):
        if p < result.alpha:
            result.failures.append(_failure(test, p, slower_pct, less_accurate_points))
    return result
