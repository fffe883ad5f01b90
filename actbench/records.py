"""Result records: the seam between measuring (trainer) and reporting (tables, compare, plots).

Plain dataclasses that become CSV rows; nothing downstream imports the trainer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np


@dataclass
class EpochRecord:
    """One row of history.csv."""

    activation: str
    seed: int
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float  # NaN where the dataset's metric is another (task.Metric.val_column)
    epoch_seconds: float
    us_per_step_median: float
    reference_us: float  # the machine's own speed at the start of this epoch (reference.Reference)
    # where the epoch's wall time went: what is not a timed step is the sweep's overhead
    steps_seconds: float = float("nan")  # sum of this epoch's timed steps
    fetch_seconds: float = float("nan")  # gathering batches into the step's buffers
    eval_seconds: float = float("nan")  # the validation pass
    val_rmse: float = float("nan")  # a regression's metric (NaN for classifiers)


@dataclass
class RoundRecord:
    """One round of one trial: a block of consecutive steps (one row of rounds.csv).

    Under the interleaved schedule, round r of every trial of a group (one seed) ran in the
    same stretch of time, so per-round ratios between two trials cancel the machine's drift.
    """

    activation: str
    seed: int
    group: int  # which execution of the seed's group: 0 for the run, k for its k-th resume
    round: int
    epoch: int
    start_seconds: float  # wall clock (time.time) when the block started
    steps: int  # timed steps in the block (warm-up steps are not part of any round)
    us_median: float


PROFILE_PARTS = ("activation", "matmul", "loss", "optimizer", "other")
PROFILE_STEPS = 8  # steps in a trial's profiled block (`breakdown.py`), after its warm-up


@dataclass
class TrialResult:
    """One (activation, seed) trial: one row of trials.csv plus its raw step times."""

    activation: str
    seed: int
    device: str
    device_name: str
    threads: int
    cpu_affinity: str
    deterministic: bool
    mode: str
    model: str
    host: str
    test_accuracy: float  # NaN where the dataset's metric is another (task.Metric.column)
    test_loss: float
    best_val_loss: float
    best_epoch: int
    epochs: int
    steps: int
    warmup_steps: int
    us_per_step_median: float
    us_per_step_p25: float
    us_per_step_p75: float
    us_per_step_mean: float
    us_per_step_std: float
    timed_seconds: float
    compile_seconds: float
    train_seconds: float
    diverged: bool
    diverged_epoch: int | None
    group: int = 0
    slow_steps: int = 0  # timed steps over disturbance.SLOW_FACTOR x the median: the tail
    # where an eager step's time goes (torch.profiler, a separate short block of steps)
    profile_activation_us: float = float("nan")
    profile_matmul_us: float = float("nan")
    profile_loss_us: float = float("nan")
    profile_optimizer_us: float = float("nan")
    profile_other_us: float = float("nan")
    profile_seconds: float = 0.0  # wall time of the profiled block, setup included
    test_rmse: float = float("nan")  # a regression's metric, on the normalised scale
    test_rmse_raw: float = float("nan")  # the same in the data's own unit (run.json says which)
    rounds: list[RoundRecord] = field(default_factory=list, repr=False)
    history: list[EpochRecord] = field(default_factory=list, repr=False)
    step_us: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32), repr=False)

    def in_group(self, group: int) -> TrialResult:
        """This result stamped with the execution that trained it (0: the run, k: its k-th
        resume): the parent knows which, the trial need not."""
        rounds = [replace(r, group=group) for r in self.rounds]
        return replace(self, group=group, rounds=rounds)

    def row(self) -> dict:
        """The trials.csv row: every scalar field, none of the bulky ones."""
        bulky = {"history", "step_us", "rounds"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in bulky}

    def history_rows(self) -> list[dict]:
        return [asdict(r) for r in self.history]

    def round_rows(self) -> list[dict]:
        # thousands of flat records: a copy of each one's fields, not `asdict`'s deep copy
        return [dict(vars(r)) for r in self.rounds]
