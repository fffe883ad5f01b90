"""Two saved runs side by side: what differs, and whether each difference is real.

Consumes only run folders (records), never training code. Each row's speed is B/A of a
*level* per side (`stats.level`: per seed the median of a log time series, then the mean
over seeds; the same estimator as the sweep's cost column), measured the most robust way
both runs allow:

- `baseline`: when both runs carry the same interleaved baseline, an activation's step
  time over its own run's baseline in the same rounds (the cost ratio of `costs.py`).
  Measured in the same seconds, it cancels the machine's speed, however it changed;
- `reference`: on the same machine (same boot, device, threads), each epoch's median
  step time over the reference step (`reference.Reference`) timed at that epoch's start:
  the correction for whole-run speed, paired in time with the steps it corrects;
- `µs`: the per-round median step time itself, when neither applies; across different
  machines, devices or thread counts it compares those as much as code, so such rows say
  `(raw)` and are not gated.

Accuracy: per-seed differences over the seeds both runs trained (same initial weights and
batches), a paired t-test with >= 3 of them. Shown by `comparison_view.py`, gated by `gate.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from actbench import costs, disturbance, stats, suspects
from actbench.config import DEFAULT_TOLERANCE, MODELS, PINS
from actbench.errors import ActbenchError
from actbench.run_record import RunRecord
from actbench.storage import RunFolder
from actbench.task import ACCURACY, Metric, metric_named

# A difference here means the two runs did not train the same thing: a prominent warning.
MODEL_KEYS = (
    "dataset",
    "model",
    "hidden",
    "batch_size",
    "optimizer",
    "lr",
    "momentum",
    "window",
    "epochs",
    "patience",
    "val_fraction",
    "train_limit",
    "warmup_steps",
    "split_seed",
)
# A difference here is what a comparison is usually for (or at least worth knowing).
SETUP_KEYS = ("mode", "deterministic", *PINS, "schedule", "round_steps", "baseline")
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
    "git_dirty",
)


@dataclass
class ComparisonResult:
    a: str
    b: str
    rows: pd.DataFrame
    differences: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tolerance: float = DEFAULT_TOLERANCE
    confidence: float = 0.95
    estimates: dict[str, stats.RatioEstimate] = field(default_factory=dict, repr=False)
    scores: dict[str, stats.MetricDelta] = field(default_factory=dict, repr=False)
    metric: Metric = ACCURACY
    machine: list[suspects.Suspect] = field(default_factory=list)  # its differences, `suspects`


def network_difference(run_a: RunRecord, run_b: RunRecord) -> str | None:
    """How the two runs' networks differ, if they do: another `--model` or widths, other
    shapes, or a user's factory whose code changed. Speed verdicts between different
    networks would compare networks, not activations: `compare` makes none."""
    ca, cb = run_a.config, run_b.config
    own = ca.model not in MODELS and cb.model not in MODELS  # factories: by code, not by name
    if not own and (ca.model, ca.hidden) != (cb.model, cb.hidden):
        name_a, name_b = (
            r.network.get("name")
            or " ".join([str(r.config.model), "-".join(map(str, r.config.hidden or ()))]).strip()
            for r in (run_a, run_b)
        )
        return f"model {name_a} vs {name_b}"
    na, nb = run_a.network, run_b.network
    if na.get("shapes") and nb.get("shapes") and na["shapes"] != nb["shapes"]:
        return f"parameter shapes ({na.get('parameters')} vs {nb.get('parameters')} parameters)"
    fa, fb = na.get("factory") or {}, nb.get("factory") or {}
    if fa.get("sha256") != fb.get("sha256"):
        a, b = (str(f.get("sha256"))[:8] for f in (fa, fb))
        return f"the factory's code ({ca.model}: sha256 {a} vs {b})"
    return None


def differences(run_a: RunRecord, run_b: RunRecord) -> tuple[list[str], list[str]]:
    """(informational differences, model/data warnings) between two runs."""
    ca, cb = run_a.config, run_b.config
    ea, eb = run_a.environment, run_b.environment
    info = [
        f"{k}: {getattr(s, k)} -> {getattr(t, k)}"
        for keys, s, t in ((SETUP_KEYS, ca, cb), (ENV_KEYS, ea, eb))
        for k in keys
        if getattr(s, k) != getattr(t, k)
    ]
    warn = [
        f"{k}: {getattr(ca, k)} -> {getattr(cb, k)}"
        for k in MODEL_KEYS
        if getattr(ca, k) != getattr(cb, k)
    ]
    return info, warn


# The reference step is comparable only when it ran the same way on the same machine (boot).
CONTROL_KEYS = ("machine_key", "device", "device_name", "threads", "cpu_affinity")
BASIS = {"baseline": "× {baseline}, same rounds", "reference": "× reference step", "µs": "µs/step"}


def same_machine(run_a: RunRecord, run_b: RunRecord) -> bool:
    """Same boot, device, threads and reference workload: reference readings compare."""
    ea, eb = run_a.environment, run_b.environment
    return (
        ea.machine_key is not None
        and run_a.reference == run_b.reference
        and all(getattr(ea, k) == getattr(eb, k) for k in CONTROL_KEYS)
        and all(getattr(run_a.config, k) == getattr(run_b.config, k) for k in PINS)
    )


def shared_baseline(run_a: RunRecord, run_b: RunRecord) -> str | None:
    """The baseline both runs measured every activation against in the same rounds."""
    ca, cb = run_a.config, run_b.config
    if ca.schedule != "interleaved" or cb.schedule != "interleaved":
        return None
    return ca.baseline if ca.baseline == cb.baseline else None


@dataclass
class _Side:
    folder: RunFolder
    trials: pd.DataFrame
    rounds: pd.DataFrame
    history: pd.DataFrame

    @classmethod
    def of(cls, folder: RunFolder) -> _Side:
        trials = folder.trials()
        if trials.empty:
            raise ActbenchError(f"run {folder.path} has no finished trials to compare")
        return cls(folder, trials, folder.rounds(), folder.history())

    @cached_property
    def round_times(self) -> pd.DataFrame:
        """Per-round medians (`RunFolder.round_times`): read only when a row falls back to
        raw step times, so a damaged steps file costs nothing where it is not needed."""
        return self.folder.round_times()

    def over_baseline(self, name: str, baseline: str) -> dict[int, np.ndarray]:
        return costs.over_baseline(self.rounds, name, baseline)

    def over_reference(self, name: str) -> dict[int, np.ndarray]:
        h = self.history
        if h.empty or "reference_us" not in h:
            return {}
        h = h[(h["activation"] == name) & (h["reference_us"] > 0)].sort_values("epoch")
        ratio = h["us_per_step_median"] / h["reference_us"]
        return {int(s): r.to_numpy(float) for s, r in ratio.groupby(h["seed"])}

    def step_times(self, name: str) -> dict[int, np.ndarray]:
        """Per-round median step times, in time order."""
        r = self.rounds if not self.rounds.empty else self.round_times
        r = r[r["activation"] == name].sort_values(["group", "round"], kind="stable")
        return {int(s): g["us_median"].to_numpy(float) for s, g in r.groupby("seed")}


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
            return basis, stats.level_ratio(sa, sb, confidence)
    return "µs", stats.level_ratio({}, {}, confidence)


@dataclass(frozen=True)
class _Basis:
    """What every row of one comparison shares."""

    metric: Metric
    baseline: str | None  # the interleaved baseline both runs share
    machine: bool  # same machine: reference readings compare
    tolerance: float
    confidence: float


def _checked(tolerance: float, confidence: float) -> None:
    if not tolerance >= 0:
        raise ActbenchError(
            f"{{tolerance}} must be at least 0, got {100 * tolerance:g}%", ["tolerance"]
        )
    if not 0 < confidence < 1:
        raise ActbenchError(
            f"{{confidence}} must be between 0 and 1 (exclusive), got {confidence}", ["confidence"]
        )


def compare(
    a: RunFolder,
    b: RunFolder,
    tolerance: float = DEFAULT_TOLERANCE,
    confidence: float = 0.95,
) -> ComparisonResult:
    """B against A, activation by activation (see the module's docstring)."""
    _checked(tolerance, confidence)
    side_a, side_b = _Side.of(a), _Side.of(b)
    run_a, run_b = a.info(), b.info()
    metric, metric_b = metric_named(run_a.metric), metric_named(run_b.metric)
    if metric != metric_b:
        raise ActbenchError(
            f"cannot compare {a.name} (scored by {metric.name}) with {b.name} (scored by "
            f"{metric_b.name}): they trained on different kinds of data"
        )
    basis = _Basis(
        metric, shared_baseline(run_a, run_b), same_machine(run_a, run_b), tolerance, confidence
    )
    names = list(dict.fromkeys([*side_a.trials["activation"], *side_b.trials["activation"]]))
    rows, estimates, scores = [], {}, {}
    for name in names:
        row, speed, delta = _row(name, side_a, side_b, basis)
        rows.append(row)
        if speed is not None:
            estimates[name], scores[name] = speed, delta
    info, warn = differences(run_a, run_b)
    slow_numbers = suspects.with_subnormals(
        side_a.trials, side_b.trials, side_a.history, side_b.history
    )
    machine = suspects.of(run_a, run_b, names, slow_numbers)
    rows = [row | {"machine": suspects.beside(row["activation"], machine)} for row in rows]
    other = network_difference(run_a, run_b)
    if other is not None:
        warn.append(f"different networks ({other}): no speed verdicts")
        rows = [_no_verdict(row) for row in rows]
    return ComparisonResult(
        a.name, b.name, pd.DataFrame(rows), info, warn, tolerance, confidence, estimates,
        scores, metric, machine,
    )  # fmt: skip


def _row(
    name: str, side_a: _Side, side_b: _Side, basis: _Basis
) -> tuple[dict, stats.RatioEstimate | None, stats.MetricDelta | None]:
    """One activation's row: its scores, its speed on the best basis both runs allow, and
    the verdicts; the estimates a gate tests (None when one run lacks it)."""
    metric, confidence = basis.metric, basis.confidence
    ta = side_a.trials[side_a.trials["activation"] == name]
    tb = side_b.trials[side_b.trials["activation"] == name]
    row: dict = {"activation": name, "metric": metric.name, "seeds_a": len(ta), "seeds_b": len(tb)}
    for side, t in (("a", ta), ("b", tb)):
        score = t[metric.column].dropna() if metric.column in t else pd.Series(dtype=float)
        row[f"score_{side}_mean"] = score.mean() if len(score) else math.nan
        row[f"score_{side}_std"] = score.std(ddof=1) if len(score) > 1 else math.nan
    if ta.empty or tb.empty:
        row["verdict"] = row["score_verdict"] = "only in A" if tb.empty else "only in B"
        return row, None, None
    delta = stats.metric_delta(
        dict(zip(ta["seed"].astype(int), ta[metric.column], strict=True)),
        dict(zip(tb["seed"].astype(int), tb[metric.column], strict=True)),
        confidence,
        metric.scale,
        metric.sign,
    )
    kind, speed = _speed(name, side_a, side_b, basis.baseline, basis.machine, confidence)
    gated = kind != "µs" or basis.machine  # comparable like for like: a gate may act on it
    disturbed = _disturbed(ta, tb)
    row.update(
        timing=disturbed,
        delta=delta.delta,
        delta_low=delta.low,
        delta_high=delta.high,
        score_seeds=delta.seeds,
        score_p_value=delta.p_value,
        score_verdict=delta.verdict(1 - confidence),
        basis=kind,
        basis_of=basis.baseline if kind == "baseline" else None,
        level_a=speed.a,
        level_b=speed.b,
        ratio=speed.ratio,
        ratio_low=speed.low,
        ratio_high=speed.high,
        ratio_over=speed.over,
        verdict=_verdict(speed, basis.tolerance, gated, disturbed),
        gated=gated,
        us_per_step_a=ta["us_per_step_median"].median(),
        us_per_step_b=tb["us_per_step_median"].median(),
    )
    return row, speed, delta


def _no_verdict(row: dict) -> dict:
    """A row between different networks: its numbers shown, no verdict, nothing gated."""
    if "ratio" in row:
        row.update(verdict="none (different networks)", gated=False, ungated="different networks")
    return row


def _verdict(speed: stats.RatioEstimate, tolerance: float, gated: bool, disturbed: str) -> str:
    """faster/slower/same/undecided, with what qualifies it."""
    verdict = speed.verdict(tolerance)
    if disturbed and verdict in ("faster", "slower"):
        verdict += " (disturbed)"
    if not gated and verdict != "undecided":
        verdict += " (raw)"
    elif speed.over == stats.WITHIN_RUN and verdict != "undecided":
        verdict += " (within run)"
    return verdict


def _disturbed(ta: pd.DataFrame, tb: pd.DataFrame) -> str:
    """Which side's trials have disturbed step times, and why ('' when neither)."""
    parts = []
    for name, trials in (("A", ta), ("B", tb)):
        reasons = disturbance.of_trials(trials)
        flagged = reasons[reasons != ""]
        if flagged.empty:
            continue
        if len(trials) == 1:
            parts.append(f"{name}: {flagged.iloc[0]}")
            continue
        parts.append(f"{name}: {len(flagged)} of {len(trials)} trials ({flagged.iloc[0]}, ...)")
    return " | ".join(parts)
