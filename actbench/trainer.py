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
from dataclasses import dataclass, field

import numpy as np
import torch

from actbench.activation import Activation
from actbench.clock import clock_for
from actbench.data import Batches, DeviceData
from actbench.device import Pinning
from actbench.disturbance import StepStats
from actbench.instruments import Instruments
from actbench.plan import Plan
from actbench.records import EpochRecord, RoundRecord, TrialResult
from actbench.reference import Reference, for_plan
from actbench.step import Step, make_step

EpochCallback = Callable[[EpochRecord], None]


@dataclass
class _Block:
    """One round's block of steps: where it starts in the trial's step times."""

    epoch: int
    start_seconds: float  # wall clock, for the timeline
    first: int
    steps: int


@dataclass
class _Log:
    """What a trial has learnt about itself so far."""

    history: list[EpochRecord] = field(default_factory=list)
    step_chunks: list[np.ndarray] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)
    best_val: float = math.inf
    best_epoch: int = 0
    best_state: dict | None = None
    diverged_epoch: int | None = None
    busy_seconds: float = 0.0  # this trial's own time, not its neighbours'

    def step_us(self) -> np.ndarray:
        return np.concatenate(self.step_chunks) if self.step_chunks else np.empty(0)


class Trial:
    """One (activation, seed) trial that trains round by round.

    `advance()` trains one round: the next block of `round_steps` steps (never past the end
    of an epoch), plus the epoch's validation and early-stopping check when the block ends
    an epoch. A scheduler (`schedule.py`) decides which trial advances next; a trial trained
    alone gives exactly the same weights, losses and accuracy, because it owns its model,
    optimizer and early stopping, and its batches come from its seed.
    """

    def __init__(
        self,
        plan: Plan,
        data: DeviceData,
        activation: Activation,
        seed: int,
        pinning: Pinning,
        batches: Batches | None = None,
        on_epoch: EpochCallback | None = None,
        reference: Reference | None = None,
    ) -> None:
        self.plan, self.data, self.activation, self.seed = plan, data, activation, seed
        self.pinning, self.on_epoch = pinning, on_epoch
        self.batches = batches or Batches(data.x_train, data.y_train, seed)
        self.reference = reference or for_plan(plan, data)  # the machine-speed reading
        # built now, not in the first round: every trial of a group is set up (a compiled
        # step resets dynamo's caches) before any of them compiles or trains
        self.model = plan.network.build(activation, seed).to(pinning.device)
        setup_start = time.perf_counter()
        self.step: Step = make_step(plan.step, self.model, data.x_train, data.y_train)
        self.setup_seconds = time.perf_counter() - setup_start  # CUDA graph capture, if any
        self.instruments = Instruments(plan, data, activation, self.model, pinning.threads)
        self.log = _Log()
        self._waited = 0.0  # seconds spent yielded to other trials
        self._last_epoch: tuple[torch.Tensor, torch.Tensor] = (data.x_train, data.y_train)
        self._rounds = self._train()
        self._result: TrialResult | None = None

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

    def cut(self) -> TrialResult:
        """The result of a pacer stopped early: its step times and rounds so far (no test
        pass, no final readings: only its rounds are kept)."""
        if self._result is None:
            self._rounds.close()
            self._result = self._finish({"test_loss": math.nan, "test_accuracy": math.nan}, {}, 0.0)
        return self._result

    # -- the loop, as a sequence of named steps ---------------------------------------------
    def _train(self) -> Iterator[None]:
        """Epoch after epoch: its rounds, its validation and readings, the stopping rule;
        then the test pass, memory and the result. Yields after every round."""
        started = time.perf_counter()
        for epoch in range(1, self.plan.config.epochs + 1):
            reference_us = self.reference.at_epoch(epoch)
            epoch_start = time.perf_counter()
            train_loss, fetch_ns = yield from self._epoch(epoch)
            record = self._validate(epoch, train_loss, reference_us, epoch_start, fetch_ns)
            if self._stops(epoch, record):
                break
            if epoch < self.plan.config.epochs:
                yield from self._pause()  # the last round of this epoch ends
        self.log.busy_seconds = time.perf_counter() - started - self._waited
        scores = self._test()
        final_start = time.perf_counter()
        readings = self.instruments.final(*self._last_epoch)
        probes = math.fsum(r.probe_seconds for r in self.log.history if r.probe_seconds > 0)
        return self._finish(scores, readings, probes + time.perf_counter() - final_start)

    def _pause(self) -> Iterator[None]:
        """End a round: another trial may run its block now (its time is not ours)."""
        paused = time.perf_counter()
        yield
        self._waited += time.perf_counter() - paused

    def _epoch(self, epoch: int) -> Iterator[None]:
        """Train one epoch in rounds of `round_steps` steps, timing each step; return the
        mean training loss and the nanoseconds spent fetching batches."""
        bs, round_steps = self.plan.config.batch_size, self.plan.config.round_steps
        n_batches = self.data.x_train.shape[0] // bs  # full batches: every step does equal work
        clock = clock_for(self.pinning.device)
        fetch_start = time.perf_counter_ns()
        xs, ys = self.batches.for_epoch(epoch)
        self._last_epoch = xs, ys  # the breakdown's and memory's batches
        x_batches, y_batches = xs.split(bs), ys.split(bs)  # views, made in one call each
        fetch_ns = time.perf_counter_ns() - fetch_start
        losses: list[torch.Tensor] = []  # summed on the device once the epoch ends
        for b in range(n_batches):
            if b % round_steps == 0:
                if b:
                    yield from self._pause()
                first = (epoch - 1) * n_batches + b
                steps = min(round_steps, n_batches - b)
                self.log.blocks.append(_Block(epoch, time.time(), first, steps))
            fetch_start = time.perf_counter_ns()
            self.step.fetch(x_batches[b], y_batches[b])
            fetch_ns += time.perf_counter_ns() - fetch_start
            clock.start()
            loss = self.step()
            clock.stop()
            losses.append(self.step.keep(loss))
        self.log.step_chunks.append(clock.collect())
        return torch.stack(losses).sum().item() / n_batches, fetch_ns

    def _validate(
        self, epoch: int, train_loss: float, reference_us: float, start: float, fetch_ns: int
    ) -> EpochRecord:
        """The epoch's validation pass and readings (untimed) and its record, handed to
        `on_epoch`."""
        metric, epoch_us = self.plan.metric, self.log.step_chunks[-1]
        eval_start = time.perf_counter()
        with self.pinning.untimed():
            val_loss, val_score = self.plan.task.evaluate(
                self.model, self.data.x_val, self.data.y_val
            )
        # read before the epoch's end, so that its parts never add up to more than the epoch
        eval_seconds = time.perf_counter() - eval_start
        readings = self.instruments.epoch(epoch, *self._last_epoch, self.step)
        record = EpochRecord(
            activation=self.activation.name,
            seed=self.seed,
            epoch=epoch,
            train_loss=train_loss,
            val_loss=val_loss,
            **{"val_accuracy": math.nan, metric.val_column: val_score},
            epoch_seconds=time.perf_counter() - start,  # neighbours' rounds included
            us_per_step_median=float(np.median(epoch_us)),
            reference_us=reference_us,
            steps_seconds=float(epoch_us.sum()) / 1e6,
            fetch_seconds=fetch_ns / 1e9,
            eval_seconds=eval_seconds,
            **readings,
        )
        self.log.history.append(record)
        if self.on_epoch is not None:
            self.on_epoch(record)
        return record

    def _stops(self, epoch: int, record: EpochRecord) -> bool:
        """Divergence ends a trial; so does `patience` epochs without a better validation
        loss. The best-validation weights are kept for the test pass."""
        log = self.log
        if not (math.isfinite(record.train_loss) and math.isfinite(record.val_loss)):
            log.diverged_epoch = epoch
            return True
        if record.val_loss < log.best_val:
            log.best_val, log.best_epoch = record.val_loss, epoch
            log.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            return False
        patience = self.plan.config.patience
        return bool(patience) and epoch - log.best_epoch >= patience

    def _test(self) -> dict[str, float]:
        """The test pass on the best-validation weights (untimed): loss and scores."""
        log, metric = self.log, self.plan.metric
        if log.best_state is not None:  # early stopping: test the best-validation weights
            self.model.load_state_dict(log.best_state)
        if log.diverged_epoch is not None and log.best_state is None:
            test_loss, test_score = math.nan, math.nan
        else:
            with self.pinning.untimed():
                test_loss, test_score = self.plan.task.evaluate(
                    self.model, self.data.x_test, self.data.y_test
                )
        scores = {"test_loss": test_loss, "test_accuracy": math.nan, metric.column: test_score}
        if metric.raw_column:  # e.g. RMSE in thousands of passengers, not on the 0-1 scale
            scores[metric.raw_column] = test_score * self.data.target_scale
        return scores

    def _finish(
        self, scores: dict[str, float], readings: dict, profile_seconds: float
    ) -> TrialResult:
        """The trial's record: its scores, its step-time statistics after warm-up, its
        readings (`instruments.py`), its rounds and history."""
        config, log, pinning = self.plan.config, self.log, self.pinning
        all_us = log.step_us()
        warmup = self._warmup(all_us.size)
        timed = all_us[warmup:]
        stats = StepStats.of(timed)
        compiling = config.mode == "compile"
        compile_seconds = max(float(all_us[0]) - stats.median, 0.0) / 1e6 if compiling else 0.0
        return TrialResult(
            activation=self.activation.name,
            seed=self.seed,
            device=str(pinning.device),
            device_name=pinning.device_name,
            threads=pinning.threads,
            cpu_affinity=pinning.cpu_affinity,
            deterministic=pinning.deterministic,
            mode=config.mode,
            model=config.model,
            host=socket.gethostname(),
            **scores,
            best_val_loss=log.best_val,
            best_epoch=log.best_epoch,
            epochs=len(log.history),
            steps=int(all_us.size),
            warmup_steps=warmup,
            us_per_step_median=stats.median,
            us_per_step_p25=stats.p25,
            us_per_step_p75=stats.p75,
            us_per_step_mean=stats.mean,
            us_per_step_std=stats.std,
            timed_seconds=float(all_us.sum()) / 1e6,
            compile_seconds=compile_seconds + self.setup_seconds,
            train_seconds=log.busy_seconds,
            diverged=log.diverged_epoch is not None,
            diverged_epoch=log.diverged_epoch,
            slow_steps=stats.slow_steps,
            **readings,
            profile_seconds=profile_seconds,
            rounds=self._round_records(all_us, warmup),
            history=log.history,
            step_us=timed.astype(np.float32),
        )

    def _warmup(self, steps: int) -> int:
        """Steps left out of the statistics: a compiled step's first call is compilation,
        and a short trial (a quick run, a divergence) keeps at least half its steps."""
        compiling = int(self.plan.config.mode == "compile")
        wanted = max(self.plan.config.warmup_steps, compiling)
        return min(wanted, max(steps // 2, compiling))

    def _round_records(self, all_us: np.ndarray, warmup: int) -> list[RoundRecord]:
        """One record per round that holds timed steps: its block's median step time."""
        records, steps = [], all_us.tolist()  # thousands of 10-step medians: plain floats
        for index, block in enumerate(self.log.blocks):
            timed = steps[max(block.first, warmup) : block.first + block.steps]
            if timed:
                records.append(
                    RoundRecord(
                        activation=self.activation.name,
                        seed=self.seed,
                        group=0,  # its group's id is stamped on it (`TrialResult.in_group`)
                        round=index,
                        epoch=block.epoch,
                        start_seconds=block.start_seconds,
                        steps=len(timed),
                        us_median=statistics.median(timed),
                    )
                )
        return records
