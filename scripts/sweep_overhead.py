"""How much of a sweep's cores go to timed steps? Wall time of the command against its steps.

Runs `python -m actbench sweep` (default settings unless flags follow `--`) `--sweeps`
times, each as a user runs it, in a fresh process; the wall time is the whole command
(interpreter start, imports, data, worker processes, validation, readings, files,
pictures). Its *efficiency* is the trials' timed seconds over the core-seconds the sweep
held (wall × the groups it ran at once × their timed threads), counting the timed steps of
the rows (`trials.csv`) and of the pacers (a baseline trained again beside a split seed's
part, whose rounds the costs are measured against: `rounds.csv`, steps × median); the
rows alone give `efficiency_rows`. The rest of the core-seconds is split into the parts the
run recorded (validation, readings, batch fetches and the rest of the trials' own loops,
from history.csv and trials.csv) and what no trial's loop holds, in three: before the first
step (the command's and the workers' start, the data loaded and checked, the trainers
built), after the last step (the last trial's test pass and final readings, the summary,
the pictures, the table, the exit; on every core, less the last trial's own last
validation and readings, counted as such), both from rounds.csv's wall-clock times against
the command's (`steps_span`), and between them (data loads, test passes and final
readings of the other groups, a slot waiting for its next group or for the other slot's
last one).
`overhead` (1 - timed / wall) is kept for older results. A saved run can be kept with
`--keep DIR` (the last sweep's folder is moved there).

    python scripts/sweep_overhead.py --sweeps 3 --json results/sweep_overhead-cpu.json

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

from actbench import device
from actbench.environment import collect
from actbench.storage import RunFolder


def one(extra: list[str], out: Path, name: str) -> dict:
    argv = [sys.executable, "-m", "actbench", "sweep", "--out", str(out), "--name", name]
    launched, start = time.time(), time.perf_counter()
    proc = subprocess.run([*argv, "--quiet", *extra], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"sweep {name} failed: {proc.stderr.strip()}")
    run = RunFolder(out / name)
    parts = core_seconds(run)
    cores = parts.pop("cores")
    held = wall * cores
    timed = parts["steps"] + parts["pacer_steps"]
    outside = held - sum(parts.values())
    first, last = steps_span(run)
    parts["before the first step"] = cores * (first - launched)
    parts["after the last step"] = cores * (launched + wall - last) - after_overlap(run)
    parts["between, outside the trials' loops"] = (
        outside - parts["before the first step"] - parts["after the last step"]
    )
    print(
        f"  {name}: wall {wall:.1f} s on {cores} core(s), timed steps {timed:.1f} s, "
        f"efficiency {timed / held:.3f}",
        file=sys.stderr,
        flush=True,
    )
    return {
        "wall_seconds": wall,
        "timed_seconds": parts["steps"],
        "overhead": 1 - parts["steps"] / wall,
        "cores": cores,
        "efficiency": timed / held,
        "efficiency_rows": parts["steps"] / held,
        "core_seconds": parts,
    }


def core_seconds(run: RunFolder) -> dict:
    """Where a finished run's trials spent their seconds, by part, and the cores it held."""
    trials, history, rounds = run.trials(), run.history(), run.rounds()
    keys = ["activation", "seed", "group"]
    rows = rounds.merge(trials[keys], on=keys, how="left", indicator=True)
    pacers = rows[rows["_merge"] == "left_only"]
    info = json.loads((run.path / "run.json").read_text())
    threads = int(info["environment"]["threads"])
    loops = float(trials["train_seconds"].sum())
    steps = float(history["steps_seconds"].sum())
    validation = float(history["eval_seconds"].sum())
    readings = float(history["probe_seconds"].sum())
    fetch = float(history["fetch_seconds"].sum())
    return {
        "cores": int(info["jobs"]) * threads,
        "steps": steps,
        "pacer_steps": float((pacers["steps"] * pacers["us_median"]).sum()) / 1e6,
        "validation": validation,
        "readings": readings,
        "batch fetches": fetch,
        "rest of the trials' loops": loops - steps - validation - readings - fetch,
    }


def steps_span(run: RunFolder) -> tuple[float, float]:
    """Wall-clock times of the sweep's first step and of the end of its last one, from
    rounds.csv. A group's warm-up steps train before its first saved round (rounds.csv keeps
    the rounds that time steps): the first step is a group's first round less its trials'
    warm-up at their median; the last is the end of the last round (its start plus its steps
    at their median), less nothing, but that trial's last validation and readings follow it
    and are counted as such, so `after_overlap` says how long they took."""
    rounds = run.rounds()
    warmup = json.loads((run.path / "run.json").read_text())["config"]["warmup_steps"]
    keys = ["seed", "group"]
    medians = rounds.groupby([*keys, "activation"])["us_median"].median()
    warm = (warmup * medians / 1e6).groupby(level=keys).sum()
    starts = rounds.groupby(keys)["start_seconds"].min()
    ends = rounds["start_seconds"] + rounds["steps"] * rounds["us_median"] / 1e6
    return float((starts - warm).min()), float(ends.max())


def after_overlap(run: RunFolder) -> float:
    """Seconds of the last-ending trial's last validation and readings, which follow its last
    step and are already counted as validation and readings (0 when it was a pacer)."""
    rounds, trials, history = run.rounds(), run.trials(), run.history()
    ends = rounds["start_seconds"] + rounds["steps"] * rounds["us_median"] / 1e6
    last = rounds.loc[ends.idxmax()]
    row = trials[
        (trials["activation"] == last["activation"])
        & (trials["seed"] == last["seed"])
        & (trials["group"] == last["group"])
    ]
    if row.empty:
        return 0.0
    mine = history[
        (history["activation"] == last["activation"]) & (history["seed"] == last["seed"])
    ]
    final = mine[mine["epoch"] == mine["epoch"].max()]
    return float((final["eval_seconds"] + final["probe_seconds"]).sum())


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sweeps", type=int, default=3)
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
    efficiency = [r["efficiency"] for r in runs]
    print(
        f"efficiency over {len(runs)} sweeps: median {statistics.median(efficiency):.3f} "
        f"(range {min(efficiency):.3f}-{max(efficiency):.3f}); wall "
        f"{min(r['wall_seconds'] for r in runs):.0f}-{max(r['wall_seconds'] for r in runs):.0f} s"
    )
    if args.json:
        report = {
            "flags": args.extra,
            "sweeps": runs,
            "efficiency_median": statistics.median(efficiency),
            "efficiency_range": [min(efficiency), max(efficiency)],
            "environment": collect(device.pin("cpu")),
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
