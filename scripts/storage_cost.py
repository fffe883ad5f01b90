"""What saving a finished trial costs as a run folder fills up: the seconds `add_trial`
takes for the first and the last trials of a run of N (a trial like a default sweep's: 10
epochs of history, 480 rounds, 4800 timed steps).

    python scripts/storage_cost.py --trials 200 --json out.json

Run it against another checkout's code with PYTHONPATH=<checkout> to compare versions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from actbench.records import EpochRecord, RoundRecord, TrialResult
from actbench.storage import RunFolder


def trial(activation: str, seed: int) -> TrialResult:
    rng = np.random.default_rng(seed)
    history = [
        EpochRecord(activation, seed, e, 0.5 / e, 0.6 / e, 0.9, 1.0, 800.0, 100.0)
        for e in range(1, 11)
    ]
    rounds = [RoundRecord(activation, seed, 0, i, 1 + i // 48, float(i), 10, 800.0)
              for i in range(480)]  # fmt: skip
    return TrialResult(
        activation=activation, seed=seed, device="cpu", device_name="cpu", threads=1,
        cpu_affinity="0", deterministic=False, mode="eager", model="mlp", host="h",
        test_accuracy=0.97, test_loss=0.1, best_val_loss=0.1, best_epoch=10, epochs=10,
        steps=4850, warmup_steps=50, us_per_step_median=800.0, us_per_step_p25=790.0,
        us_per_step_p75=810.0, us_per_step_mean=801.0, us_per_step_std=5.0,
        timed_seconds=3.9, compile_seconds=0.0, train_seconds=4.0, diverged=False,
        diverged_epoch=None, rounds=rounds, history=history,
        step_us=rng.normal(800, 5, 4800).astype(np.float32),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    names = [f"act{i}" for i in range(args.trials)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = RunFolder.create(Path(tmp), "run")
        folder.write_run({"name": "run", "config": {"activations": names, "seeds": [0]}})
        seconds = []
        for name in names:
            start = time.perf_counter()
            folder.add_trial(trial(name, 0))
            seconds.append(time.perf_counter() - start)
        folder.unlock()
    first, last = seconds[:10], seconds[-10:]
    result = {
        "trials": args.trials,
        "first_10_median_ms": 1e3 * statistics.median(first),
        "last_10_median_ms": 1e3 * statistics.median(last),
        "last_over_first": statistics.median(last) / statistics.median(first),
        "total_seconds": sum(seconds),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
