"""The machine's fingerprint, and the two pins that can hold part of it still.

The same code can run at another speed on the same VM: torch dispatches its element-wise
kernels to the widest instruction set it finds (AVX512 on the host where one run's elu
took 2.5x another's and AVX2 did not; AVX2 on a host without it), subnormal numbers are
slow unless flushed, and microcode, kernel, frequency governor and math libraries change
under a run. pyperf records such metadata beside every benchmark; this records the same
for a run, so that `compare` can name what differs beside the rows it could explain
(`suspects.py`).

Two of them can be pinned: the capability (`ATEN_CPU_CAPABILITY`, read once when torch
starts, so it is set in the environment of the worker processes that time the steps) and
flushing denormals (`torch.set_flush_denormal`, set in each worker). Each is refused in
one line before a run folder exists where this machine cannot honour it, since torch
falls back in silence.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import torch

from actbench import device as device_mod
from actbench.config import CAPABILITY_VAR as ENV_VAR
from actbench.config import capability_env
from actbench.errors import ActbenchError

# the values torch's dispatcher accepts, per architecture (aten's DispatchStub.cpp)
CAPABILITIES = {
    "x86_64": ("default", "avx2", "avx512"),
    "amd64": ("default", "avx2", "avx512"),
    "aarch64": ("default", "sve256"),
    "arm64": ("default", "sve256"),
    "s390x": ("default", "zvector"),
    "ppc64le": ("default", "vsx"),
}
# what /proc/cpuinfo must list for torch to run a capability's kernels (it does not check
# when asked: AVX512 kernels are dispatched on a CPU without them)
NEEDS = {
    "avx2": ("avx2", "fma"),
    "avx512": ("avx512f", "avx512bw", "avx512vl", "avx512dq", "fma"),
}
ISA = re.compile(r"^(avx2|fma|avx512.*|amx.*)$")  # the flags that change which kernels run
CPUFREQ = Path("/sys/devices/system/cpu")


def choices() -> tuple[str, ...]:
    """The capabilities `--cpu-capability` accepts on this machine's architecture."""
    return CAPABILITIES.get(platform.machine().lower(), ("default",))


def dispatched() -> str:
    """The capability torch dispatches to in this process: 'AVX512', 'AVX2', 'DEFAULT'."""
    return torch.backends.cpu.get_cpu_capability()


