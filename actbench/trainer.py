"""One trial: train the model with one activation and one seed, timing every step.

A *step* (see `step.py`) is zero_grad + forward + loss + backward + optimizer step on one
batch that is already on the device. Fetching the batch (a slice of the epoch's shuffled
copy, see `data.Batches`), accumulating the loss, evaluation, early-stopping bookkeeping
and the profiled breakdown (`breakdown.py`) all happen outside the timed region. The loss
is accumulated on the device and read once per epoch, so the hot loop never waits for the
host.
"""

from __future__ import annotations

import math
import socket
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from actbench import breakdown, dataset, timing
from actbench.activation import Activation, resolve
from actbench.config import SweepConfig
from actbench.data import Batches, DeviceData
from actbench.device import Pinning
from actbench.model import build
from actbench.records import EpochRecord, RoundRecord, TrialResult
from actbench.step import Step, make_step

EpochCallback = Callable[[EpochRecord], None]


def reference_step(cfg: SweepConfig, data: DeviceData, shared: bool = False) -> timing.Reference:
    """The machine-speed reading for a run: its own model with the baseline's activation
    (identity without one), fixed weights, on a fixed batch of the run's shape."""
    model = build(cfg.model, cfg.hidden, resolve(cfg.baseline or "identity"), seed=0)
    size = min(cfg.batch_size, data.x_train.shape[0])
    x, y = data.x_train[:size].clone(), data.y_train[:size].clone()
    loss = dataset.get(cfg.dataset).task.loss
    return timing.Reference(model.to(x.device), x, y, loss, shared)


def reference_description(cfg: SweepConfig) -> str:
    """What `reference_step` times, in words, for run.json: two runs' reference readings
    compare only when this matches."""
    widths = "" if cfg.model == "cnn" else "-".join(map(str, cfg.hidden))
    model = f"{cfg.model} {widths}".strip()
    return f"{model}, {cfg.baseline or 'identity'}, batch {cfg.batch_size}, forward+backward"


