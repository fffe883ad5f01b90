"""Calibrate the disturbed-timing flag: default sweeps on a quiet machine and under the
on/off CPU hog of `noisy_neighbour.py`, alternately, each run folder kept, then per trial
the statistics a flag could use, by condition.

    python scripts/calibrate_disturbance.py --pairs 2 --keep /tmp/calib \
        --json results/calibrate_disturbance-cpu.json

Run nothing else on the machine meanwhile. `--analyse DIR` reads kept folders again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from actbench import data, device, disturbance, runner
from actbench.config import SweepConfig
from actbench.environment import collect
from actbench.storage import RunFolder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from noisy_neighbour import cpu_hog


def sweep(out: Path, name: str, args) -> None:
    cfg = SweepConfig(device="cpu", out=out, name=name, data_dir=args.data_dir, download=False,
                      epochs=args.epochs)  # fmt: skip
    start = time.perf_counter()
    runner.run(cfg, quiet=True)
    print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def per_trial(folder: RunFolder) -> pd.DataFrame:
    """Each trial's candidate signs of a neighbour, and whether the rule flags it."""
    trials = folder.trials()
    timed = trials["steps"] - trials["warmup_steps"]
    median = trials["us_per_step_median"]
    return pd.DataFrame(
        {
            "activation": trials["activation"],
            "seed": trials["seed"],
            "preempted_pct": 100 * trials["slow_steps"] / timed,
            "mean_over_median": trials["us_per_step_mean"] / median,
            "iqr_pct": 100 * (trials["us_per_step_p75"] - trials["us_per_step_p25"]) / median,
            "flag": disturbance.of_trials(trials) != "",
        }
    )


def analyse(keep: Path) -> dict:
    out: dict = {}
    for path in sorted(p for p in keep.iterdir() if (p / "run.json").is_file()):
        condition = path.name.rsplit("-", 1)[0]
        frame = per_trial(RunFolder(path))
        out.setdefault(condition, []).extend(frame.to_dict("records"))
    summary = {}
    for condition, rows in out.items():
        frame = pd.DataFrame(rows)
        summary[condition] = {
            "trials": len(frame),
            "flagged": int(frame["flag"].sum()),
            "flagged_by_seed": {
                str(seed): f"{int(rows['flag'].sum())} of {len(rows)}"
                for seed, rows in frame.groupby("seed")
            },
            **{
                f"{column}_range": [float(frame[column].min()), float(frame[column].max())]
                for column in ("preempted_pct", "mean_over_median", "iqr_pct")
            },
        }
    return {"per_trial": out, "summary": summary}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=2, help="quiet, hog pairs")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--keep", type=Path, required=True)
    p.add_argument("--analyse", action="store_true", help="only read the kept folders")
    p.add_argument("--data-dir", type=Path, default=data.default_data_dir())
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    if not args.analyse:
        args.keep.mkdir(parents=True, exist_ok=True)
        for i in range(args.pairs):
            sweep(args.keep, f"quiet-{i}", args)
            with cpu_hog(2.5, 2.5):
                sweep(args.keep, f"hog-{i}", args)
    result = {**analyse(args.keep), "environment": collect(device.pin("cpu"))}
    print(json.dumps(result["summary"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