def _asked_in_fresh_process(name: str) -> str:
    """What a fresh Python, started with `name` pinned, says torch dispatches ('' when it
    cannot start: a capability this CPU cannot run may kill it)."""
    # run a vectorised kernel first: torch reports a capability it cannot run (AVX512 on a
    # CPU without it) and dies of an illegal instruction only when a kernel runs
    code = (
        "import torch; torch.nn.functional.elu(torch.randn(4096)).exp().sum().item(); "
        "print(torch.backends.cpu.get_cpu_capability())"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, **capability_env(name)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def check_capability(name: str | None) -> None:
    """Refuse, in one line, a capability this machine's torch will not dispatch: a name it
    does not know, one the CPU lacks the flags for, or one a fresh process falls back from."""
    if name is None:
        return
    if name not in choices():
        raise ActbenchError(
            f"{{cpu_capability}} {name!r} is not one this {platform.machine()} machine's "
            f"torch accepts; use {', '.join(choices())}",
            ["cpu_capability"],
        )
    flags = set(cpu_info()["cpu_flags"].split())
    lacking = [f for f in NEEDS.get(name, ()) if flags and f not in flags]
    if lacking:
        raise ActbenchError(
            f"{{cpu_capability}} {name}: this CPU lacks {', '.join(lacking)}", ["cpu_capability"]
        )
    got = _asked_in_fresh_process(name)
    if got.lower() != name:
        raise ActbenchError(
            f"{{cpu_capability}} {name}: torch dispatches {got or 'nothing (it failed)'} "
            f"when asked for it here",
            ["cpu_capability"],
        )


def check_pins(cpu_capability: str | None, flush_denormal: bool) -> None:
    """Both pins, before a run folder exists (whether the CPU can flush, `device.pin` says:
    torch answers when it is asked to)."""
    if not isinstance(flush_denormal, bool):
        raise ActbenchError(
            f"{{flush_denormal}} must be True or False, got {flush_denormal!r}",
            ["flush_denormal"],
        )
    check_capability(cpu_capability)


def worker_reading() -> dict[str, object]:
    """What the process that times the steps dispatches and flushes, read in it."""
    return {"cpu_capability": dispatched(), "flush_denormal": device_mod.flushing()}


def cpu_info(path: Path = Path("/proc/cpuinfo")) -> dict[str, str | None]:
    """The first CPU's instruction-set flags that matter and its microcode ('' / None
    where /proc/cpuinfo is absent)."""
    flags, microcode = "", None
    try:
        for line in path.read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "flags" and not flags:
                flags = " ".join(sorted(f for f in value.split() if ISA.match(f)))
            elif key == "microcode" and microcode is None:
                microcode = value
    except OSError:
        pass
    return {"cpu_flags": flags, "cpu_microcode": microcode}


def _sysfs(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def frequency(root: Path = CPUFREQ) -> dict[str, object]:
    """The cpufreq governor and whether boost (turbo) is on, where sysfs says; None where
    not (a VM usually hides both)."""
    boost = _sysfs(root / "cpufreq" / "boost")
    no_turbo = _sysfs(root / "intel_pstate" / "no_turbo")
    on = boost == "1" if boost is not None else None if no_turbo is None else no_turbo == "0"
    return {
        "cpufreq_governor": _sysfs(root / "cpu0" / "cpufreq" / "scaling_governor"),
        "cpu_boost": on,
    }


def math_libraries(shown: str | None = None) -> dict[str, str | None]:
    """The BLAS, LAPACK, MKL, oneDNN and OpenMP torch was built with, as it says itself."""
    text = torch.__config__.show() if shown is None else shown

    def line(pattern: str) -> str | None:
        found = re.search(pattern, text)
        return found.group(1).strip() if found else None

    return {
        "blas": line(r"BLAS_INFO=([^,\s]+)"),
        "lapack": line(r"LAPACK_INFO=([^,\s]+)"),
        "mkl": line(r"Math Kernel Library Version ([^\n]+?) for"),
        "onednn": line(r"MKL-DNN (v[\d.]+)"),
        "openmp": line(r"OpenMP (\d+)"),
    }


def collect() -> dict[str, object]:
    """This process's fingerprint; the capability and flush state are the parent's here:
    the runner records the workers' (`record_workers`)."""
    return {
        "parent_cpu_capability": dispatched(),
        "parent_flush_denormal": device_mod.flushing(),
        "aten_cpu_capability": os.environ.get(ENV_VAR),
        **cpu_info(),
        "kernel_release": platform.release() or None,
        **frequency(),
        "math_libraries": math_libraries(),
    }


def record_workers(env: dict, reading: dict[str, object]) -> None:
    """Fold one worker's reading into run.json's environment: `cpu_capability` lists every
    capability the timed steps ran at (one, unless the workers disagreed), `flush_denormal`
    is their flush state (None when they disagreed); the parent's own stays only where it
    differs."""
    if not reading.get("cpu_capability"):  # a result no worker stamped: nothing read
        return
    if "cpu_flags" not in env:  # a resumed run saved before fingerprints: the new trials'
        return  # reading would pass for the whole run's
    first = "flush_denormal" not in env
    seen = [c for c in str(env.get("cpu_capability") or "").split(", ") if c]
    env["cpu_capability"] = ", ".join(sorted({*seen, str(reading["cpu_capability"])}))
    flush = reading["flush_denormal"]
    env["flush_denormal"] = flush if first or env["flush_denormal"] == flush else None
    for key in ("cpu_capability", "flush_denormal"):
        if env.get(f"parent_{key}") == env[key]:
            env.pop(f"parent_{key}", None)
