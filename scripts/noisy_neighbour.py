"""Does a sweep's answer survive a noisy neighbour? Quiet vs on/off CPU hog, per schedule.

For each schedule (and round length) this runs the same short sweep three times, one
after another in this process: on a quiet machine, under a bounded on/off CPU hog (a
second process that spins one core for `--hog-on` seconds, then sleeps `--hog-off`
seconds, over and over, until the sweep ends), and quiet again. For every activation it
takes the sweep's own cost over the baseline as a ratio (step time / baseline's step
time, `summary.csv`) and prints how far the ratios of two conditions disagree:
`|ratio_B / ratio_A - 1|`. It also prints the width of every cost interval in the quiet
sweeps, as a share of the baseline's step.

    python scripts/noisy_neighbour.py --round-steps 10 --epochs 4 \
        --json results/noisy_neighbour-cpu.json
    python scripts/noisy_neighbour.py --schedules interleaved --round-steps 10 --threads 2
    python scripts/noisy_neighbour.py --schedules interleaved --round-steps 20,480

Run nothing else on the machine meanwhile: the point is the hog this script controls.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from actbench import data, device, runner
from actbench.config import SweepConfig
from actbench.environment import collect

CONDITIONS = ("quiet", "hog", "quiet again")


@contextmanager
def cpu_hog(on: float, off: float):
    """A neighbour that keeps one core busy `on` seconds, then idles `off`, until stopped."""
    loop = f"while :; do timeout {on} sh -c 'while :; do :; done'; sleep {off}; done"
    proc = subprocess.Popen(["sh", "-c", loop], start_new_session=True)
    try:
        yield
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def variant_label(schedule: str, round_steps: int, threads: int | None) -> str:
    """How the docs' table names a variant; a pinned thread count is part of it."""
    label = schedule if schedule == "sequential" else f"{schedule}, rounds of {round_steps}"
    if threads is not None:
        label += f", {threads} thread{'' if threads == 1 else 's'}"
    return label


def one_sweep(args, schedule: str, round_steps: int, out: Path, name: str) -> pd.DataFrame:
    cfg = SweepConfig(
        activations=args.activations.split(","),
        device=args.device,
        threads=args.threads,
        schedule=schedule,
        round_steps=round_steps,
        epochs=args.epochs,
        patience=0,
        train_limit=args.train_limit,
        data_dir=args.data_dir,
        download=False,
        out=out,
        name=name,
    )
    start = time.perf_counter()
    summary = runner.run(cfg, quiet=True).summary.set_index("activation")
    print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return summary


def ratios(summary: pd.DataFrame) -> pd.DataFrame:
    """Per activation: step time / baseline's (from the cost), and the interval's half width."""
    rows = summary[~summary["baseline"]]
    return pd.DataFrame(
        {
            "ratio": 1 + rows["cost_pct"] / 100,
            "half_width_pct": (rows["cost_pct_high"] - rows["cost_pct_low"]) / 2,
            "us_per_step": rows["us_per_step_median"],
        }
    )


def disagreement(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    return (b["ratio"] / a["ratio"] - 1).abs()


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--activations", default="relu,gelu,softplus,elu,sigmoid")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--schedules", default="interleaved,sequential")
    p.add_argument("--round-steps", default="20", help="comma list; interleaved only")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--hog-on", type=float, default=2.5)
    p.add_argument("--hog-off", type=float, default=2.5)
    p.add_argument("--data-dir", type=Path, default=data.default_data_dir())
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    warnings.simplefilter("ignore")  # short-trial notes would drown the table

    variants = []
    for schedule in args.schedules.split(","):
        steps = [int(s) for s in args.round_steps.split(",")] if schedule == "interleaved" else [20]
        variants += [(schedule, s) for s in steps]
    report: dict = {"config": vars(args) | {"data_dir": str(args.data_dir)}, "variants": []}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for schedule, steps in variants:
            label = variant_label(schedule, steps, args.threads)
            print(f"{label}:", file=sys.stderr)
            results = {}
            for condition in CONDITIONS:
                name = f"{schedule}-{steps}-{condition.replace(' ', '-')}"
                if condition == "hog":
                    with cpu_hog(args.hog_on, args.hog_off):
                        summary = one_sweep(args, schedule, steps, Path(tmp), name)
                else:
                    summary = one_sweep(args, schedule, steps, Path(tmp), name)
                results[condition] = ratios(summary)
            quiet, hog, again = (results[c] for c in CONDITIONS)
            noisy = pd.concat([disagreement(quiet, hog), disagreement(again, hog)], axis=1).max(
                axis=1
            )
            calm = disagreement(quiet, again)
            widest = pd.concat([quiet["half_width_pct"], again["half_width_pct"]], axis=1).max(
                axis=1
            )
            for act in quiet.index:
                rows.append(
                    [label, act]
                    + [f"{results[c].loc[act, 'ratio']:.3f}" for c in CONDITIONS]
                    + [f"{100 * noisy[act]:.1f}%", f"{100 * calm[act]:.1f}%"]
                    + [f"±{widest[act]:.1f}%"]
                )
            report["variants"].append(
                {
                    "schedule": schedule,
                    "round_steps": steps,
                    "ratios": {c: results[c]["ratio"].to_dict() for c in CONDITIONS},
                    "cost_half_width_pct": {
                        c: results[c]["half_width_pct"].to_dict() for c in CONDITIONS
                    },
                    "us_per_step": {c: results[c]["us_per_step"].to_dict() for c in CONDITIONS},
                    "worst_quiet_vs_hog": float(noisy.max()),
                    "worst_quiet_vs_quiet": float(calm.max()),
                    "widest_quiet_half_width_pct": float(widest.max()),
                }
            )
    headers = ["schedule", "activation", *(f"× baseline, {c}" for c in CONDITIONS)]
    headers += ["quiet vs hog", "quiet vs quiet", "quiet CI half width"]
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
    print()
    for v in report["variants"]:
        print(
            f"{variant_label(v['schedule'], v['round_steps'], args.threads)}: "
            f"worst disagreement quiet vs hog "
            f"{100 * v['worst_quiet_vs_hog']:.1f}%, quiet vs quiet "
            f"{100 * v['worst_quiet_vs_quiet']:.1f}%, widest quiet cost interval "
            f"±{v['widest_quiet_half_width_pct']:.1f}% of the baseline's step"
        )
    if args.json:
        pinning = device.pin(args.device, args.threads, None)
        report["environment"] = collect(pinning)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