class Trial:
    """One (activation, seed) trial that trains round by round.

    `advance()` trains one round: the next block of `cfg.round_steps` steps (never past the
    end of an epoch), plus the epoch's validation and early-stopping check when the block
    ends an epoch. A scheduler (`schedule.py`) decides which trial advances next; a trial
    trained alone gives exactly the same weights, losses and accuracy, because it owns its
    model, optimizer and early stopping, and its batches come from its seed.
    """

    def __init__(
        self,
        data: DeviceData,
        activation: Activation,
        seed: int,
        cfg: SweepConfig,
        pinning: Pinning,
        batches: Batches | None = None,
        group: int = 0,
        on_epoch: EpochCallback | None = None,
        reference: timing.Reference | None = None,
    ) -> None:
        self.activation, self.seed, self.group = activation, seed, group
        self.cfg, self.pinning, self.data, self.on_epoch = cfg, pinning, data, on_epoch
        self.batches = batches or Batches(data.x_train, data.y_train, seed)
        self.reference = reference or reference_step(cfg, data)
        self.task = dataset.get(cfg.dataset).task  # its loss to train on, its metric to test
        if data.x_train.shape[0] < cfg.batch_size:
            raise ValueError(
                f"training split of {data.x_train.shape[0]} is smaller than one batch "
                f"of {cfg.batch_size}"
            )
        # built now, not in the first round: every trial of a group is set up (a compiled
        # step resets dynamo's caches) before any of them compiles or trains
        model = build(cfg.model, cfg.hidden, activation, seed).to(pinning.device)
        setup_start = time.perf_counter()
        step = make_step(
            cfg.mode,
            model,
            cfg.optimizer,
            cfg.lr,
            data.x_train,
            data.y_train,
            cfg.batch_size,
            self.task.loss,
            cfg.momentum,
        )
        setup_seconds = time.perf_counter() - setup_start  # CUDA graph capture, if any
        self._rounds = self._train(model, step, setup_seconds)
        self._result: TrialResult | None = None

    @property
    def done(self) -> bool:
        return self._result is not None

    def advance(self) -> bool:
        """Train one round; True once the trial has finished (then `result()` is ready)."""
        if self._result is None:
            try:
                next(self._rounds)
            except StopIteration as finished:
                self._result = finished.value
        return self._result is not None

    def result(self) -> TrialResult:
        if self._result is None:
            raise RuntimeError("the trial has not finished")
        return self._result

    def _train(self, model: nn.Module, step: Step, setup_seconds: float) -> Iterator[None]:
        """The training loop, top to bottom; it yields after every round of steps."""
        cfg, data, device, task = self.cfg, self.data, self.pinning.device, self.task
        metric = task.metric
        bs = cfg.batch_size
        n_batches = data.x_train.shape[0] // bs  # full batches only: every step does the same work
        clock = timing.clock_for(device)

        best_val, best_epoch, best_state = math.inf, 0, None
        history: list[EpochRecord] = []
        step_chunks: list[np.ndarray] = []
        blocks: list[tuple[int, float, int, int]] = []  # (epoch, start, first step, steps)
        diverged_epoch = None
        busy, resumed = 0.0, time.perf_counter()  # this trial's own time, not its neighbours'

        for epoch in range(1, cfg.epochs + 1):
            reference_us = self.reference.at_epoch(epoch)
            epoch_start = time.perf_counter()
            fetch_start = time.perf_counter_ns()
            xs, ys = self.batches.for_epoch(epoch)
            x_batches, y_batches = xs.split(bs), ys.split(bs)  # views, made in one call each
            fetch_ns = time.perf_counter_ns() - fetch_start
            losses: list[torch.Tensor] = []  # summed on the device once the epoch ends
            for b in range(n_batches):
                if b % cfg.round_steps == 0:
                    if b:
                        busy += time.perf_counter() - resumed
                        yield  # the round ends: another trial may run its block now
                        resumed = time.perf_counter()
                    first = (epoch - 1) * n_batches + b
                    blocks.append((epoch, time.time(), first, min(cfg.round_steps, n_batches - b)))
                fetch_start = time.perf_counter_ns()
                step.fetch(x_batches[b], y_batches[b])
                fetch_ns += time.perf_counter_ns() - fetch_start
                clock.start()
                loss = step()
                clock.stop()
                losses.append(step.keep(loss))
            epoch_us = clock.collect()
            step_chunks.append(epoch_us)
            train_loss = torch.stack(losses).sum().item() / n_batches
            eval_start = time.perf_counter()
            with self.pinning.untimed():
                val_loss, val_score = task.evaluate(model, data.x_val, data.y_val)
            eval_seconds = time.perf_counter() - eval_start
            record = EpochRecord(
                activation=self.activation.name,
                seed=self.seed,
                epoch=epoch,
                train_loss=train_loss,
                val_loss=val_loss,
                **{"val_accuracy": math.nan, metric.val_column: val_score},
                epoch_seconds=time.perf_counter() - epoch_start,  # neighbours' rounds included
                us_per_step_median=float(np.median(epoch_us)),
                reference_us=reference_us,
                steps_seconds=float(epoch_us.sum()) / 1e6,
                fetch_seconds=fetch_ns / 1e9,
                eval_seconds=eval_seconds,
            )
            history.append(record)
            if self.on_epoch is not None:
                self.on_epoch(record)
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                diverged_epoch = epoch
                break
            if val_loss < best_val:
                best_val, best_epoch = val_loss, epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elif cfg.patience and epoch - best_epoch >= cfg.patience:
                break
            if epoch < cfg.epochs:
                busy += time.perf_counter() - resumed
                yield  # the last round of this epoch ends
                resumed = time.perf_counter()
        train_seconds = busy + time.perf_counter() - resumed

        if best_state is not None:  # early stopping: test the best-validation weights
            model.load_state_dict(best_state)
        if diverged_epoch is not None and best_state is None:
            test_loss, test_score = math.nan, math.nan
        else:
            with self.pinning.untimed():
                test_loss, test_score = task.evaluate(model, data.x_test, data.y_test)
        scores = {"test_accuracy": math.nan, metric.column: test_score}
        if metric.raw_column:  # e.g. RMSE in thousands of passengers, not on the 0-1 scale
            scores[metric.raw_column] = test_score * data.target_scale
        profile_start = time.perf_counter()
        parts = breakdown.measure(
            cfg.model,
            cfg.hidden,
            self.activation,
            cfg.optimizer,
            cfg.lr,
            xs,
            ys,
            bs,
            task.loss,
            cfg.momentum,
        )
        profile_seconds = time.perf_counter() - profile_start

        all_us = np.concatenate(step_chunks) if step_chunks else np.empty(0)
        # a compiled step's first call is compilation: never part of the statistics
        # and a short trial (a quick run, a divergence) keeps at least half its steps timed
        warmup_wanted = max(cfg.warmup_steps, 1 if cfg.mode == "compile" else 0)
        warmup = min(warmup_wanted, max(all_us.size // 2, 1 if cfg.mode == "compile" else 0))
        timed = all_us[warmup:]
        stats = timing.StepStats.of(timed)
        compile_seconds = (
            max(float(all_us[0]) - stats.median, 0.0) / 1e6 if cfg.mode == "compile" else 0.0
        )
        return TrialResult(
            activation=self.activation.name,
            seed=self.seed,
            device=str(device),
            device_name=self.pinning.device_name,
            threads=self.pinning.threads,
            cpu_affinity=self.pinning.cpu_affinity,
            deterministic=self.pinning.deterministic,
            mode=cfg.mode,
            model=cfg.model,
            host=socket.gethostname(),
            **scores,
            test_loss=test_loss,
            best_val_loss=best_val,
            best_epoch=best_epoch,
            epochs=len(history),
            steps=int(all_us.size),
            warmup_steps=warmup,
            us_per_step_median=stats.median,
            us_per_step_p25=stats.p25,
            us_per_step_p75=stats.p75,
            us_per_step_mean=stats.mean,
            us_per_step_std=stats.std,
            timed_seconds=float(all_us.sum()) / 1e6,
            compile_seconds=compile_seconds + setup_seconds,
            train_seconds=train_seconds,
            diverged=diverged_epoch is not None,
            diverged_epoch=diverged_epoch,
            group=self.group,
            slow_steps=stats.slow_steps,
            **{f"profile_{part}_us": us for part, us in parts.items()},
            profile_seconds=profile_seconds,
            rounds=self._round_records(blocks, all_us, warmup),
            history=history,
            step_us=timed.astype(np.float32),
        )

    def _round_records(
        self, blocks: list[tuple[int, float, int, int]], all_us: np.ndarray, warmup: int
    ) -> list[RoundRecord]:
        """One record per round that holds timed steps: its block's median step time."""
        records, steps = [], all_us.tolist()  # thousands of 10-step medians: plain floats
        for index, (epoch, start, first, size) in enumerate(blocks):
            block = steps[max(first, warmup) : first + size]
            if block:
                records.append(
                    RoundRecord(
                        activation=self.activation.name,
                        seed=self.seed,
                        group=self.group,
                        round=index,
                        epoch=epoch,
                        start_seconds=start,
                        steps=len(block),
                        us_median=statistics.median(block),
                    )
                )
        return records


def train_trial(
    data: DeviceData,
    activation: Activation,
    seed: int,
    cfg: SweepConfig,
    pinning: Pinning,
    on_epoch: EpochCallback | None = None,
) -> TrialResult:
    """Train one trial alone, start to finish."""
    trial = Trial(data, activation, seed, cfg, pinning, on_epoch=on_epoch)
    while not trial.advance():
        pass
    return trial.result()
