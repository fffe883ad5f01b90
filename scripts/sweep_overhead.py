"""How much of a default sweep is not training? Wall time of the command against its steps.

Runs `python -m actbench sweep` (default settings unless flags follow `--`) `--sweeps`
times, each as a user runs it, in a fresh process; the wall time is the whole command
(interpreter start, imports, data, worker processes, validation, profiling, files,
pictures), the timed time is the sum of every trial's timed steps (`trials.csv`). The
overhead is 1 - timed / wall. A saved run can be kept with `--keep DIR` (the last sweep's
folder is moved there), so the README's example and this figure come from one command.

    python scripts/sweep_overhead.py --sweeps 2 --json results/sweep_overhead-cpu.json

Run nothing else on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from actbench import device
from actbench.environment import collect


def one(extra: list[str], out: Path, name: str) -> dict:
    argv = [sys.executable, "-m", "actbench", "sweep", "--out", str(out), "--name", name]
    start = time.perf_counter()
    proc = subprocess.run([*argv, "--quiet", *extra], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"sweep {name} failed: {proc.stderr.strip()}")
    trials = pd.read_csv(out / name / "trials.csv")
    timed = float(trials["timed_seconds"].sum())
    print(f"  {name}: wall {wall:.1f} s, timed steps {timed:.1f} s", file=sys.stderr, flush=True)
    return {"wall_seconds": wall, "timed_seconds": timed, "overhead": 1 - timed / wall}


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sweeps", type=int, default=2)
    p.add_argument("--keep", type=Path, default=None, help="keep the last sweep's run folder")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("extra", nargs="*", help="sweep flags, after --")
    args = p.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        names = [f"sweep{i + 1}" for i in range(args.sweeps)]
        if args.keep:  # the kept run carries its final name from the start
            names[-1] = args.keep.name
        for name in names:
            runs.append(one(args.extra, Path(tmp), name))
        if args.keep:
            shutil.move(str(Path(tmp) / names[-1]), str(args.keep))
    overheads = [r["overhead"] for r in runs]
    print(
        f"overhead over {len(runs)} sweeps: median {100 * statistics.median(overheads):.1f}% "
        f"(range {100 * min(overheads):.1f}-{100 * max(overheads):.1f}%); wall "
        f"{min(r['wall_seconds'] for r in runs):.0f}-{max(r['wall_seconds'] for r in runs):.0f} s"
    )
    if args.json:
        report = {
            "flags": args.extra,
            "sweeps": runs,
            "overhead_median": statistics.median(overheads),
            "overhead_range": [min(overheads), max(overheads)],
            "environment": collect(device.pin("cpu")),
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
