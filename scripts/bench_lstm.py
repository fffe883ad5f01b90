"""The airline LSTM's training step: actbench against a plain PyTorch loop, side by side.

In one process, interleaved round by round (so a noisy neighbour slows every method alike),
this times one training step of the airline article's forecaster (window 10, batch 1,
Adam lr 1e-3, mean squared error) for each activation, three ways:

1. the plain PyTorch loop a tutorial reader writes: `nn.LSTM` (fused C++ kernels, tanh
   only) for tanh; for any other activation, which `nn.LSTM` cannot take, the obvious
   hand-written cell (two linear layers per time step, four gate nonlinearities); default
   `torch.optim.Adam`, `zero_grad` / forward / loss / `backward` / `step`;
2. actbench's step (`actbench.step`) for its LSTM (`actbench.model.build_lstm`) in each
   requested mode: what `sweep --dataset airline` times.

It prints each method's median step time (timed region only, the same clock for all) and
the plain loop's step over actbench's, per round (min-max over rounds).

    python scripts/bench_lstm.py --json results/bench_lstm-cpu.json
    python scripts/bench_lstm.py --hidden 6,6 --rounds 5
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tabulate import tabulate
from torch import nn

from actbench import activation, clock, device, series
from actbench.data import Batches
from actbench.environment import collect
from actbench.model import build_lstm
from actbench.step import StepSettings, make_step

WINDOW, LR = 10, 1e-3


class PlainCell(nn.Module):
    """The LSTM a tutorial reader writes when nn.LSTM cannot take the activation."""

    def __init__(self, inputs: int, hidden: int, act) -> None:
        super().__init__()
        self.ih, self.hh, self.act, self.hidden = (
            nn.Linear(inputs, 4 * hidden),
            nn.Linear(hidden, 4 * hidden),
            act,
            hidden,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.hidden)
        c = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for t in range(x.shape[1]):
            i, f, g, o = (self.ih(x[:, t]) + self.hh(h)).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.act(g)
            h = torch.sigmoid(o) * self.act(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1)


class PlainNet(nn.Module):
    def __init__(self, hidden: tuple[int, ...], name: str) -> None:
        super().__init__()
        widths = (1, *hidden)
        if name == "tanh":
            self.layers = nn.ModuleList(
                nn.LSTM(a, b, batch_first=True) for a, b in itertools.pairwise(widths)
            )
        else:
            act = activation.resolve(name).make()
            self.layers = nn.ModuleList(PlainCell(a, b, act) for a, b in itertools.pairwise(widths))
        self.out = nn.Linear(hidden[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
            x = x[0] if isinstance(x, tuple) else x
        return self.out(x[:, -1])


class Method:
    """Steps over the shuffled training windows, one batch of 1 at a time, timed."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, dev: torch.device) -> None:
        self.batches = Batches(x, y, seed=0)
        self.n, self.epoch, self.pos = x.shape[0], 0, 0
        self.clock = clock.clock_for(dev)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.epoch == 0 or self.pos == self.n:
            self.epoch += 1
            self.xs, self.ys = self.batches.for_epoch(self.epoch)
            self.pos = 0
        self.pos += 1
        return self.xs[self.pos - 1 : self.pos], self.ys[self.pos - 1 : self.pos]

    def run(self, steps: int) -> np.ndarray:
        for _ in range(steps):
            xb, yb = self.next_batch()
            self.clock.start()
            self.step(xb, yb)
            self.clock.stop()
        return self.clock.collect()


class PlainLoop(Method):
    def __init__(self, x, y, dev, hidden, name) -> None:
        super().__init__(x, y, dev)
        torch.manual_seed(0)
        self.model = PlainNet(hidden, name).to(dev)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)

    def step(self, xb, yb) -> None:
        self.optimizer.zero_grad()
        loss = F.mse_loss(self.model(xb), yb)
        loss.backward()
        self.optimizer.step()


class ActbenchLoop(Method):
    def __init__(self, x, y, dev, hidden, name, mode) -> None:
        super().__init__(x, y, dev)
        model = build_lstm(hidden, activation.resolve(name), seed=0).to(dev)
        settings = StepSettings(mode, "adam", LR, batch_size=1, loss=F.mse_loss)
        self._step = make_step(settings, model, x, y)

    def step(self, xb, yb) -> None:
        self._step.fetch(xb, yb)
        self._step()


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--hidden", default="6", help="LSTM widths, e.g. 6 or 6,6")
    p.add_argument("--activations", default="tanh,relu")
    p.add_argument("--modes", default="eager,compile", help="actbench modes to time")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=300, help="timed steps per method per round")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = p.parse_args()

    pin = device.pin(args.device, args.threads)
    dev, hidden = pin.device, tuple(int(w) for w in args.hidden.split(","))
    data = series.prepare(series.read(), dev, WINDOW, val_fraction=0.1)
    x, y = data.x_train, data.y_train
    methods: dict[tuple[str, str], Method] = {}
    setup: dict[str, float] = {}
    for name in args.activations.split(","):
        plain = "plain nn.LSTM loop" if name == "tanh" else "plain hand-written cell loop"
        methods[(name, plain)] = PlainLoop(x, y, dev, hidden, name)
        for mode in args.modes.split(","):
            methods[(name, f"actbench {mode}")] = ActbenchLoop(x, y, dev, hidden, name, mode)
    for key, method in methods.items():  # warm-up (and compilation) outside every measurement
        start = time.perf_counter()
        method.run(args.warmup)
        setup[" / ".join(key)] = time.perf_counter() - start
    samples: dict[tuple[str, str], list[np.ndarray]] = {k: [] for k in methods}
    order = np.random.default_rng(0)
    keys = list(methods)
    for _ in range(args.rounds):
        for i in order.permutation(len(keys)):  # a shuffled order every round
            samples[keys[i]].append(methods[keys[i]].run(args.steps))

    rows, figures = [], {}
    for (name, method), rounds in samples.items():
        plain_key = next(k for k in methods if k[0] == name and k[1].startswith("plain"))
        med = float(np.median(np.concatenate(rounds)))
        ratios = [
            float(np.median(a) / np.median(b))
            for a, b in zip(samples[plain_key], rounds, strict=True)
        ]
        figures[f"{name} / {method}"] = {
            "us_per_step_median": med,
            "round_medians": [float(np.median(r)) for r in rounds],
            "plain_over_this": float(np.median(ratios)),
            "plain_over_this_min": min(ratios),
            "plain_over_this_max": max(ratios),
            "warmup_seconds": setup[f"{name} / {method}"],
        }
        rows.append(
            [
                name,
                method,
                f"{med:.1f}",
                f"{np.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})",
                f"{setup[f'{name} / {method}']:.1f}",
            ]
        )
    env = collect(pin)
    print(
        f"device {env['device']} ({env['device_name']}), {env['threads']} threads, torch "
        f"{env['torch_version']}; LSTM {args.hidden}, window {WINDOW}, batch 1; "
        f"{args.rounds} shuffled rounds × {args.steps} steps per method\n"
    )
    headers = [
        "activation",
        "method",
        "µs/step median",
        "plain loop's step / this step (rounds min–max)",
        "warm-up s (compile incl.)",
    ]
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
    if args.json:
        report = {
            "environment": env,
            "hidden": list(hidden),
            "rounds": args.rounds,
            "steps": args.steps,
            "methods": figures,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
