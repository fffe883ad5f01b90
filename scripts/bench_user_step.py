"""A user's network: actbench's timed step against the user's own plain training step.

In one process, interleaved in shuffled rounds (so a noisy neighbour slows both alike),
this times one training step of a user's network (`--model FILE.py:NAME`, on the data of
`--dataset FILE.py:NAME`) for each activation, two ways, on the same resident tensors and
from the same initial weights (`Network.build` at seed 0):

1. the loop a user writes: `torch.optim.Adam(model.parameters(), lr)`, then per batch
   `zero_grad()`, forward, the task's loss, `backward()`, `step()`;
2. actbench's step (`actbench.step.make_step`) in eager mode: what `sweep` times.

It prints each method's median step time (timed region only, the same clock for both)
and the plain step over actbench's, per round (median, min-max over rounds).

    python scripts/bench_user_step.py --json results/bench_user_step-cpu.json
    python scripts/bench_user_step.py --model examples/resnet.py:build --dataset mnist
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tabulate import tabulate

from actbench import clock, device
from actbench import plan as plan_mod
from actbench.config import SweepConfig
from actbench.environment import collect
from actbench.step import make_step


class Method:
    """Steps over consecutive batches of the resident training split, each one timed."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch: int, dev: torch.device) -> None:
        self.x, self.y, self.batch, self.pos = x, y, batch, 0
        self.clock = clock.clock_for(dev)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pos + self.batch > self.x.shape[0]:
            self.pos = 0
        start, self.pos = self.pos, self.pos + self.batch
        return self.x[start : self.pos], self.y[start : self.pos]

    def run(self, steps: int) -> np.ndarray:
        for _ in range(steps):
            xb, yb = self.next_batch()
            self.clock.start()
            self.step(xb, yb)
            self.clock.stop()
        return self.clock.collect()

    def step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        raise NotImplementedError


class PlainLoop(Method):
    def __init__(self, plan, activation, x, y, dev) -> None:
        super().__init__(x, y, plan.config.batch_size, dev)
        self.model = plan.network.build(activation, seed=0).to(dev)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=plan.config.lr)
        self.loss = plan.task.loss

    def step(self, xb, yb) -> None:
        self.optimizer.zero_grad()
        loss = self.loss(self.model(xb), yb)
        loss.backward()
        self.optimizer.step()


class ActbenchLoop(Method):
    def __init__(self, plan, activation, x, y, dev) -> None:
        super().__init__(x, y, plan.config.batch_size, dev)
        model = plan.network.build(activation, seed=0).to(dev)
        self._step = make_step(plan.step, model, x, y)

    def step(self, xb, yb) -> None:
        self._step.fetch(xb, yb)
        self._step()


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="examples/transformer.py:build")
    p.add_argument("--dataset", default="examples/modular.py:load")
    p.add_argument("--activations", default="gelu,relu")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--steps", type=int, default=100, help="timed steps per method per round")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = p.parse_args()

    request = SweepConfig(
        activations=tuple(args.activations.split(",")), model=args.model, dataset=args.dataset,
        device=args.device, baseline=None,
    )  # fmt: skip
    plan = plan_mod.build(request)
    pin = device.pin(args.device, args.threads)
    data, _ = plan.dataset.load(plan.config, pin.device)
    x, y = data.x_train, data.y_train
    methods: dict[tuple[str, str], Method] = {}
    for activation in plan.activations:
        methods[(activation.name, "plain loop")] = PlainLoop(plan, activation, x, y, pin.device)
        methods[(activation.name, "actbench eager")] = ActbenchLoop(
            plan, activation, x, y, pin.device
        )
    setup = {}
    for key, method in methods.items():  # warm-up outside every measurement
        start = time.perf_counter()
        method.run(args.warmup)
        setup[key] = time.perf_counter() - start
    samples: dict[tuple[str, str], list[np.ndarray]] = {k: [] for k in methods}
    order, keys = np.random.default_rng(0), list(methods)
    for _ in range(args.rounds):
        for i in order.permutation(len(keys)):  # a shuffled order every round
            samples[keys[i]].append(methods[keys[i]].run(args.steps))

    rows, figures = [], {}
    for name in dict.fromkeys(k[0] for k in keys):
        plain, ours = samples[(name, "plain loop")], samples[(name, "actbench eager")]
        ratios = [float(np.median(a) / np.median(b)) for a, b in zip(plain, ours, strict=True)]
        med = {m: float(np.median(np.concatenate(samples[(name, m)]))) for m in
               ("plain loop", "actbench eager")}  # fmt: skip
        figures[name] = {
            "plain_us_per_step_median": med["plain loop"],
            "actbench_us_per_step_median": med["actbench eager"],
            "plain_over_actbench": float(np.median(ratios)),
            "plain_over_actbench_min": min(ratios),
            "plain_over_actbench_max": max(ratios),
            "round_ratios": ratios,
        }
        rows.append([
            name, f"{med['plain loop']:.1f}", f"{med['actbench eager']:.1f}",
            f"{np.median(ratios):.3f}× ({min(ratios):.3f}–{max(ratios):.3f})",
        ])  # fmt: skip
    env = collect(pin)
    print(
        f"device {env['device']} ({env['device_name']}), {env['threads']} threads, torch "
        f"{env['torch_version']}; {args.model} on {args.dataset}, batch "
        f"{plan.config.batch_size}; {args.rounds} shuffled rounds × {args.steps} steps per "
        "method\n"
    )
    headers = ["activation", "plain µs/step", "actbench µs/step", "plain / actbench (rounds)"]
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
    if args.json:
        report = {
            "environment": env,
            "model": args.model,
            "dataset": args.dataset,
            "rounds": args.rounds,
            "steps": args.steps,
            "activations": figures,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
