"""A saved run as one typed, frozen value: what was asked, how it was resolved, where it ran,
how it went. The one reader of run.json's keys.

A `RunRecord` is made in one place, `RunRecord.from_dict`, from run.json in today's format
(`schema.upgrade`, which alone knows the older ones); `RunFolder.info` returns it. Every
report, the runner's resume and the API read a run through it, never by key, so a field
that moves or changes its meaning changes here only. `to_dict` gives run.json back as saved
(upgraded), for the API and for the writer that updates it. `describe` is the run in one
line: the same words in `show`, the pictures, the HTML report and its groups of runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from types import MappingProxyType

from actbench import command, schema
from actbench.config import SweepConfig


def _frozen(value: object) -> object:
    """A JSON value that cannot be changed through the record: lists as tuples, objects as
    read-only mappings."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Environment:
    """Where a run ran (`environment.collect`): typed fields for what readers use; every
    recorded field, these included, in `fields` (what the HTML report lists)."""

    device: str | None = None
    device_name: str | None = None
    threads: int | None = None
    cpu_affinity: str | None = None  # "0,1": the CPUs the timed steps could use
    cpu_model: str | None = None
    hostname: str | None = None
    platform: str | None = None
    machine_key: str | None = None  # same machine, same boot (`compare`'s reference step)
    torch_version: str | None = None
    cuda_version: str | None = None
    python_version: str | None = None
    actbench_version: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    argv: tuple[str, ...] | None = None  # the command that made the run
    # the fingerprint (`fingerprint.py`): the timed steps' capability and flush state as
    # their worker processes read them, and what else can change a kernel's speed
    cpu_capability: str | None = None  # "AVX512"; several, comma-separated, if workers differed
    flush_denormal: bool | None = None
    aten_cpu_capability: str | None = None  # the parent's ATEN_CPU_CAPABILITY, if set
    cpu_flags: str | None = None  # "avx2 avx512f ... fma": the instruction sets that matter
    cpu_microcode: str | None = None
    kernel_release: str | None = None
    cpufreq_governor: str | None = None
    cpu_boost: bool | None = None
    math_libraries: Mapping[str, object] | None = None  # blas, lapack, mkl, onednn, openmp
    fields: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, saved: Mapping[str, object]) -> Environment:
        """The environment as run.json (upgraded) records it; what it lacks is None."""
        words = [f.name for f in dataclass_fields(cls) if f.type == "str | None"]  # as written
        argv = saved.get("argv")
        return cls(
            **{name: _text(saved.get(name)) for name in words},
            threads=saved.get("threads"),
            git_dirty=saved.get("git_dirty"),
            flush_denormal=saved.get("flush_denormal"),
            cpu_boost=saved.get("cpu_boost"),
            math_libraries=_frozen(saved.get("math_libraries")),
            argv=None if argv is None else tuple(argv if isinstance(argv, list) else [argv]),
            fields=_frozen(dict(saved)),
        )

    def listed(self) -> dict[str, object]:
        """Every recorded field as one value (the math libraries as 'blas mkl, lapack
        mkl'), for a two-column table: `env` and the HTML report's run page."""
        return {
            k: ", ".join(f"{n} {x}" for n, x in v.items()) if isinstance(v, Mapping) else v
            for k, v in self.fields.items()
        }

    @property
    def recorded(self) -> bool:
        """Whether the run recorded its environment at all."""
        return bool(self.fields)

    @property
    def command(self) -> str | None:
        """The command that made the run, to copy: as recorded (`command.current`), or, for
        a run saved before, made copyable from its argv (`python -m actbench ...`)."""
        recorded = self.fields.get("command")
        if isinstance(recorded, str) and recorded:
            return recorded
        return None if self.argv is None else command.from_argv(self.argv)

    @property
    def commit(self) -> str:
        """'0123abcd9' or '0123abcd9-dirty': the code's commit, short; '' when unknown."""
        return (self.git_commit or "")[:9] + ("-dirty" if self.git_dirty else "")


