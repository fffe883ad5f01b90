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
    # one block of the step breakdown (`breakdown.py`), µs per step, on the trial's twin
    profile_activation_us: float = float("nan")
    profile_matmul_us: float = float("nan")
    profile_loss_us: float = float("nan")
    profile_optimizer_us: float = float("nan")
    profile_other_us: float = float("nan")
    subnormal_pct: float = float("nan")  # of the weights and optimizer state (`breakdown.py`)
    kernel_us: float = float("nan")  # one round of the kernels alone (`kernels.py`)
    kernel_copy_x: float = float("nan")  # that round's kernels over a copy of their bytes
    kernel_gbs: float = float("nan")  # that round's bytes counted / kernel time, GB/s
    probe_seconds: float = float("nan")  # breakdown block, health probe, kernels' round
    # dead_N, saturated_N, grad_norm_N, dead, saturated, grad_ratio (`health.py`): columns
    health: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict:
        """The history.csv row: the fields, with the health readings as columns of their own."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "health"}
        return row | self.health


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
PROFILE_STEPS = 8  # steps in each block of the breakdown (`breakdown.py`), after its warm-up
SATURATION = 0.01  # health: a derivative below 1 % of the activation's largest is saturated
PROBE_ROWS = 1000  # health: the validation rows the probe reads each time


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
    # where an eager step's time goes: the median over its blocks, one per epoch read
    profile_activation_us: float = float("nan")
    profile_matmul_us: float = float("nan")
    profile_loss_us: float = float("nan")
    profile_optimizer_us: float = float("nan")
    profile_other_us: float = float("nan")
    profile_seconds: float = 0.0  # wall time of every reading (`instruments.py`) and memory
    profile_blocks: int = 0
    subnormal_pct: float = float("nan")  # median over the blocks
    kernel_us: float = float("nan")  # its kernels over identity's, median over the epochs' rounds
    kernel_copy_x: float = float("nan")  # as a multiple of a copy of their bytes, median
    kernel_gbs: float = float("nan")  # the bandwidth they reach, GB/s, median over rounds
    kernel_bytes: float = float("nan")  # bytes forward + backward moves at the least (`floor`)
    # the kernels' time on adversarial inputs over their real ones, once (`kernels.sensitivity`)
    sensitive_negative: float = float("nan")
    sensitive_tiny: float = float("nan")
    sensitive_subnormal: float = float("nan")
    saved_bytes: float = float("nan")  # saved for backward in one step (`memory.py`)
    peak_bytes: float = float("nan")  # one step's peak above what it started with
    dead_first: float = float("nan")  # training health (`health.py`), first and last epoch
    dead_last: float = float("nan")
    saturated_first: float = float("nan")
    saturated_last: float = float("nan")
    grad_ratio_first: float = float("nan")
    grad_ratio_last: float = float("nan")
    test_rmse: float = float("nan")  # a regression's metric, on the normalised scale
    test_rmse_raw: float = float("nan")  # the same in the data's own unit (run.json says which)
    cpu_capability: str = ""  # what torch dispatched in the process that timed it
    flush_denormal: bool | None = None  # whether that process flushed subnormals
    rounds: list[RoundRecord] = field(default_factory=list, repr=False)
    history: list[EpochRecord] = field(default_factory=list, repr=False)
    step_us: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32), repr=False)
    memory: list = field(default_factory=list, repr=False)  # memory.LayerBytes per layer

    def in_group(self, group: int) -> TrialResult:
        """This result stamped with the id of the group that trained it (`groups.Group`:
        one per execution of the run and part of a seed); the trial need not know it."""
        rounds = [replace(r, group=group) for r in self.rounds]
        return replace(self, group=group, rounds=rounds)

    def row(self) -> dict:
        """The trials.csv row: every scalar field, none of the bulky ones."""
        bulky = {"history", "step_us", "rounds", "memory"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in bulky}

    def history_rows(self) -> list[dict]:
        return [r.row() for r in self.history]

    def memory_rows(self) -> list[dict]:
        """memory.csv rows: the bytes each layer is the first to save for backward."""
        keys = {"activation": self.activation, "seed": self.seed}
        return [keys | asdict(layer) for layer in self.memory]

    def round_rows(self) -> list[dict]:
        # thousands of flat records: a copy of each one's fields, not `asdict`'s deep copy
        return [dict(vars(r)) for r in self.rounds]
