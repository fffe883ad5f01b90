"""Does the step breakdown hold still? Back-to-back default sweeps, read as #23 asks.

Runs `python -m actbench sweep` (default settings unless flags follow `--`) `--sweeps`
times in a row, each in a fresh process as a user runs it, and reads, per sweep:

- the internal controls: for matmul, loss and optimizer, every activation's part against
  the median across activations (the run's own verdict, `anatomy.verdict`);
- each activation's own part (µs per step, median over blocks), its kernels timed alone
  and its timed cost, with the share of the cost its part explains;
- the sweep's overhead: 1 - (sum of timed steps) / (wall time of the whole command);

and across sweeps, for every pair and activation, how far the activation parts are apart
(|a / b - 1|; the bar is 20 %).

    python scripts/breakdown_check.py --sweeps 2 --json results/breakdown_check-cpu.json

Run nothing else on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

from actbench import anatomy, device
from actbench.environment import collect
from actbench.storage import RunFolder
from actbench.summary import summarize_folder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweep_overhead import one as timed_sweep

AGREE = 0.20  # activation parts of two runs within 20 % of each other


def one(extra: list[str], out: Path, name: str) -> dict:
    """One sweep as a user runs it (`sweep_overhead.one`: the whole command, timed), read."""
    timing = timed_sweep(extra, out, name)
    wall, timed = timing["wall_seconds"], timing["timed_seconds"]
    summary = summarize_folder(RunFolder(out / name)).set_index("activation")
    columns = {
        "part_us": "profile_activation_us",
        "part_low": "profile_activation_us_low",
        "part_high": "profile_activation_us_high",
        "share_pct": "profile_share_pct",
        "kernels_alone_us": "kernel_us",
        "cost_us": "cost_us",
        "explained_pct": "explained_pct",
        "control_spread_pct": "profile_spread_pct",
        "blocks": "profile_blocks",
    }
    rows = {
        name: {key: _plain(row[column]) for key, column in columns.items()}
        for name, row in summary.iterrows()
    }
    return {
        "name": name,
        "wall_s": round(wall, 2),
        "timed_s": round(timed, 2),
        "overhead_pct": round(100 * (1 - timed / wall), 2),
        "verdict": anatomy.verdict(summary.reset_index()),
        "max_control_spread_pct": round(float(summary["profile_spread_pct"].max()), 2),
        "activations": rows,
    }


def _plain(value):
    return None if pd.isna(value) else round(float(value), 2)


def agreement(sweeps: list[dict]) -> list[dict]:
    """Every pair of sweeps and activation: how far apart the activation parts are."""
    pairs = []
    for a, b in itertools.combinations(sweeps, 2):
        for name, row in a["activations"].items():
            other = b["activations"].get(name, {})
            x, y = row.get("part_us"), other.get("part_us")
            if not x or not y or name == "identity":
                continue
            apart = abs(x / y - 1)
            ka, kb = row.get("kernels_alone_us"), other.get("kernels_alone_us")
            alone = round(100 * abs(ka / kb - 1), 1) if ka and kb else None
            sa, sb = row.get("share_pct"), other.get("share_pct")
            share = round(100 * abs(sa / sb - 1), 1) if sa and sb else None
            pairs.append({"pair": f"{a['name']}/{b['name']}", "activation": name,
                          "a_us": x, "b_us": y, "apart_pct": round(100 * apart, 1),
                          "within": apart <= AGREE, "alone_a_us": ka, "alone_b_us": kb,
                          "alone_apart_pct": alone, "share_a_pct": sa, "share_b_pct": sb,
                          "share_apart_pct": share, "share_within": share is not None
                          and share <= 100 * AGREE})  # fmt: skip
    return pairs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweeps", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--keep", type=Path, default=None, help="keep the sweeps' run folders here")
    p.add_argument("extra", nargs="*", help="sweep flags, after --")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        sweeps = [one(args.extra, out, f"sweep{i}") for i in range(args.sweeps)]
    pairs = agreement(sweeps)
    for s in sweeps:
        print(f"{s['name']}: wall {s['wall_s']} s, overhead {s['overhead_pct']} %; {s['verdict']}")
        for name, row in s["activations"].items():
            print(f"  {name:10s} part {row['part_us']} [{row['part_low']}, {row['part_high']}] "
                  f"({row['share_pct']} % of step) "
                  f"alone {row['kernels_alone_us']} cost {row['cost_us']} "
                  f"explained {row['explained_pct']} %")  # fmt: skip
    held = sum(p["within"] for p in pairs)
    shares = sum(p["share_within"] for p in pairs)
    print(f"activation parts within {AGREE:.0%} between sweeps: {held} of {len(pairs)} in µs, "
          f"{shares} of {len(pairs)} as a share of the step")  # fmt: skip
    for pair in pairs:
        print(f"  {pair['pair']} {pair['activation']}: {pair['a_us']} vs {pair['b_us']} "
              f"({pair['apart_pct']} % apart); share of step {pair['share_a_pct']} vs "
              f"{pair['share_b_pct']} % ({pair['share_apart_pct']} % apart); kernels alone "
              f"{pair['alone_a_us']} vs {pair['alone_b_us']} "
              f"({pair['alone_apart_pct']} % apart)")  # fmt: skip
    if args.json:
        result = {
            "command": "python -m actbench sweep " + " ".join(args.extra),
            "environment": collect(device.pin("cpu")),
            "sweeps": sweeps,
            "pairs": pairs,
            "within": f"{held} of {len(pairs)}",
            "share_within": f"{shares} of {len(pairs)}",
        }
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
