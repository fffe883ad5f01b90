"""Do the printed cost intervals hold when the same command is run again?

Runs the same sweep `--runs` times back to back (default 4), each in a fresh process as a
user runs it (`python -m actbench sweep`, default settings apart from the flags below), then
checks, for every pair of runs and every activation, whether the two costs (% of the
baseline's step) differ by no more than their combined interval half-widths:
|a - b| <= sqrt(ha^2 + hb^2). It prints the share of checks that hold and the median
half-width of the intervals.

    python scripts/rerun_check.py --json results/rerun_check-cpu.json
    python scripts/rerun_check.py --json results/rerun_check-jobs2-cpu.json \
        --against results/rerun_check-cpu.json -- --jobs 2

`--against` also checks every run of this set against every run of an earlier set (another
setting of the same sweep): do the two settings measure the same costs? `--epochs 0` runs
the sweep at its own defaults (the Quick start's command, early stopping included).

It also says how far each activation's kernel multiple of a copy of the same bytes
(`kernel_copy_x`, `kernels.py`) moves from run to run: every run's against the runs'
median, the largest distance in %. A multiple that travels between machines must at least
hold on one.

    python scripts/rerun_check.py --epochs 0 --activations relu,tanh,sigmoid,elu \
        --json results/rerun_check-default-cpu.json

Within each run it says how far the seeds' multiples lie apart (each seed trains in a worker
process of its own), and how far each cost's point moves from run to run, in points. With
more seeds, each trained for fewer epochs, it asks pyperf's question: do more, shorter
processes steady the point at about the same wall time (`seconds` has each run's)? And it
says whether two kernel rounds are alike for running close in time or in one process
(`kernel_rounds`): if not, more rounds, not more processes, steady the multiple. And
whether a run's multiples moved together with the machine's speed, its reference step
(`machine_shift`).

    python scripts/rerun_check.py --epochs 8 --json results/rerun_check-6seeds-cpu.json \
        -- --seeds 0-5 --no-download

Run nothing else on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from actbench import device
from actbench.environment import collect

COLUMNS = ["cost_pct", "cost_pct_low", "cost_pct_high", "cost_seeds"]
KERNEL = ["kernel_copy_x", "kernel_gbs"]  # the kernels' multiple of a copy, and bandwidth


def sweep(args, out: Path, name: str) -> tuple:
    """One run: its summary (baseline left out), its trials, its wall seconds, its kernel
    rounds (`round_residuals`) and the machine's speed meanwhile (`reference_step`)."""
    argv = ["sweep", "--device", args.device, "--out", str(out), "--name", name, "--quiet"]
    argv += ["--activations", args.activations]
    if args.epochs:
        argv += ["--epochs", str(args.epochs), "--patience", "0"]
    argv += ["--no-download", *args.extra]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "actbench", *argv], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        sys.exit(f"sweep {name} failed: {proc.stderr.strip()}")
    seconds = time.perf_counter() - start
    print(f"  {name}: {seconds:.0f} s", file=sys.stderr, flush=True)
    summary = pd.read_csv(out / name / "summary.csv").set_index("activation")
    trials = pd.read_csv(out / name / "trials.csv")
    kept = summary[~summary["baseline"]]
    return kept, trials, seconds, round_residuals(out / name), reference_step(out / name)


def reference_step(folder: Path) -> float:
    """The run's reference step (`reference.py`: the machine's own speed, read at every
    epoch's start), median over the run's epochs, µs."""
    return float(pd.read_csv(folder / "history.csv")["reference_us"].median())


def machine_shift(runs: dict[str, pd.DataFrame], reference: dict[str, float]) -> dict:
    """Per run: how far (%) its reference step and its kernel multiples as a whole (the
    geometric mean over activations of each one's multiple over the runs' median of it)
    lie from the runs' medians. A run whose every multiple moved with its reference step
    moved with the machine, not the activations."""
    frames = {n: s[KERNEL[0]].astype(float) for n, s in runs.items() if KERNEL[0] in s}
    if not frames:
        return {}
    multiples = pd.DataFrame(frames)  # activation x run
    common = np.exp(np.log(multiples.div(multiples.median(axis=1), axis=0)).mean()) - 1
    ref = pd.Series(reference, dtype=float)
    ref_pct = ref / ref.median() - 1
    return {
        n: {
            "reference_us": float(ref[n]),
            "reference_pct": float(100 * ref_pct[n]),
            "multiples_pct": float(100 * common[n]),
        }
        for n in multiples.columns
    }


