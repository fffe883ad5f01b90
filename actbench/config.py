"""What a sweep is asked to do: plain, immutable values, as the CLI's flags and the API's
arguments give them and as run.json saves them.

This module only holds values; `plan.build` checks them, fills the fields left `None`
whose default depends on the dataset (`DEPENDENT`), resolves the names, and returns the
`Plan` that every layer reads. A saved run's config is a resolved `SweepConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

CAPABILITY_VAR = "ATEN_CPU_CAPABILITY"  # what `--cpu-capability` sets in a worker's environment


def capability_env(name: str | None) -> dict[str, str]:
    """The environment variables that make a fresh process dispatch `name` ({} for none):
    torch reads it once, as it starts."""
    return {} if name is None else {CAPABILITY_VAR: name}


OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("interleaved", "sequential")
EXECUTORS = ("local", "ray")
MODES = ("eager", "compile", "cuda-graph")
# fields whose default depends on the dataset (None there means "the dataset's default")
DEPENDENT = ("model", "hidden", "batch_size", "epochs", "patience", "val_fraction", "window")
# Where the data lives and where results go may change when a run is resumed; nothing else.
LOCATION_FIELDS = frozenset(
    {"data_dir", "download", "out", "name", "executor", "ray_address", "jobs"}
)
_TUPLES = ("activations", "seeds", "cpu_affinity", "hidden")
PINS = ("cpu_capability", "flush_denormal")  # what the worker processes are pinned to
# The vocabularies, as plain names: `--help` and argument errors answer from these without
# importing torch (activation.BUILTINS, model.MODELS and dataset.DATASETS hold the objects;
# a test keeps the names equal).
DEVICE_CHOICES = "auto|cpu|cuda|cuda:N|mps"
DEFAULT_MAX_SEEDS = 10  # --precision: the most seeds its second stage may bring a run to
DEFAULT_TOLERANCE = 0.03  # compare: "same" speed within ± 3 %
# A user's runs, beside their work (as MLflow's mlruns/ and pytest-benchmark's .benchmarks/);
# this repository's examples live in results/, apart from them.
DEFAULT_OUT = Path("actbench-runs")
DEFAULT_SITE = Path("actbench-report")  # report: where the HTML site goes
MODELS = ("mlp", "mlp-linear-last", "cnn", "lstm")
ACTIVATIONS = (
    "identity", "relu", "tanh", "sigmoid", "elu", "gelu", "silu", "leaky_relu", "selu",
    "softplus", "mish", "hardswish", "celu", "relu6", "prelu", "softsign", "hardtanh",
)  # fmt: skip
IMAGE_DEFAULTS: dict[str, object] = {
    "model": "mlp",
    "hidden": (100, 100, 100),
    "batch_size": 100,
    "epochs": 100,
    "patience": 10,
    "val_fraction": 0.2,
    "window": None,
}
SERIES_DEFAULTS: dict[str, object] = {  # the airline article's LSTM
    "model": "lstm",
    "hidden": (6,),
    "batch_size": 1,
    "epochs": 150,
    "patience": 0,
    "val_fraction": 0.1,
    "window": 10,
}
USER_DEFAULTS: dict[str, object] = {  # a user's loader: MNIST's settings, no network implied
    **IMAGE_DEFAULTS,
    "model": None,
    "hidden": None,
}
TASKS = ("classification", "regression")
DATASETS = {  # name: (models that fit it, its defaults)
    "mnist": (("mlp", "mlp-linear-last", "cnn"), IMAGE_DEFAULTS),
    "fashion-mnist": (("mlp", "mlp-linear-last", "cnn"), IMAGE_DEFAULTS),
    "kmnist": (("mlp", "mlp-linear-last", "cnn"), IMAGE_DEFAULTS),
    "airline": (("lstm",), SERIES_DEFAULTS),
}


def default_text(field_name: str, show=str) -> str:
    """'mnist, fashion-mnist, kmnist: 100; airline: 150': a dependent default, for --help."""
    by_value: dict[str, list[str]] = {}
    for name, (_, defaults) in DATASETS.items():
        value = defaults[field_name]
        by_value.setdefault("none" if value is None else show(value), []).append(name)
    return "; ".join(f"{', '.join(names)}: {value}" for value, names in by_value.items())


@dataclass(frozen=True)
class SweepConfig:
    activations: tuple[str, ...] = ("relu", "tanh", "sigmoid", "elu")
    device: str = "auto"
    threads: int | None = None
    cpu_affinity: tuple[int, ...] | None = None
    deterministic: bool = False
    cpu_capability: str | None = None  # ATEN_CPU_CAPABILITY of the workers; None: torch's own
    flush_denormal: bool = False  # the workers flush subnormal floats to zero
    mode: str = "eager"
    dataset: str = "mnist"  # or a user's loader: FILE.py:NAME, package.module:NAME
    model: str | None = None  # None: the dataset's default (see DEPENDENT); or a factory's spec
    task: str | None = None  # a user's dataset: None follows its labels
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
    seeds: tuple[int, ...] = (0, 1, 2)  # intervals over seeds
    # --precision: the cost half-width asked for (points of cost %), met by adding seeds
    # (Stein's two stages, `precision.py`) up to `max_seeds` in all; None: the seeds as given
    precision: float | None = None
    max_seeds: int = DEFAULT_MAX_SEEDS
    jobs: int | None = None  # seed groups at once (worker processes); None: see executor
    warmup_steps: int = 50
    split_seed: int = 0
    data_dir: Path | None = None
    download: bool = True
    out: Path = DEFAULT_OUT
    name: str | None = None

    def __post_init__(self) -> None:
        """Lists as tuples, so that a config is a value (equal when its values are)."""
        for name in _TUPLES:
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name in ("data_dir", "out"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value))

    @classmethod
    def from_json(cls, d: dict) -> SweepConfig:
        """A saved config (upgraded by `schema.upgrade`); keys this version does not know
        are left out."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_json(self) -> dict:
        d = asdict(self)
        for name in _TUPLES:
            d[name] = None if d[name] is None else list(d[name])
        d["data_dir"] = None if self.data_dir is None else str(self.data_dir)
        d["out"] = str(self.out)
        return d

    def differences(self, other: SweepConfig, only: set[str] | None = None) -> list[str]:
        """`field: self vs other` for every result-relevant field that differs."""
        names = [f.name for f in fields(self) if f.name not in LOCATION_FIELDS]
        return [
            f"{n} {_shown(getattr(self, n))} vs {_shown(getattr(other, n))}"
            for n in names
            if (only is None or n in only) and getattr(self, n) != getattr(other, n)
        ]


def _shown(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
