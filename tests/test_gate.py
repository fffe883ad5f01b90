"""gate.py: the gate's outcome in words that agree with the CLI's exit code (expected lines
written by hand)."""

from __future__ import annotations

from actbench.gate import GateResult

UNTESTABLE = "relu (a -> b, speed): fewer than 2 seeds a side"


def test_every_row_tested_and_none_failed_is_a_pass():
    result = GateResult(checked=3, asked=True)
    assert result.outcome == "pass"
    assert result.summary() == "gate: pass; 3 row(s) tested as one Holm family at 2.5% (one-sided)"


def test_nothing_tested_is_untested_never_a_pass():
    result = GateResult(checked=0, unchecked=[UNTESTABLE], asked=True)
    assert result.outcome == "untested"
    assert result.summary() == (
        "gate: untested; 0 row(s) tested as one Holm family at 2.5% (one-sided); "
        "1 row(s) could not be tested: relu (a -> b, speed): fewer than 2 seeds a side"
    )


def test_some_rows_tested_and_others_not_is_incomplete():
    result = GateResult(checked=2, unchecked=[UNTESTABLE], asked=True)
    assert result.outcome == "incomplete"
    assert result.summary().startswith("gate: incomplete; 2 row(s) tested")


def test_a_failure_is_a_fail_whatever_else_went_untested():
    result = GateResult(checked=2, failures=["tanh: 9.0% slower"], unchecked=[UNTESTABLE])
    result.asked = True
    assert result.outcome == "FAIL"
    assert result.summary().startswith("gate: FAIL (1 row(s) over a limit); 2 row(s) tested")


def test_a_gate_asked_nothing_says_nothing():
    assert GateResult().outcome == "" and GateResult().summary() == ""