def round_residuals(folder: Path) -> pd.DataFrame:
    """Every kernel round of a run (history.csv): the worker process it ran in (its trial's
    seed and group: with more seeds than jobs, one seed's trials may be split between two
    processes), when (seconds after the run's first round; an epoch's round follows the
    trial's last round of steps in that epoch, rounds.csv) and the log of its multiple of
    copy less the median of its activation's in that run."""
    history = pd.read_csv(folder / "history.csv")
    if KERNEL[0] not in history:
        return pd.DataFrame(columns=["process", "t", "y"])
    trials = pd.read_csv(folder / "trials.csv")[["activation", "seed", "group"]]
    read = history[history[KERNEL[0]] > 0].merge(trials, on=["activation", "seed"])
    keys = ["activation", "seed", "group", "epoch"]
    when = pd.read_csv(folder / "rounds.csv").groupby(keys)["start_seconds"].max()
    t = read.join(when.rename("t"), on=keys)["t"]
    y = np.log(read[KERNEL[0]])
    y = y - y.groupby(read["activation"]).transform("median")
    process = read["seed"].astype(str) + "/" + read["group"].astype(str)
    return pd.DataFrame({"process": process, "t": t - t.min(), "y": y}).dropna()


MIN_PAIRS = 30  # fewer pairs at a lag: no correlation is said for it
LAGS = {"under 3 s": (0, 3), "3-15 s": (3, 15), "15-60 s": (15, 60), "over 60 s": (60, math.inf)}


def round_correlation(frames: list[pd.DataFrame], min_pairs: int = MIN_PAIRS) -> dict:
    """How alike two kernel rounds of a run are, by how far apart in time they ran and
    whether in one worker process or two: the correlation of their residuals (each pair in
    both orders, as neither is first), pooled over `frames` (one per run), and the spread
    of one round (the residuals' standard deviation, in log units)."""
    pairs: dict[tuple[str, str], list[np.ndarray]] = {}
    for frame in frames:
        process = frame["process"].to_numpy()
        t, y = (frame[c].to_numpy(dtype=float) for c in ("t", "y"))
        i, j = np.triu_indices(len(y), 1)
        lag, same = np.abs(t[i] - t[j]), process[i] == process[j]
        for label, (low, high) in LAGS.items():
            for kind, mask in (("same process", same), ("other processes", ~same)):
                m = mask & (lag >= low) & (lag < high)
                pairs.setdefault((kind, label), []).append(np.stack([y[i][m], y[j][m]]))
    out: dict = {"round_sd_log": float(pd.concat(frames)["y"].std())}
    for (kind, label), chunks in pairs.items():
        a, b = np.concatenate(chunks, axis=1)
        x, z = np.concatenate([a, b]), np.concatenate([b, a])
        r = float(np.corrcoef(x, z)[0, 1]) if len(a) >= min_pairs else math.nan
        out.setdefault(kind, {})[label] = {"pairs": len(a), "r": r}
    return out


HEADERS = ["pair", "activation", "cost % A", "cost % B", "|A-B|", "sqrt(hA²+hB²)", "holds"]


def check(pairs) -> tuple[list[list[str]], list[bool]]:
    """Per pair of runs and activation: does |a - b| <= sqrt(ha^2 + hb^2) hold?"""
    rows, checks = [], []
    for (na, a), (nb, b) in pairs:
        for act in a.index:
            ha = (a.loc[act, "cost_pct_high"] - a.loc[act, "cost_pct_low"]) / 2
            hb = (b.loc[act, "cost_pct_high"] - b.loc[act, "cost_pct_low"]) / 2
            gap, allowed = abs(a.loc[act, "cost_pct"] - b.loc[act, "cost_pct"]), math.hypot(ha, hb)
            checks.append(bool(gap <= allowed))
            costs = [f"{x.loc[act, 'cost_pct']:+.2f}" for x in (a, b)]
            verdict = "yes" if checks[-1] else "NO"
            rows.append([f"{na} vs {nb}", act, *costs, f"{gap:.2f}", f"{allowed:.2f}", verdict])
    return rows, checks


def apart_pct(values: list[float]) -> tuple[float, float]:
    """(median of `values`, the largest distance (%) of one from it); (NaN, NaN) where there
    is no median above 0 to measure a distance from."""
    mid = float(pd.Series(values, dtype=float).median()) if values else math.nan
    if not mid > 0:
        return math.nan, math.nan
    return mid, max(abs(v / mid - 1) * 100 for v in values)


def kernel_spread(runs: dict[str, pd.DataFrame]) -> dict[str, dict]:
    """Per activation: each run's kernel multiple of copy, their median, and the largest
    distance (%) of a run's from that median."""
    out = {}
    frames = [s for s in runs.values() if KERNEL[0] in s]
    if not frames:
        return out
    for act in frames[0].index:
        values = [float(s.loc[act, KERNEL[0]]) for s in frames if act in s.index]
        values = [v for v in values if math.isfinite(v)]
        mid, apart = apart_pct(values)
        if math.isfinite(mid):
            out[act] = {"copy_x": values, "copy_x_median": mid, "copy_x_apart_pct": apart}
    return out


