"""Where does relu's unexplained cost go? Subnormal numbers in Adam's state, measured.

A relu unit that dies passes exactly zero gradient to its incoming weights; Adam's first
moment for them then shrinks by beta1 = 0.9 every step and passes through the subnormal
range (below 1.18e-38 in float32) on its way to zero, where x86 arithmetic is many times
slower. This trains the default MLP with each activation for `--epochs` epochs (Adam,
batch 100, one thread), counts the subnormal values in the weights and Adam's state,
and then times blocks of the step breakdown (`breakdown.py`) with denormal flushing off
and on (`torch.set_flush_denormal`), alternating, `--rounds` times each:

    python scripts/relu_subnormals.py --json results/relu_subnormals-cpu.json

Run nothing else on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from actbench import breakdown, device
from actbench.config import SweepConfig
from actbench.environment import collect
from actbench.plan import build


def train(profiler: breakdown.Profiler, x: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    batch = profiler.batch_size
    for _ in range(epochs):
        order = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0] - batch + 1, batch):
            profiler.step.fetch(x[order[i : i + batch]], y[order[i : i + batch]])
            profiler.step()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--activations", default="relu,tanh")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    torch.manual_seed(0)
    pinning = device.pin("cpu", 1)
    plan = build(SweepConfig(activations=tuple(args.activations.split(",")), device="cpu"))
    data, _ = plan.dataset.load(plan.config, pinning.device)
    x, y = data.x_train, data.y_train
    twins = {a.name: breakdown.Profiler(plan.network, a, plan.step, x, y) for a in plan.activations}
    for twin in twins.values():
        train(twin, x, y, args.epochs)
    subnormal = {n: 100 * breakdown.subnormal_fraction(t.step) for n, t in twins.items()}
    blocks: dict[tuple[str, bool], list[dict[str, float]]] = {}
    for r in range(args.rounds):
        for flush in (False, True) if r % 2 == 0 else (True, False):
            torch.set_flush_denormal(flush)
            for name, twin in twins.items():
                blocks.setdefault((name, flush), []).append(twin.block(x[:1000], y[:1000]))
    torch.set_flush_denormal(False)
    rows = []
    for (name, flush), found in blocks.items():
        parts = {f"{k}_us": round(float(np.median([b[k] for b in found])), 1) for k in found[0]}
        rows.append(
            {
                "activation": name,
                "flush_denormal": flush,
                "subnormal_pct": round(subnormal[name], 3),
                **parts,
            }
        )
    for row in rows:
        print(row)
    if args.json:
        result = {
            "command": f"python scripts/relu_subnormals.py --activations {args.activations} "
            f"--epochs {args.epochs} --rounds {args.rounds}",
            "environment": collect(pinning),
            "rows": rows,
        }
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
