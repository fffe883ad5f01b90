"""Is `actbench compare --fail-if-slower` safe to gate CI on? False alarms and detections.

1. False alarms: `--runs` (default 6) back-to-back sweeps of the same short configuration,
   same code, each in a fresh process as a user runs it (`python -m actbench sweep`, three
   seeds by default); then `actbench compare A B --fail-if-slower 5` for every pair (15
   for 6). Exit 1 is a false alarm; exit 3 means a row could not be tested (the run is
   too short for the baseline row's interval: `--epochs` below 5), which the report counts
   apart.
2. Detections: `--slow-runs` (default 5) sweeps in which one activation does extra work
   (about 20 % of a step), each compared with a plain run as B against A. Every one must
   exit 1.

The activation under test is `gatecheck_act:act`, a module this script writes to a
temporary folder: relu, plus `GATECHECK_EXTRA` extra elementwise passes (forward and
backward) in the slow runs. Its name is the same on both sides, as after a code change.

    python scripts/gate_check.py --json results/gate_check-cpu.json

Run nothing else on the machine meanwhile (its own weather is part of the test).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from actbench import device
from actbench.environment import collect

ACTIVATION = '''"""relu, plus GATECHECK_EXTRA extra elementwise passes: slower, same code path."""
import os

import torch

EXTRA = int(os.environ.get("GATECHECK_EXTRA", "0"))


def act(x):
    y = torch.relu(x)
    for _ in range(EXTRA):
        y = y + 0.0 * torch.sin(x)
    return y
'''
UNDER_TEST = "gatecheck_act:act"


def run(argv: list[str], env: dict, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actbench", *argv], env=env, capture_output=capture, text=True
    )


def sweep(args, out: Path, name: str, extra: int, env: dict) -> None:
    start = time.perf_counter()
    proc = run(
        [
            "sweep",
            "--activations",
            f"{args.activations},{UNDER_TEST}",
            "--epochs",
            str(args.epochs),
            "--patience",
            "0",
            "--device",
            args.device,
            "--out",
            str(out),
            "--name",
            name,
            "--no-download",
            "--quiet",
        ],
        {**env, "GATECHECK_EXTRA": str(extra)},
    )
    if proc.returncode != 0:
        sys.exit(f"sweep {name} failed: {proc.stderr.strip()}")
    print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def compare(args, out: Path, a: str, b: str, env: dict) -> dict:
    """Exit status of the gate, and each row's ratio, interval, basis and verdict."""
    js = out / f"{a}_vs_{b}.json"
    argv = ["compare", a, b, "--out", str(out), "--json", str(js)]
    proc = run([*argv, "--fail-if-slower", str(args.fail_if_slower)], env)
    rows = json.loads(js.read_text())[0]["rows"]
    return {
        "a": a,
        "b": b,
        "exit": proc.returncode,
        "failures": [line for line in proc.stderr.splitlines() if "FAIL" in line],
        "rows": {
            r["activation"]: {k: r.get(k) for k in ("basis", "ratio", "ratio_low", "ratio_high")}
            | {"verdict": r["verdict"]}
            for r in rows
        },
    }


def describe(pair: dict) -> list:
    worst = max(pair["rows"].items(), key=lambda kv: kv[1]["ratio_low"] or 0)
    name, row = worst
    return [
        f"{pair['a']} vs {pair['b']}",
        pair["exit"],
        f"{name}: {row['ratio']:.3f} [{row['ratio_low']:.3f}, {row['ratio_high']:.3f}] "
        f"({row['basis']}, {row['verdict']})",
        pair["rows"][UNDER_TEST]["verdict"],
    ]


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--activations", default="relu,tanh", help="swept beside the one under test")
    p.add_argument("--epochs", type=int, default=6, help="5 or more: the baseline row is gated")
    p.add_argument("--runs", type=int, default=6, help="same-code runs (all pairs compared)")
    p.add_argument("--slow-runs", type=int, default=5, help="runs with the slower activation")
    p.add_argument("--extra", type=int, default=1, help="extra passes in the slower activation")
    p.add_argument("--fail-if-slower", type=float, default=5.0)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    if args.slow_runs > args.runs:
        sys.exit("--slow-runs cannot exceed --runs (each is compared with one plain run)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "gatecheck_act.py").write_text(ACTIVATION)
        path = os.pathsep.join(filter(None, [str(tmp), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        out = tmp / "runs"
        plain = [f"same-{i}" for i in range(args.runs)]
        slow = [f"slow-{i}" for i in range(args.slow_runs)]
        print(f"{args.runs} same-code sweeps, then {args.slow_runs} slower ones", file=sys.stderr)
        for name in plain:
            sweep(args, out, name, 0, env)
        for name in slow:
            sweep(args, out, name, args.extra, env)
        alarms = [compare(args, out, a, b, env) for a, b in itertools.combinations(plain, 2)]
        detections = [compare(args, out, a, b, env) for a, b in zip(plain, slow, strict=False)]
        config = json.loads((out / plain[0] / "run.json").read_text())["config"]

    false_alarms = sum(pair["exit"] == 1 for pair in alarms)
    untested = sum(pair["exit"] == 3 for pair in alarms + detections)
    caught = sum(pair["exit"] == 1 for pair in detections)
    slowdowns = [pair["rows"][UNDER_TEST]["ratio"] for pair in detections]
    headers = ["pair", "exit", "highest row (B/A [95% CI], basis, verdict)", UNDER_TEST]
    print(tabulate([describe(p) for p in alarms + detections], headers, tablefmt="github"))
    print(
        f"\nfalse alarms: {false_alarms} of {len(alarms)} same-code pairs "
        f"(compare --fail-if-slower {args.fail_if_slower:g})\n"
        f"detections: {caught} of {len(detections)} pairs where {UNDER_TEST} is slower "
        f"(its B/A {min(slowdowns):.3f}-{max(slowdowns):.3f})\n"
        f"pairs with a row the gate could not test (exit 3): {untested}"
    )
    if args.json:
        report = {
            "environment": collect(device.pin(args.device, None)),
            "config": config,
            "extra_passes": args.extra,
            "fail_if_slower": args.fail_if_slower,
            "false_alarms": false_alarms,
            "untested_pairs": untested,
            "same_code_pairs": len(alarms),
            "detections": caught,
            "slow_pairs": len(detections),
            "pairs": alarms + detections,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