@dataclass(frozen=True)
class RunRecord:
    """A saved run: its request as resolved (`config`), where it ran, its status and
    clocks, how it is scored and timed. Fields run.json lacks are None (or empty)."""

    config: SweepConfig  # what was asked, as resolved (a saved config is a resolved one)
    environment: Environment = field(default_factory=Environment)
    name: str | None = None
    status: str | None = None  # running, complete, interrupted or failed
    metric: str = "accuracy"  # how the run is scored (`task.metric_named`)
    dataset_defaults: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    data: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    # the network's size and shapes, and a user's factory and loader with their code's hash
    network: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    timing_method: str | None = None
    reference: str | None = None  # what the machine-speed reading times
    timer_overhead_us: float | None = None
    started: str | None = None
    finished: str | None = None
    resumed: tuple[str, ...] = ()  # when each resume started
    jobs: int | None = None  # seed groups at once in the latest execution
    # --precision: the seeds that sized the run (its first stage) and how many all of its
    # activations needed before the cap; () and None until the second stage is decided
    first_seeds: tuple[int, ...] = ()
    seeds_needed: int | None = None
    document: str = field(default="{}", repr=False, compare=False)  # run.json, upgraded

    @classmethod
    def from_dict(cls, saved: Mapping, path: str | Path = "run.json") -> RunRecord:
        """The record of a run.json document (any version's: upgraded first); refused in
        one line naming `path` when it is not a run's."""
        info = json.loads(json.dumps(saved, default=str))  # as saved on disk, and our own
        info = schema.upgrade(schema.run_info(info, Path(path)))
        environment = info.get("environment")
        return cls(
            config=SweepConfig.from_json(info["config"]),
            environment=Environment.of(environment if isinstance(environment, dict) else {}),
            name=info.get("name"),
            status=info.get("status"),
            metric=info["metric"],
            dataset_defaults=_frozen(info.get("dataset_defaults") or {}),
            data=_frozen(info.get("data") or {}),
            network=_frozen(info.get("network") or {}),
            timing_method=info.get("timing_method"),
            reference=info["reference"],
            timer_overhead_us=info.get("timer_overhead_us"),
            started=info.get("started"),
            finished=info.get("finished"),
            resumed=tuple(info.get("resumed") or ()),
            jobs=info.get("jobs"),
            first_seeds=tuple((info.get("precision") or {}).get("first_seeds") or ()),
            seeds_needed=(info.get("precision") or {}).get("needed"),
            document=json.dumps(info),
        )

    def to_dict(self) -> dict:
        """run.json as saved, in today's format: a new dict the caller may change."""
        return json.loads(self.document)

    @property
    def data_unit(self) -> str | None:
        """The unit of a series' raw metric (RMSE in thousands of passengers), if any."""
        unit = self.data.get("unit")
        return None if unit is None else str(unit)


def where(run: RunRecord) -> str:
    """'cpu (AMD EPYC), 1 thread, cores 0,1, host vm': the machine and how it was used."""
    env = run.environment
    threads = "?" if env.threads is None else env.threads
    text = (
        f"{env.device or '?'} ({env.device_name or env.cpu_model or '?'}), "
        f"{threads} thread{'' if threads == 1 else 's'}"
    )
    if env.cpu_affinity:
        text += f", cores {env.cpu_affinity}"
    return text + (f", host {env.hostname}" if env.hostname else "")


def what(run: RunRecord) -> str:
    """'mnist, mlp 100-100-100, eager, adam lr 0.001, batch 100, baseline identity': what
    was trained, and how."""
    c = run.config
    model = c.model if c.model == "cnn" or not c.hidden else f"{c.model} {_dashed(c.hidden)}"
    optimizer = f"{c.optimizer} lr {c.lr}" + (
        f" momentum {c.momentum}" if c.optimizer == "sgd" else ""
    )
    parts = [c.dataset, model, c.mode, optimizer, f"batch {c.batch_size}"]
    if c.window:
        parts.append(f"window {c.window}")
    if c.train_limit:
        parts.append(f"train limit {c.train_limit}")
    parts.append(f"baseline {c.baseline}" if c.baseline else "no baseline")
    parts += [f"cpu capability {c.cpu_capability}"] if c.cpu_capability else []
    parts += ["flush-denormal"] if c.flush_denormal else []
    return ", ".join(map(str, parts))


def describe(run: RunRecord) -> str:
    """The run in one line, where then what: what `show` starts with, the pictures' titles
    and the HTML report's pages and groups say."""
    return f"{where(run)}; {what(run)}"


def _dashed(values: tuple[int, ...]) -> str:
    return "-".join(map(str, values))
