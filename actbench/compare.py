"""Two saved runs side by side: what differs, and whether each difference is real.

Consumes only run folders (records), never training code. Each row's speed is B/A of a
*level* per side (`stats.level_ratio`: geometric mean over seeds of each trial's median),
measured the most robust way both runs allow:

- `baseline`: when both runs carry the same interleaved baseline, an activation's step
  time over its own run's baseline in the same rounds (the cost ratio of `costs.py`).
  Measured in the same seconds, it cancels the machine's speed, however it changed;
- `reference`: on the same machine (same boot, device, threads), each epoch's median
  step time over the reference step (`timing.Reference`) timed at that epoch's start:
  the correction for whole-run speed, paired in time with the steps it corrects;
- `µs`: the per-round median step time itself, when neither applies; across different
  machines, devices or thread counts it compares those as much as code, so such rows say
  `(raw)` and are not gated.

Accuracy: per-seed differences over the seeds both runs trained (same initial weights and
batches), a paired t-test with >= 3 of them. Verdicts and the CI gate: see `verdict`/`gate`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from actbench import costs, stats, table
from actbench.config import BEFORE_SCHEDULES
from actbench.errors import ActbenchError
from actbench.storage import RunFolder

# A difference here means the two runs did not train the same thing: a prominent warning.
MODEL_KEYS = (
    "model",
    "hidden",
    "batch_size",
    "optimizer",
    "lr",
    "epochs",
    "patience",
    "val_fraction",
    "train_limit",
    "warmup_steps",
    "split_seed",
)
# A difference here is what a comparison is usually for (or at least worth knowing).
SETUP_KEYS = ("mode", "deterministic", "schedule", "round_steps", "baseline")
ENV_KEYS = (
    "device",
    "device_name",
    "threads",
    "cpu_affinity",
    "torch_version",
    "cuda_version",
    "cpu_model",
    "hostname",
    "platform",
    "python_version",
    "actbench_version",
    "git_commit",
)
DEFAULTS = {"model": "mlp", "mode": "eager", "deterministic": False, **BEFORE_SCHEDULES}


@dataclass
class Comparison:
    a: str
    b: str
    rows: pd.DataFrame
    differences: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tolerance: float = stats.DEFAULT_TOLERANCE
    confidence: float = 0.95
    estimates: dict[str, stats.RatioEstimate] = field(default_factory=dict, repr=False)
    accuracy: dict[str, stats.AccuracyDelta] = field(default_factory=dict, repr=False)


def _get(section: dict, key: str):
    value = section.get(key, DEFAULTS.get(key))
    return tuple(value) if isinstance(value, list) else value


def differences(run_a: dict, run_b: dict) -> tuple[list[str], list[str]]:
    """(informational differences, model/data warnings) between two run.json documents."""
    ca, cb = run_a.get("config", {}), run_b.get("config", {})
    ea, eb = run_a.get("environment", {}), run_b.get("environment", {})
    info = [
        f"{k}: {_get(s, k)} -> {_get(t, k)}"
        for keys, s, t in ((SETUP_KEYS, ca, cb), (ENV_KEYS, ea, eb))
        for k in keys
        if _get(s, k) != _get(t, k)
    ]
    warn = [
        f"{k}: {_get(ca, k)} -> {_get(cb, k)}" for k in MODEL_KEYS if _get(ca, k) != _get(cb, k)
    ]
    return info, warn


# The reference step is comparable only when it ran the same way on the same machine (boot).
CONTROL_KEYS = ("machine_key", "device", "device_name", "threads", "cpu_affinity")
BASIS = {"baseline": "× {baseline}, same rounds", "reference": "× reference step", "µs": "µs/step"}


def same_machine(run_a: dict, run_b: dict) -> bool:
    ea, eb = run_a.get("environment", {}), run_b.get("environment", {})
    return ea.get("machine_key") is not None and all(
        _get(ea, k) == _get(eb, k) for k in CONTROL_KEYS
    )


def shared_baseline(run_a: dict, run_b: dict) -> str | None:
    """The baseline both runs measured every activation against in the same rounds."""
    ca, cb = run_a.get("config", {}), run_b.get("config", {})
    if _get(ca, "schedule") != "interleaved" or _get(cb, "schedule") != "interleaved":
        return None
    return _get(ca, "baseline") if _get(ca, "baseline") == _get(cb, "baseline") else None


@dataclass
class _Side:
    trials: pd.DataFrame
    rounds: pd.DataFrame
    history: pd.DataFrame
    steps: dict

    @classmethod
    def of(cls, folder: RunFolder) -> _Side:
        trials = folder.trials()
        if trials.empty:
            raise ActbenchError(f"run {folder.path} has no finished trials to compare")
        return cls(trials, folder.rounds(), folder.history(), folder.steps())

    def over_baseline(self, name: str, baseline: str) -> dict[int, np.ndarray]:
        paired = costs.paired_rounds(self.rounds, name, baseline)
        ratio = paired["us_median"] / paired["us_median_base"]
        return {int(s): r.to_numpy(float) for s, r in ratio.groupby(paired["seed"])}

    def over_reference(self, name: str) -> dict[int, np.ndarray]:
        h = self.history
        if h.empty or "reference_us" not in h:
            return {}
        h = h[(h["activation"] == name) & (h["reference_us"] > 0)].sort_values("epoch")
        ratio = h["us_per_step_median"] / h["reference_us"]
        return {int(s): r.to_numpy(float) for s, r in ratio.groupby(h["seed"])}

    def step_times(self, name: str) -> dict[int, np.ndarray]:
        """Per-round median step times (time order); blocks of 10 saved steps for runs
        saved before rounds existed."""
        r = self.rounds
        if not r.empty and (r["activation"] == name).any():
            r = r[r["activation"] == name].sort_values(["group", "round"], kind="stable")
            return {int(s): g["us_median"].to_numpy(float) for s, g in r.groupby("seed")}
        out = {}
        for (act, seed), us in self.steps.items():
            if act == name and len(us):
                blocks = np.array_split(np.asarray(us, float), max(1, len(us) // 10))
                out[int(seed)] = np.array([np.median(b) for b in blocks])
        return out


def _speed(
    name: str, a: _Side, b: _Side, baseline: str | None, machine: bool, confidence: float
) -> tuple[str, stats.RatioEstimate]:
    """(basis, estimate) for one activation: the most robust basis both runs allow."""
    candidates = []
    if baseline is not None and name != baseline:
        candidates.append(("baseline", lambda s: s.over_baseline(name, baseline)))
    if machine:
        candidates.append(("reference", lambda s: s.over_reference(name)))
    candidates.append(("µs", lambda s: s.step_times(name)))
    for basis, series in candidates:
        sa, sb = series(a), series(b)
        if sa and sb:
            estimate = stats.level_ratio(
                list(sa.values()), list(sb.values()), confidence, seeds=(list(sa), list(sb))
            )
            return basis, estimate
    return "µs", stats.level_ratio([], [], confidence)


def compare(
    a: RunFolder,
    b: RunFolder,
    tolerance: float = stats.DEFAULT_TOLERANCE,
    confidence: float = 0.95,
) -> Comparison:
    side_a, side_b = _Side.of(a), _Side.of(b)
    run_a, run_b = a.run_info(), b.run_info()
    machine, baseline = same_machine(run_a, run_b), shared_baseline(run_a, run_b)
    names = list(dict.fromkeys([*side_a.trials["activation"], *side_b.trials["activation"]]))
    rows, estimates, accuracy = [], {}, {}
    for name in names:
        ta = side_a.trials[side_a.trials["activation"] == name]
        tb = side_b.trials[side_b.trials["activation"] == name]
        row: dict = {"activation": name, "seeds_a": len(ta), "seeds_b": len(tb)}
        for side, t in (("a", ta), ("b", tb)):
            acc = t["test_accuracy"].dropna()
            row[f"accuracy_{side}_mean"] = acc.mean() if len(acc) else math.nan
            row[f"accuracy_{side}_std"] = acc.std(ddof=1) if len(acc) > 1 else math.nan
        if ta.empty or tb.empty:
            row["verdict"] = "only in A" if tb.empty else "only in B"
            row["accuracy_verdict"] = row["verdict"]
            rows.append(row)
            continue
        acc = stats.accuracy_delta(
            dict(zip(ta["seed"].astype(int), ta["test_accuracy"], strict=True)),
            dict(zip(tb["seed"].astype(int), tb["test_accuracy"], strict=True)),
            confidence,
        )
        basis, speed = _speed(name, side_a, side_b, baseline, machine, confidence)
        verdict = speed.verdict(tolerance)
        gated = basis != "µs" or machine
        disturbed = _disturbed(ta, tb)
        if disturbed and verdict in ("faster", "slower"):
            verdict += " (disturbed)"
        if not gated and verdict != "undecided":
            verdict += " (raw)"
        estimates[name], accuracy[name] = speed, acc
        row.update(
            timing=disturbed,
            delta_points=acc.delta_points,
            delta_low=acc.low,
            delta_high=acc.high,
            accuracy_seeds=acc.seeds,
            accuracy_p_value=acc.p_value,
            accuracy_verdict=acc.verdict(1 - confidence),
            basis=basis,
            basis_of=baseline if basis == "baseline" else None,
            level_a=speed.a,
            level_b=speed.b,
            ratio=speed.ratio,
            ratio_low=speed.low,
            ratio_high=speed.high,
            verdict=verdict,
            gated=gated,
            us_per_step_a=ta["us_per_step_median"].median(),
            us_per_step_b=tb["us_per_step_median"].median(),
        )
        rows.append(row)
    info, warn = differences(run_a, run_b)
    return Comparison(
        a.name, b.name, pd.DataFrame(rows), info, warn, tolerance, confidence, estimates, accuracy
    )


def _disturbed(ta: pd.DataFrame, tb: pd.DataFrame) -> str:
    """Which side's trials have disturbed step times, and why ('' when neither)."""
    parts = []
    for side, trials in (("A", ta), ("B", tb)):
        reasons = table.trial_disturbance(trials)
        flagged = trials[reasons != ""]
        if flagged.empty:
            continue
        if len(trials) == 1:
            parts.append(f"{side}: {reasons.iloc[0]}")
            continue
        median = flagged["us_per_step_median"]
        iqr = ((flagged["us_per_step_p75"] - flagged["us_per_step_p25"]) / median).max()
        mean = (flagged["us_per_step_mean"] / median).max()
        parts.append(
            f"{side}: {len(flagged)} of {len(trials)} trials "
            f"(IQR up to {100 * iqr:.0f}% of median, mean up to {mean:.2f}× median)"
        )
    return " | ".join(parts)


