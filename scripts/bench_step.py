"""How fast is actbench's step, side by side with what users would otherwise write?

In one process, interleaved round by round (so a noisy neighbour slows every method alike),
this times the seed MLP (784-100-100-100-10, batch 100, Adam lr 1e-3, relu) three ways:

1. the typical tutorial loop: torchvision `MNIST` with `ToTensor` + `Normalize`,
   `DataLoader(batch_size=100, shuffle=True)`, default Adam;
2. actbench's step (`actbench.step`), on resident data, in each requested mode;
3. the compute floor: the step's FLOPs divided by this machine's large-matmul FLOP/s.

It reports the median step time (the timed region only) and the wall time per step (batch
fetch included), the ratios between them, and then runs real sweeps (one seed group at a
time) to compare their wall time with the sum of their timed steps (how much of a sweep is
not training).

    python scripts/bench_step.py                      # eager and compile, then a default sweep
    python scripts/bench_step.py --modes eager --sweep-epochs 5 --json out.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tabulate import tabulate

from actbench import activation, clock, data, device, runner
from actbench.config import SweepConfig
from actbench.environment import collect
from actbench.model import build_mlp
from actbench.step import StepSettings, make_step

HIDDEN, BATCH = (100, 100, 100), 100


def synchronize(dev: torch.device) -> None:
    """Wait for the device's queued work (a no-op on a CPU)."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def step_flops(hidden=HIDDEN, batch=BATCH) -> int:
    """Matmul FLOPs of one step: forward, weight gradients, and input gradients for every
    layer but the first (nothing needs the gradient of the images)."""
    widths = (784, *hidden, 10)
    macs = [a * b for a, b in itertools.pairwise(widths)]
    return 2 * batch * (sum(macs) + sum(macs) + sum(macs[1:]))


def matmul_flops_per_s(dev: torch.device, n: int = 2048, reps: int = 10) -> float:
    """float32 large-matmul rate on `dev`, timed with actbench's clock for that device."""
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    for _ in range(3):
        a @ b
    timer = clock.clock_for(dev)
    for _ in range(reps):
        timer.start()
        a @ b
        timer.stop()
    return 2 * n**3 / (float(np.median(timer.collect())) / 1e6)


class TypicalLoop:
    """What a PyTorch tutorial user writes: a DataLoader over torchvision's MNIST."""

    def __init__(self, root: Path, dev: torch.device) -> None:
        from torchvision import datasets, transforms

        self.dev = dev
        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        self.dataset = datasets.MNIST(str(root), train=True, download=False, transform=tf)
        self.loader = torch.utils.data.DataLoader(self.dataset, batch_size=BATCH, shuffle=True)
        self.model = build_mlp(HIDDEN, activation.resolve("relu"), seed=0).to(dev)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.batches = iter(self.loader)
        self.clock = clock.clock_for(dev)  # the same clock as actbench's, for a fair step time

    def run(self, steps: int) -> tuple[np.ndarray, float]:
        synchronize(self.dev)
        start = time.perf_counter()
        for _ in range(steps):
            try:
                images, labels = next(self.batches)
            except StopIteration:
                self.batches = iter(self.loader)
                images, labels = next(self.batches)
            images, labels = images.to(self.dev), labels.to(self.dev)
            self.clock.start()
            self.optimizer.zero_grad()
            loss = F.cross_entropy(self.model(images.view(-1, 784)), labels)
            loss.backward()
            self.optimizer.step()
            self.clock.stop()
        samples = self.clock.collect()  # synchronises a GPU once
        return samples, (time.perf_counter() - start) / steps * 1e6


