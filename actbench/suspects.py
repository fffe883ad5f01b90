"""What differs between two runs' machines, and which of `compare`'s rows each difference
could explain.

A cost that moved between two runs moved with the code or with the machine. The
fingerprint (`fingerprint.py`) records what of the machine can move a kernel's speed; this
names each field that differs, with both values, beside the rows it could have moved
(`RULES`: the one place that says which). A field one run did not record (a run saved
before fingerprints) is not a difference: nothing is known of it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from actbench import subnormals
from actbench.run_record import RunRecord

EVERY = "every"  # every row: what a whole step runs on
SUBNORMAL = "subnormal"  # the rows whose numbers were subnormal somewhere, in either run
# fingerprint field: (its name in words, the rows it could explain). The capability changes
# ATen's element-wise kernels: the activations', and the loss's and Adam's in every row
# (identity's too); flushing changes only arithmetic on subnormal numbers, so only the rows
# that had some (a dead relu's Adam moments); the CPU, its microcode, kernel, frequency and
# the math libraries change the whole step.
RULES: dict[str, tuple[str, str]] = {
    "cpu_capability": ("CPU capability", EVERY),
    "aten_cpu_capability": ("ATEN_CPU_CAPABILITY", EVERY),
    "flush_denormal": ("flush-denormal", SUBNORMAL),
    "cpu_model": ("CPU model", EVERY),
    "cpu_flags": ("CPU flags", EVERY),
    "cpu_microcode": ("microcode", EVERY),
    "kernel_release": ("kernel", EVERY),
    "cpufreq_governor": ("governor", EVERY),
    "cpu_boost": ("boost", EVERY),
    "math_libraries": ("math libraries", EVERY),
}


@dataclass(frozen=True)
class Suspect:
    """One fingerprint field that differs, and the rows it could explain."""

    field: str
    a: object
    b: object
    rows: tuple[str, ...]

    @property
    def words(self) -> str:
        return RULES[self.field][0]

    def note(self) -> str:
        """'CPU capability AVX512 -> AVX2 could explain identity, elu, relu'."""
        a, b = _shown(self.a, self.b)
        return f"{self.words} {a} -> {b} could explain {', '.join(self.rows) or 'no row'}"


def _shown(a: object, b: object) -> tuple[str, str]:
    """Both values, or for two mappings only the entries that differ."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = [k for k in {**a, **b} if a.get(k) != b.get(k)]
        return tuple(", ".join(f"{k} {m.get(k)}" for k in keys) for m in (a, b))
    return str(a), str(b)


def rows_of(scope: str, names: Iterable[str], subnormal: Collection[str] = ()) -> tuple[str, ...]:
    """The rows (activation names) a difference of `scope` could explain."""
    return tuple(n for n in names if scope == EVERY or n in subnormal)


def with_subnormals(*frames: pd.DataFrame) -> set[str]:
    """The activations whose trials (`subnormal_pct`: weights and optimizer state) or epochs
    (what the activation reads and writes, the gradients) had subnormal numbers."""
    found: set[str] = set()
    for frame in frames:
        for column in subnormals.PLACES:
            if column in frame and "activation" in frame:
                share = frame.groupby("activation")[column].max()
                found |= set(share[share >= subnormals.SHOWN].index)
    return found


def of(
    run_a: RunRecord, run_b: RunRecord, names: Iterable[str], subnormal: Collection[str] = ()
) -> list[Suspect]:
    """Every fingerprint field both runs recorded that differs, with the rows it could
    explain among `names` (`subnormal`: the rows that had subnormal numbers)."""
    names, out = list(names), []
    for name, (_, scope) in RULES.items():
        a, b = (getattr(r.environment, name) for r in (run_a, run_b))
        if a is not None and b is not None and a != b:
            out.append(Suspect(name, a, b, rows_of(scope, names, subnormal)))
    return out


def beside(name: str, suspects: list[Suspect]) -> str:
    """What could explain row `name`: 'CPU capability, microcode' ('' when nothing)."""
    return ", ".join(s.words for s in suspects if name in s.rows)