def _acc(mean: float, std: float) -> str:
    if pd.isna(mean):
        return "—"
    return f"{100 * mean:.2f}" + ("" if pd.isna(std) else f" ± {100 * std:.2f}")


def _num(value: float, spec: str) -> str:
    return "—" if pd.isna(value) else format(value, spec)


def _level(value: float, basis: str) -> str:
    return _num(value, ".1f" if basis == "µs" else ".3f")


def _interval(x: float, lo: float, hi: float, spec: str) -> str:
    if pd.isna(x):
        return "—"
    return format(x, spec) + ("" if pd.isna(lo) else f" [{lo:{spec}}, {hi:{spec}}]")


def display(comp: Comparison) -> pd.DataFrame:
    r = comp.rows
    level = round(100 * comp.confidence)
    get = lambda col: r[col] if col in r else pd.Series([math.nan] * len(r))  # noqa: E731
    bases = [b if isinstance(b, str) else "" for b in get("basis")]
    return pd.DataFrame(
        {
            "activation": r["activation"],
            "acc A %": [
                _acc(m, s) for m, s in zip(r["accuracy_a_mean"], r["accuracy_a_std"], strict=True)
            ],
            "acc B %": [
                _acc(m, s) for m, s in zip(r["accuracy_b_mean"], r["accuracy_b_std"], strict=True)
            ],
            f"Δ acc pts [{level}% CI]": [
                _interval(x, lo, hi, "+.2f")
                for x, lo, hi in zip(
                    get("delta_points"), get("delta_low"), get("delta_high"), strict=True
                )
            ],
            "accuracy": r["accuracy_verdict"],
            "speed A": [_level(v, b) for v, b in zip(get("level_a"), bases, strict=True)],
            "speed B": [_level(v, b) for v, b in zip(get("level_b"), bases, strict=True)],
            "measured as": [
                BASIS[b].format(baseline=of) if b else "—"
                for b, of in zip(bases, get("basis_of"), strict=True)
            ],
            f"B/A [{level}% CI]": [
                _interval(x, lo, hi, ".3f")
                for x, lo, hi in zip(get("ratio"), get("ratio_low"), get("ratio_high"), strict=True)
            ],
            "speed": r["verdict"],
            "timing": [t if isinstance(t, str) and t else "ok" for t in get("timing")],
        }
    )


