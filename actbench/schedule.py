"""Which trial trains next: one scheduler, two schedules.

A *group* is every trial of one seed that a sweep still has to train, sharing that seed's
shuffled batches (`data.Batches`). The scheduler advances the group's trials round by
round (`trainer.Trial.advance`):

- `interleaved` (default): every round, each unfinished trial trains one block of steps,
  in an order shuffled anew each round. Every activation is then timed in the same
  stretches of time as every other, so a neighbour that slows the machine for a few
  seconds slows them all alike, and per-round ratios cancel it (asv's rounds and Google
  Benchmark's random interleaving do the same for micro-benchmarks).
- `sequential`: each trial trains from start to finish before the next one starts, as
  actbench did before interleaving; the schedule that never switches.

Either way each trial's result is handed back the moment that trial ends, so the sweep
saves it at once, and the weights, losses and accuracies are those of the trial trained
alone (its model, optimizer, batch order and early stopping are its own).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

from actbench import reference
from actbench.activation import Activation
from actbench.config import SCHEDULES
from actbench.data import Batches, DeviceData
from actbench.device import Pinning
from actbench.plan import Plan
from actbench.records import EpochRecord, TrialResult
from actbench.trainer import Trial


def group(
    plan: Plan,
    data: DeviceData,
    acts: Sequence[Activation],
    seed: int,
    pinning: Pinning,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> list[Trial]:
    """The trials of one seed, sharing that seed's shuffled batches and, when interleaved
    (they then start every epoch in the same round), the machine's per-epoch speed reading."""
    batches = Batches(data.x_train, data.y_train, seed)
    lockstep = plan.config.schedule == "interleaved"
    shared = reference.for_plan(plan, data, shared=True) if lockstep else None
    return [Trial(plan, data, a, seed, pinning, batches, on_epoch, reference=shared) for a in acts]


def run(
    trials: Sequence[Trial], schedule: str, seed: int = 0, paced: bool = False
) -> Iterator[TrialResult]:
    """Train `trials` under `schedule`; yield each result as soon as its trial ends. When
    `paced`, the first trial is a pacer (`groups.py`): it is cut short, its rounds so far
    its result, once every other trial has ended."""
    if schedule == "sequential":
        for trial in trials:
            while not trial.advance():
                pass
            yield trial.result()
        return
    if schedule != "interleaved":
        raise ValueError(f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
    order = random.Random(seed)  # a reproducible shuffle; it never changes what is trained
    active = list(trials)
    pacer = trials[0] if paced else None
    while active and active != [pacer]:
        order.shuffle(active)
        for trial in list(active):
            if trial.advance():
                active.remove(trial)
                yield trial.result()
    if pacer in active:
        yield pacer.cut()