def seed_spread(trials: dict[str, pd.DataFrame]) -> dict[str, dict]:
    """Per activation: each run's seeds' kernel multiples (one worker process each, in seed
    order; a seed without one, as the baseline's, left out), and the largest distance (%) of
    a seed's from its own run's median of them: how far apart one run's seeds read it."""
    out: dict[str, dict] = {}
    for name, frame in trials.items():
        if KERNEL[0] not in frame:
            continue
        frame = frame.sort_values("seed", kind="stable")
        for act, rows in frame.groupby("activation", sort=False):
            values = [float(v) for v in rows[KERNEL[0]] if math.isfinite(v)]
            mid, apart = apart_pct(values)
            if math.isfinite(mid):
                entry = out.setdefault(act, {"seeds": {}, "apart_pct": {}})
                entry["seeds"][name] = values
                entry["apart_pct"][name] = apart
    return out


def cost_spread(runs: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Per activation: the largest distance (points of cost %) of a run's cost from the
    runs' median: how steady the point estimate is from run to run (runs without a cost for
    it left out; an activation with none, absent)."""
    out = {}
    for act in dict.fromkeys(a for s in runs.values() for a in s.index):
        values = pd.Series([s.loc[act, "cost_pct"] for s in runs.values() if act in s.index])
        values = values.astype(float).dropna()
        if len(values):
            out[act] = float((values - values.median()).abs().max())
    return out


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--activations", default="relu,tanh,sigmoid,elu")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--against", type=Path, default=None, help="an earlier set's --json")
    p.add_argument("extra", nargs="*", help="more sweep flags, after --")
    args = p.parse_args()

    runs, trials, seconds, residuals, reference = {}, {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            name = f"run{i + 1}"
            made = sweep(args, Path(tmp), name)
            runs[name], trials[name], seconds[name], residuals[name], reference[name] = made
    widths = [w for x in runs.values() for w in (x["cost_pct_high"] - x["cost_pct_low"]) / 2]
    median_half = float(pd.Series(widths).median())
    sets = {"within this set": list(itertools.combinations(runs.items(), 2))}
    if args.against:
        saved = json.loads(args.against.read_text())["costs"]
        earlier = {f"earlier {n}": pd.DataFrame(c).T for n, c in saved.items()}
        sets["against the earlier set"] = [(e, r) for e in earlier.items() for r in runs.items()]
    held = {}
    for label, pairs in sets.items():
        rows, checks = check(pairs)
        print(f"\n{label}:")
        print(tabulate(rows, headers=HEADERS, tablefmt="github", disable_numparse=True))
        held[label] = {"checks": len(checks), "hold": sum(checks)}
        print(
            f"{sum(checks)} of {len(checks)} checks hold ({100 * sum(checks) / len(checks):.0f} %)"
        )
    print(f"median interval half-width {median_half:.2f} points of cost %")
    kernel = kernel_spread(runs)
    if kernel:
        print("kernel multiple of copy, largest distance from the runs' median:")
        print(", ".join(f"{a} {v['copy_x_apart_pct']:.1f} %" for a, v in kernel.items()))
    seeds = seed_spread(trials)
    if seeds:
        print("the same, a run's seeds from that run's median (each run's largest):")
        print(", ".join(f"{a} {max(v['apart_pct'].values()):.1f} %" for a, v in seeds.items()))
    alike = round_correlation(list(residuals.values()))
    print(f"one kernel round's spread (sd of log multiple): {alike['round_sd_log']:.3f}")
    for kind in ("same process", "other processes"):
        r = ", ".join(f"{lag} {v['r']:+.2f}" for lag, v in alike.get(kind, {}).items())
        print(f"correlation of two rounds, {kind}: {r}")
    shift = machine_shift(runs, reference)
    if shift:
        print("each run against the runs' medians: reference step, kernel multiples as a whole:")
        print(
            ", ".join(
                f"{n} {v['reference_pct']:+.1f} % / {v['multiples_pct']:+.1f} %"
                for n, v in shift.items()
            )
        )
    points = cost_spread(runs)
    print("cost, largest distance from the runs' median, points:")
    print(", ".join(f"{a} {v:.2f}" for a, v in points.items()))
    if args.json:
        report = {
            "config": {k: v for k, v in vars(args).items() if k != "json"},
            "costs": {
                name: s[[c for c in COLUMNS + KERNEL if c in s]].to_dict("index")
                for name, s in runs.items()
            },
            "kernel": kernel,
            "kernel_seeds": seeds,
            "kernel_rounds": alike,
            "machine_shift": shift,
            "cost_apart_points": points,
            "seconds": seconds,
            "against": str(args.against) if args.against else None,
            "checks": held,
            "median_half_width_pct": median_half,
            "environment": collect(device.pin(args.device)),
        }
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