def render(comp: Comparison, fmt: str) -> str:
    lines = [f"A = {comp.a}   B = {comp.b}"]
    if comp.warnings:
        lines.append(
            "WARNING: the runs trained different things; accuracy and speed are not "
            "comparable like for like: " + "; ".join(comp.warnings)
        )
    if comp.differences:
        lines.append("differs: " + "; ".join(comp.differences))
    elif not comp.warnings:
        lines.append("same configuration and environment")
    lines.append("")
    lines.append(
        tabulate(
            display(comp), headers="keys", tablefmt=fmt, showindex=False, disable_numparse=True
        )
    )
    level, tol = round(100 * comp.confidence), f"{100 * comp.tolerance:g}%"
    lines.append(
        "speed A/B: each side's level (geometric mean over seeds of each trial's median) of "
        "what 'measured as' names: step time over its own run's baseline in the same rounds "
        "(cancels the machine's speed), over the reference step timed at each epoch's start "
        f"(same machine), or raw µs/step. B/A: their ratio, {level}% bootstrap interval over "
        "seeds and, within each trial, stationary blocks of rounds. speed: slower/faster when "
        f"the whole interval is beyond 1 ± {tol}, same when it lies inside, undecided "
        "otherwise; '(disturbed)': a side's step times are disturbed (timing column); "
        "'(raw)': raw µs across machines, devices or thread counts, not gated. accuracy: "
        "paired over the seeds both runs trained; t-test with >= "
        f"{stats.MIN_SEEDS_FOR_ACCURACY_TEST} of them; n.s. = not significant."
    )
    return "\n".join(lines)