class ActbenchLoop:
    """actbench's step on resident data, timed by actbench's own clock."""

    def __init__(
        self,
        dev: torch.device,
        mode: str,
        x: torch.Tensor,
        y: torch.Tensor,
        threads: int | None = None,
    ) -> None:
        self.threads = threads
        model = build_mlp(HIDDEN, activation.resolve("relu"), seed=0).to(dev)
        self.step = make_step(StepSettings(mode, batch_size=BATCH), model, x, y)
        self.clock = clock.clock_for(dev)
        self.batches = data.Batches(x, y, seed=0)  # what a sweep's trials slice batches from
        self.x, self.dev, self.epoch, self.pos = x, dev, 0, 0
        self.loss_sum = torch.zeros((), device=dev)

    def run(self, steps: int) -> tuple[np.ndarray, float]:
        restore = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            return self._run(steps)
        finally:
            torch.set_num_threads(restore)

    def _run(self, steps: int) -> tuple[np.ndarray, float]:
        n_batches = self.x.shape[0] // BATCH
        synchronize(self.dev)
        start = time.perf_counter()
        for _ in range(steps):
            if self.epoch == 0 or self.pos == n_batches:
                self.epoch += 1
                self.xs, self.ys = self.batches.for_epoch(self.epoch)
                self.pos = 0
            batch = slice(self.pos * BATCH, (self.pos + 1) * BATCH)
            self.step.fetch(self.xs[batch], self.ys[batch])
            self.pos += 1
            self.clock.start()
            loss = self.step()
            self.clock.stop()
            self.loss_sum += loss.detach()
        samples = self.clock.collect()  # synchronises a GPU once
        return samples, (time.perf_counter() - start) / steps * 1e6


