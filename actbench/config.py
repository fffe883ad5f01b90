"""What a sweep is asked to do: plain values, validated once, saved verbatim in run.json.

Fields left `None` whose default depends on the dataset (`dataset.DEPENDENT`: model,
hidden, batch size, epochs, patience, validation fraction, window) are filled from the
dataset by `resolve()`, so a saved run always holds the values it trained with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from actbench import dataset as datasets
from actbench.errors import ActbenchError

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("interleaved", "sequential")
# Runs saved before schedules and baselines existed trained one trial after another, alone;
# before datasets, on MNIST; before --momentum, SGD had momentum 0.9 (see `from_json`).
BEFORE_SCHEDULES = {"schedule": "sequential", "baseline": None}
BEFORE_DATASETS = {"dataset": "mnist", "window": None}
OLD_SGD_MOMENTUM = 0.9
# Where the data lives and where results go may change when a run is resumed; nothing else.
LOCATION_FIELDS = frozenset(
    {"data_dir", "download", "out", "name", "executor", "ray_address", "jobs"}
)


@dataclass
class SweepConfig:
    activations: list[str] = field(default_factory=lambda: ["relu", "tanh", "sigmoid", "elu"])
    device: str = "auto"
    threads: int | None = None
    cpu_affinity: list[int] | None = None
    deterministic: bool = False
    mode: str = "eager"
    dataset: str = "mnist"
    model: str | None = None  # None: the dataset's default (see dataset.DEPENDENT)
    executor: str = "local"
    schedule: str = "interleaved"
    round_steps: int = 10
    baseline: str | None = "identity"
    ray_address: str | None = None
    hidden: tuple[int, ...] | None = None
    batch_size: int | None = None
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    epochs: int | None = None
    patience: int | None = None
    val_fraction: float | None = None
    window: int | None = None
    train_limit: int | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # intervals over seeds
    jobs: int | None = None  # seed groups at once (worker processes); None: see executor
    warmup_steps: int = 50
    split_seed: int = 0
    data_dir: Path | None = None
    download: bool = True
    out: Path = Path("results")
    name: str | None = None

    def resolve(self) -> dict[str, object]:
        """Fill the unset dataset-dependent fields from the dataset; return what was filled."""
        source = datasets.get(self.dataset)
        filled = {}
        for name in datasets.DEPENDENT:
            if getattr(self, name) is None and source.defaults[name] is not None:
                filled[name] = source.defaults[name]
                setattr(self, name, filled[name])
        if self.hidden is not None:
            self.hidden = tuple(self.hidden)
        return filled

    def validate(self) -> SweepConfig:
        """Reject impossible values before anything is loaded or trained (after `resolve`)."""
        self.resolve()

        def at_least(flag: str, value: float | None, low: float) -> None:
            if value is not None and value < low:
                raise ActbenchError(f"--{flag} must be at least {low}, got {value}")

        at_least("batch-size", self.batch_size, 1)
        at_least("epochs", self.epochs, 1)
        at_least("patience", self.patience, 0)
        at_least("threads", self.threads, 1)
        at_least("jobs", self.jobs, 1)
        at_least("train-limit", self.train_limit, 1)
        at_least("warmup-steps", self.warmup_steps, 0)
        at_least("round-steps", self.round_steps, 1)
        at_least("window", self.window, 1)
        at_least("momentum", self.momentum, 0.0)
        if self.momentum and self.optimizer != "sgd":
            raise ActbenchError(f"--momentum applies to --optimizer sgd, not {self.optimizer}")
        if self.schedule not in SCHEDULES:
            raise ActbenchError(
                f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"
            )
        if not self.lr > 0:
            raise ActbenchError(f"--lr must be positive, got {self.lr}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ActbenchError(
                f"--val-fraction must be between 0 and 1 (exclusive), got {self.val_fraction}"
            )
        if not self.hidden or min(self.hidden) < 1:
            raise ActbenchError(f"--hidden needs positive widths, got {self.hidden}")
        source = datasets.get(self.dataset)
        models = sorted({m for d in datasets.DATASETS.values() for m in d.models})
        if self.model not in models:
            raise ActbenchError(f"--model must be one of {', '.join(models)}, got {self.model!r}")
        source.check(self)
        if self.executor not in ("local", "ray"):
            raise ActbenchError(f"--executor must be local or ray, got {self.executor!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ActbenchError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
        if not self.seeds or min(self.seeds) < 0:
            raise ActbenchError(f"--seeds needs non-negative integers, got {self.seeds}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ActbenchError(f"--seeds names a seed twice: {self.seeds}")
        if self.cpu_affinity is not None and (not self.cpu_affinity or min(self.cpu_affinity) < 0):
            raise ActbenchError(f"--cpu-affinity needs CPU numbers >= 0, got {self.cpu_affinity}")
        if not self.activations:
            raise ActbenchError("--activations is empty")
        if self.name is not None and (
            not self.name or "/" in self.name or self.name in {".", ".."}
        ):
            raise ActbenchError(f"--name must be a plain folder name, got {self.name!r}")
        return self

    @classmethod
    def from_json(cls, d: dict) -> SweepConfig:
        known = {f.name for f in fields(cls)}
        before = {**BEFORE_SCHEDULES, **BEFORE_DATASETS}
        if "momentum" not in d and d.get("optimizer") == "sgd":
            before["momentum"] = OLD_SGD_MOMENTUM
        cfg = cls(**{**before, **{k: v for k, v in d.items() if k in known}})
        cfg.hidden = None if cfg.hidden is None else tuple(cfg.hidden)
        cfg.data_dir = None if cfg.data_dir is None else Path(cfg.data_dir)
        cfg.out = Path(cfg.out)
        return cfg

    def differences(self, other: SweepConfig, only: set[str] | None = None) -> list[str]:
        """`field: self vs other` for every result-relevant field that differs."""
        names = [f.name for f in fields(self) if f.name not in LOCATION_FIELDS]
        return [
            f"{n} {getattr(self, n)} vs {getattr(other, n)}"
            for n in names
            if (only is None or n in only) and getattr(self, n) != getattr(other, n)
        ]

    def to_json(self) -> dict:
        d = asdict(self)
        d["hidden"] = None if self.hidden is None else list(self.hidden)
        d["data_dir"] = None if self.data_dir is None else str(self.data_dir)
        d["out"] = str(self.out)
        return d