def gate(
    comp: Comparison, slower_pct: float | None, less_accurate_points: float | None
) -> list[str]:
    """Rows that break `--fail-if-slower` / `--fail-if-less-accurate`, in words.

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
        tested = [n for n, acc in comp.accuracy.items() if acc.testable]
        adjusted = stats.holm([comp.accuracy[n].p_worse_than(less_accurate_points) for n in tested])
        for name, p in zip(tested, adjusted, strict=True):
            if p < alpha:
                failures.append(
                    f"{name}: {-comp.accuracy[name].delta_points:.2f} points less accurate in "
                    f"{comp.b} (limit {less_accurate_points:g}, Holm-adjusted p = {p:.4f})"
                )
        for name, acc in comp.accuracy.items():  # too few seeds to test: the estimate only
            if not acc.testable and -acc.delta_points > less_accurate_points:
                failures.append(
                    f"{name}: {-acc.delta_points:.2f} points less accurate in {comp.b} "
                    f"(limit {less_accurate_points:g}; {acc.why_untestable})"
                )
    return failures


def to_json(comparisons: list[Comparison]) -> str:
    return (
        json.dumps(
            [
                {
                    "a": c.a,
                    "b": c.b,
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


def to_csv(comparisons: list[Comparison], path: Path) -> None:
    frames = [c.rows.assign(run_a=c.a, run_b=c.b) for c in comparisons]
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)


def write(comparisons: list[Comparison], csv: Path | None, json_path: Path | None) -> None:
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
