"""Two saved runs side by side: what differs, and whether each difference is real.

Consumes only run folders (records), never training code. Speed: ratio of median step
times B/A with a block-bootstrap confidence interval over the saved per-step samples,
divided by the ratio of a fixed reference step (`timing.Reference`) timed in the same
trials when the two runs executed the same way, so a busier machine is not read as slower
code.
Accuracy: difference of seed means, tested (Welch) when both sides have >= 3 seeds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from actbench import stats, table
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
    tolerance: float = 0.0
    confidence: float = 0.95


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


# The reference workload is comparable only when it ran the same way on the same machine.
CONTROL_KEYS = ("hostname", "device", "device_name", "threads", "cpu_affinity")


def _side(folder: RunFolder) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    trials = folder.trials()
    if trials.empty:
        raise ActbenchError(f"run {folder.path} has no finished trials to compare")
    return trials, folder.steps(), folder.history()


def _reference(history: pd.DataFrame, name: str) -> list[np.ndarray]:
    """Per-trial reference timings (µs, one per epoch) of activation `name`."""
    if "reference_us" not in history:
        return []
    rows = history[history["activation"] == name]
    return [g["reference_us"].dropna().to_numpy() for _, g in rows.groupby("seed")]


def controllable(run_a: dict, run_b: dict) -> bool:
    ea, eb = run_a.get("environment", {}), run_b.get("environment", {})
    return all(_get(ea, k) == _get(eb, k) for k in CONTROL_KEYS)


def compare(
    a: RunFolder, b: RunFolder, tolerance: float = 0.0, confidence: float = 0.95
) -> Comparison:
    trials_a, steps_a, history_a = _side(a)
    trials_b, steps_b, history_b = _side(b)
    run_a, run_b = a.run_info(), b.run_info()
    use_control = controllable(run_a, run_b)
    names = list(dict.fromkeys([*trials_a["activation"], *trials_b["activation"]]))
    rows = []
    for name in names:
        ta = trials_a[trials_a["activation"] == name]
        tb = trials_b[trials_b["activation"] == name]
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
        disturbed = _disturbed(ta, tb)
        acc = stats.accuracy_delta(ta["test_accuracy"].dropna(), tb["test_accuracy"].dropna())
        series_a = [steps_a.get((name, int(s)), []) for s in ta["seed"]]
        series_b = [steps_b.get((name, int(s)), []) for s in tb["seed"]]
        ref_a, ref_b = _reference(history_a, name), _reference(history_b, name)
        control = (ref_a, ref_b) if use_control and ref_a and ref_b else None
        speed = stats.median_ratio(series_a, series_b, confidence=confidence, control=control)
        verdict = speed.verdict(tolerance) if not math.isnan(speed.ratio) else "no samples"
        if disturbed and verdict in ("faster", "slower"):
            verdict += " (disturbed)"
        row.update(
            timing=disturbed,
            raw_ratio=stats.pooled_median_ratio(series_a, series_b),
            machine_ratio=stats.pooled_median_ratio(ref_a, ref_b) if ref_a and ref_b else math.nan,
            controlled=control is not None,
            delta_points=acc.delta_points,
            accuracy_p_value=acc.p_value,
            accuracy_verdict=acc.verdict(),
            us_per_step_a=ta["us_per_step_median"].median(),
            us_per_step_b=tb["us_per_step_median"].median(),
            ratio=speed.ratio,
            ratio_low=speed.low,
            ratio_high=speed.high,
            verdict=verdict,
        )
        rows.append(row)
    info, warn = differences(run_a, run_b)
    return Comparison(a.name, b.name, pd.DataFrame(rows), info, warn, tolerance, confidence)


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


def display(comp: Comparison) -> pd.DataFrame:
    r = comp.rows
    level = round(100 * comp.confidence)
    get = lambda col: r[col] if col in r else pd.Series([math.nan] * len(r))  # noqa: E731
    return pd.DataFrame(
        {
            "activation": r["activation"],
            "acc A %": [
                _acc(m, s) for m, s in zip(r["accuracy_a_mean"], r["accuracy_a_std"], strict=True)
            ],
            "acc B %": [
                _acc(m, s) for m, s in zip(r["accuracy_b_mean"], r["accuracy_b_std"], strict=True)
            ],
            "Δ acc (pts)": [_num(v, "+.2f") for v in get("delta_points")],
            "accuracy": r["accuracy_verdict"],
            "µs/step A": [_num(v, ".1f") for v in get("us_per_step_a")],
            "µs/step B": [_num(v, ".1f") for v in get("us_per_step_b")],
            "raw B/A": [_num(v, ".3f") for v in get("raw_ratio")],
            "machine B/A": [
                _num(m, ".3f") + ("" if c is True else " (n/a)" if not pd.isna(m) else "")
                for m, c in zip(get("machine_ratio"), get("controlled"), strict=True)
            ],
            f"B/A [{level}% CI]": [
                "—" if pd.isna(x) else f"{x:.3f} [{lo:.3f}, {hi:.3f}]"
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
    else:
        lines.append("same configuration and environment")
    lines.append("")
    lines.append(
        tabulate(
            display(comp), headers="keys", tablefmt=fmt, showindex=False, disable_numparse=True
        )
    )
    tol = f", beyond ±{100 * comp.tolerance:g}%" if comp.tolerance else ""
    controlled = bool(comp.rows.get("controlled", pd.Series(dtype=bool)).fillna(False).any())
    lines.append(
        "speed: raw B/A = median µs/step of B over A; machine B/A = the same for a fixed "
        "reference step timed every epoch of those trials (how much the machine itself "
        "changed); "
        + (
            "B/A = raw / machine, "
            if controlled
            else "B/A = raw (the reference is not comparable across devices or thread counts), "
        )
        + f"with a {round(100 * comp.confidence)}% block-bootstrap interval; faster/slower when "
        f"the whole interval is below/above 1{tol}; '(disturbed)': a side's step times are "
        "disturbed (timing column), so read that verdict with care. accuracy: Welch's t-test "
        f"over seeds (needs >= {stats.MIN_SEEDS_FOR_ACCURACY_TEST} seeds a side)."
    )
    return "\n".join(lines)


def gate(
    comp: Comparison, slower_pct: float | None, less_accurate_points: float | None
) -> list[str]:
    """Rows that break `--fail-if-slower` / `--fail-if-less-accurate`, in words."""
    failures = []
    for row in comp.rows.to_dict("records"):
        verdict = str(row.get("verdict", "")).removesuffix(" (disturbed)")
        if verdict not in ("faster", "slower", "same"):
            continue
        if slower_pct is not None and verdict == "slower" and (row["ratio"] - 1 > slower_pct / 100):
            caveat = f" (timing disturbed: {row['timing']})" if row.get("timing") else ""
            failures.append(
                f"{row['activation']}: {100 * (row['ratio'] - 1):.1f}% slower in {comp.b} "
                f"(limit {slower_pct:g}%){caveat}"
            )
        if less_accurate_points is not None and -row["delta_points"] > less_accurate_points:
            failures.append(
                f"{row['activation']}: {-row['delta_points']:.2f} points less accurate in "
                f"{comp.b} (limit {less_accurate_points:g})"
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