def sweep_breakdown(wall: float, trials, history) -> dict:
    """Where a sweep's wall time went that was not a timed step, from its own records."""
    timed = float(trials["timed_seconds"].sum())
    in_loops = float(trials["train_seconds"].sum())  # each trial's own time in its loop
    fetch = float(history["fetch_seconds"].sum())
    evaluation = float(history["eval_seconds"].sum())
    profiling = float(trials["profile_seconds"].sum())
    return {
        "wall_seconds": wall,
        "timed_seconds": timed,
        "train_loop_seconds": in_loops,
        "overhead": 1 - timed / wall,
        "share_of_wall": {
            "batch fetch (shuffled copy, slices)": fetch / wall,
            "validation": evaluation / wall,
            "rest of the training loops (reference step, loss, rounds, bookkeeping)": (
                in_loops - timed - fetch - evaluation
            )
            / wall,
            "profiled breakdown": profiling / wall,
            "outside the loops (data, setup, scheduling, test pass, files, plots)": (
                wall - in_loops - profiling
            )
            / wall,
        },
    }


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--modes", default="eager,compile", help="actbench modes to time")
    p.add_argument(
        "--thread-counts",
        default="",
        help="also time actbench eager at these CPU thread counts, e.g. 1,2 (interleaved too)",
    )
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=200, help="timed steps per method per round")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument(
        "--sweep-epochs",
        type=int,
        default=100,
        help="max epochs of the overhead sweep (default: the sweep default)",
    )
    p.add_argument(
        "--sweeps", type=int, default=3, help="default sweeps whose overhead is measured"
    )
    p.add_argument("--skip-sweep", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = p.parse_args()

    pin = device.pin(args.device, args.threads)
    dev = pin.device
    root = args.data_dir or data.default_data_dir()
    mnist = data.load(root, download=False)
    resident = data.prepare(mnist, dev, val_fraction=0.2)
    methods: dict[str, object] = {}
    try:
        methods["typical DataLoader loop"] = TypicalLoop(root, dev)
    except Exception as exc:  # e.g. torchvision that does not match torch
        print(f"typical loop unavailable: {exc}", file=sys.stderr)
    for mode in args.modes.split(","):
        methods[f"actbench {mode}"] = ActbenchLoop(dev, mode, resident.x_train, resident.y_train)
    for n in filter(None, args.thread_counts.split(",")):
        methods[f"actbench eager, {n} thread(s)"] = ActbenchLoop(
            dev, "eager", resident.x_train, resident.y_train, threads=int(n)
        )

    for method in methods.values():  # warm-up (and compilation) outside every measurement
        method.run(args.warmup)
    samples = {name: [] for name in methods}
    walls = {name: [] for name in methods}
    flops = step_flops()
    block_peaks = {name: [] for name in methods}
    for _ in range(args.rounds):
        for name, method in methods.items():
            # the floor is measured right before each block of steps, so that every
            # "x floor" ratio pairs a step time with the machine's speed at that moment
            block_peaks[name].append(matmul_flops_per_s(dev))
            s, wall = method.run(args.steps)
            samples[name].append(s)
            walls[name].append(wall)
    peaks = [p for per_method in block_peaks.values() for p in per_method]
    peak = float(np.median(peaks))
    floor_us = flops / peak * 1e6
    base = "typical DataLoader loop" if "typical DataLoader loop" in methods else None
    rows, figures = [], {}
    for name in methods:
        s = np.concatenate(samples[name])
        med, p25, p75 = np.percentile(s, [50, 25, 75])
        per_round = np.array([np.median(r) for r in samples[name]])
        wall = float(np.median(walls[name]))
        figures[name] = {
            "us_per_step_median": med,
            "p25": p25,
            "p75": p75,
            "wall_us_per_step": wall,
            "round_medians": per_round.tolist(),
        }
        over_floor = per_round / (flops / np.asarray(block_peaks[name]) * 1e6)
        figures[name]["x_floor"] = float(np.median(over_floor))
        row = [
            name,
            f"{med:.1f}",
            f"{p25:.1f}–{p75:.1f}",
            f"{wall:.1f}",
            f"{np.median(over_floor):.2f}× ({over_floor.min():.2f}–{over_floor.max():.2f})",
        ]
        if base:
            # the typical loop's step as a user lives it includes loading the batch, so
            # actbench's median step is set against its wall time per step; also wall
            # against wall, and (for honesty) timed region against timed region
            pairs = list(zip(walls[base], samples[base], walls[name], samples[name], strict=True))
            ratios = {
                "step_speedup": [bw / np.median(s) for bw, _, _, s in pairs],
                "wall_speedup": [bw / w for bw, _, w, _ in pairs],
                "timed_region_speedup": [np.median(bs) / np.median(s) for _, bs, _, s in pairs],
            }
            for key, values in ratios.items():
                figures[name][key] = float(np.median(values))
                row.append(f"{np.median(values):.2f}× ({min(values):.2f}–{max(values):.2f})")
        rows.append(row)
    rows.append(["compute floor", f"{floor_us:.1f}", "", "", "1.00×"] + ([""] * 3 if base else []))
    headers = [
        "method",
        "µs/step median",
        "IQR",
        "wall µs/step (fetch incl.)",
        "× floor (rounds min–max)",
    ]
    if base:
        headers += [
            "typical wall / this step",
            "typical wall / this wall",
            "typical step / this step (timed regions)",
        ]
    env = collect(pin)
    print(
        f"device {env['device']} ({env['device_name']}), {env['threads']} threads, "
        f"torch {env['torch_version']}; {args.rounds} interleaved rounds × {args.steps} steps"
    )
    print(
        f"step: {flops / 1e6:.1f} MFLOP; large matmul: {peak / 1e9:.1f} GFLOP/s (median of rounds, "
        f"{min(peaks) / 1e9:.0f}–{max(peaks) / 1e9:.0f}); floor {floor_us:.1f} µs/step\n"
    )
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))

    report = {
        "environment": env,
        "step_mflop": flops / 1e6,
        "matmul_gflops": peak / 1e9,
        "floor_us": floor_us,
        "methods": figures,
    }
    if not args.skip_sweep:
        # several sweeps, because the machine's speed changes the share: fixed costs weigh
        # more when the steps run fast
        sweeps = []
        for _ in range(args.sweeps):
            with tempfile.TemporaryDirectory() as out:
                cfg = SweepConfig(  # one group at a time: each share is of one core's time
                    device=args.device,
                    threads=args.threads,
                    jobs=1,
                    epochs=args.sweep_epochs,
                    data_dir=root,
                    download=False,
                    out=Path(out),
                    name="overhead",
                )
                t0 = time.perf_counter()
                outcome = runner.run(cfg, quiet=True)
                wall = time.perf_counter() - t0
                trials = outcome.folder.trials()
                sweeps.append(sweep_breakdown(wall, trials, outcome.folder.history()))
            parts = sweeps[-1]["share_of_wall"]
            print(
                f"\nsweep ({', '.join(trials['activation'])}; {int(trials['epochs'].sum())} "
                f"epochs): wall {wall:.1f} s, timed steps {sweeps[-1]['timed_seconds']:.1f} s, "
                f"overhead {100 * sweeps[-1]['overhead']:.1f}% of wall: "
                + ", ".join(f"{name} {100 * share:.1f}%" for name, share in parts.items())
            )
        overheads = [s["overhead"] for s in sweeps]
        report["sweep"] = {
            "overhead_median": float(np.median(overheads)),
            "overhead_range": [min(overheads), max(overheads)],
            "runs": sweeps,
        }
        print(
            f"\nsweep overhead over {len(sweeps)} sweeps: median "
            f"{100 * np.median(overheads):.1f}% (range {100 * min(overheads):.1f}-"
            f"{100 * max(overheads):.1f}%)"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
