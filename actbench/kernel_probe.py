"""`actbench kernels`: each activation's forward + backward against a copy of the same bytes,
over tensor sizes that span the caches and memory, on each input range.

A sweep reads the kernels at the model's shapes (`kernels.py`); this asks how the multiple of
copy moves with size (in L1, L2, the last-level cache, memory) and with the inputs' values.
Per size and activation, one block of each, in alternating order: identity's call and a
copy of nothing (the nulls), the copy of the bytes the activation moves (`floor.py`), and
the activation on each range: `normal` (standard normal), then `floor.RANGES`. Each is
`torch.utils.benchmark`'s `blocked_autorange` with a short `MIN_RUN` (a big tensor takes one
call), at `threads`. With `flush_denormal`, each range is timed with flush off and on, side
by side, so denormals' price is a ratio of neighbours.

The capability torch dispatches is fixed at import (`ATEN_CPU_CAPABILITY`), so a probe at
another runs in a fresh child process with it set, and its answer counts only when
`torch.backends.cpu.get_cpu_capability()` there says what was asked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch

from actbench import activation, device, environment, fingerprint, floor, kernels, spares
from actbench.errors import ActbenchError
from actbench.formats import tabulated, wrapped

RANGES = ("normal", *floor.RANGES)
MIN_RUN = 0.01  # seconds a timer's blocks take at least, per cell
CACHE_DIR = Path("/sys/devices/system/cpu/cpu0/cache")
UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}
FALLBACK_LLC = 32 * 2**20  # where the caches cannot be read: sizes up to 4x this


@dataclass(frozen=True)
class Request:
    """What to probe: activation specs, input sizes in bytes, threads, flush on/off paired."""

    activations: tuple[str, ...]
    sizes: tuple[int, ...]
    threads: int = 1
    flush_denormal: bool = False


def caches(root: Path = CACHE_DIR) -> list[dict]:
    """This CPU's data caches, as sysfs says (level, type, bytes); empty where unreadable."""
    found = []
    for index in sorted(root.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = int((index / "level").read_text())
            size = parse_size((index / "size").read_text().strip())
        except (OSError, ValueError, ActbenchError):
            continue
        if kind != "Instruction":
            found.append({"level": level, "type": kind, "bytes": size})
    return found


def default_sizes(found: list[dict]) -> tuple[int, ...]:
    """4 KiB, then x4 up to 4x the last-level cache (or `FALLBACK_LLC`): every level and
    memory."""
    top = 4 * max((c["bytes"] for c in found), default=FALLBACK_LLC)
    sizes, size = [], 4 * 2**10
    while size < top:
        sizes.append(size)
        size *= 4
    return (*sizes, top)


def parse_size(text: str) -> int:
    """'4K', '512KiB', '32768K', '1M', '4096': bytes (K, M, G are powers of 1024)."""
    body = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = body[-1:] if body[-1:] in UNITS else ""
    try:
        value = int(body[: len(body) - len(unit)])
    except ValueError:
        raise ActbenchError(
            f"{{sizes}}: {text!r} is not a size like 4K, 1M or 4096", ["sizes"]
        ) from None
    if value * UNITS[unit] < 4:
        raise ActbenchError(f"{{sizes}}: {text!r} holds no float32 value", ["sizes"])
    return value * UNITS[unit]


def parse_sizes(text: str | None) -> tuple[int, ...]:
    """A comma list of sizes, or this CPU's default span when None."""
    if text is None:
        return default_sizes(caches())
    return tuple(parse_size(s) for s in text.split(","))


def named(specs: list[str]) -> tuple[str, ...]:
    """The activations asked, each resolved now (a bad one is refused in one line); `all`
    (or none) is every built-in; identity, the null, is timed with each and not listed."""
    if not specs or [s.lower() for s in specs] == ["all"]:
        specs = [n for n in activation.BUILTINS if n != "identity"]
    return tuple(activation.resolve(s).name for s in specs if s.lower() != "identity")


def request(
    activations: list[str], sizes: str | None, threads: int = 1, flush_denormal: bool = False
) -> Request:
    """A checked request: every activation resolved, sizes parsed, at least one thread."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ActbenchError(
            f"{{threads}} must be a whole number, at least 1, got {threads!r}", ["threads"]
        )
    if sizes is not None and not isinstance(sizes, str):
        raise ActbenchError(f"{{sizes}} must be text such as '4K,1M', got {sizes!r}", ["sizes"])
    if flush_denormal:
        was = device.flushing()
        able = torch.set_flush_denormal(True)
        torch.set_flush_denormal(was)  # the caller's state, as found
        if not able:
            raise ActbenchError(
                "{flush_denormal}: this CPU cannot flush denormals (no SSE3)", ["flush_denormal"]
            )
    acts = named(activations)
    if not acts:
        raise ActbenchError(
            "{activations}: identity is the null, timed with each; name another", ["activations"]
        )
    return Request(acts, parse_sizes(sizes), threads, flush_denormal)


def _time(run, threads: int) -> float:
    """µs per call of `run`."""
    return kernels.timer(run, threads).blocked_autorange(min_run_time=MIN_RUN).median * 1e6


def _cell(act: activation.Activation, size: int, request: Request, flip: bool) -> list[dict]:
    """Readings of one activation at one size, its nulls and copy beside it, in the order
    given (reversed when `flip`): each range, with flush off (and on, when paired)."""
    z = torch.randn(max(1, size // 4))
    traffic = floor.traffic(act.make(), z)
    flushes = (False, True) if request.flush_denormal else (False,)
    runs = {
        ("identity", False): kernels.forward_backward(activation.resolve("identity"), [z]),
        ("null", False): floor.copier(floor.copy_buffers([2])),
        ("copy", False): floor.copier(floor.copy_buffers([traffic])),
    }
    for r in RANGES:  # the inputs are made before any flush
        call = kernels.forward_backward(act, [floor.ranged(z, r)])
        runs |= {(r, flush): call for flush in flushes}
    us = {}
    for key in reversed(list(runs)) if flip else runs:
        torch.set_flush_denormal(key[1])
        try:
            us[key] = _time(runs[key], request.threads)
        finally:
            torch.set_flush_denormal(False)
    nulls = {k: us[(k, False)] for k in ("identity", "null", "copy")}
    out = []
    for r, flush in (k for k in runs if k[0] in RANGES):
        reading = kernels.Reading(
            us[(r, flush)] - nulls["identity"], nulls["copy"] - nulls["null"], traffic
        )
        out.append(
            {"activation": act.name, "size_bytes": z.numel() * 4, "elements": z.numel(),
             "bytes": traffic, "range": r, "flush_denormal": flush, "gross_us": us[(r, flush)],
             "identity_us": nulls["identity"], "copy_us": nulls["copy"],
             "null_copy_us": nulls["null"], "kernel_us": reading.kernel_us,
             "copy_x": reading.copy_x, "gbs": reading.gbs}
        )  # fmt: skip
    return out


def probe(request: Request) -> list[dict]:
    """Every reading of `request` (checked by `request`) in this process, at the
    capability it dispatches."""
    acts = [activation.resolve(name) for name in request.activations]
    out, flip = [], False
    with device.state_kept():
        device.pin_threads(request.threads)
        for size in request.sizes:
            for act in acts:
                out += _cell(act, size, request, flip)
                flip = not flip
    capability = torch.backends.cpu.get_cpu_capability()
    return [r | {"capability": capability} for r in out]


def capabilities(text: str | None) -> list[str]:
    """The capabilities asked (`all`: every one this machine can run), each checked by
    `fingerprint.check_capability` (the CPU's flags, then a fresh process: torch reports
    AVX512 when asked on a CPU without it, and dies of an illegal instruction later); one
    it cannot run is refused in one line."""
    if text is None:
        return []
    if not isinstance(text, str):
        raise ActbenchError(
            f"{{cpu_capability}} must be text such as 'avx2' or 'all', got {text!r}",
            ["cpu_capability"],
        )
    asked = list(dict.fromkeys(c.strip().lower() for c in text.split(",")))
    if asked == ["all"]:
        return [c for c in fingerprint.choices() if _runs(c)]
    for name in asked:
        fingerprint.check_capability(name)
    return asked


def _runs(name: str) -> bool:
    try:
        fingerprint.check_capability(name)
    except ActbenchError:
        return False
    return True


def in_child(request: Request, capability: str) -> list[dict]:
    """`probe` in a fresh process at `capability`; its refusal or failure in one line."""
    done = subprocess.run(
        [sys.executable, "-m", "actbench.kernel_probe"],
        input=json.dumps(asdict(request)),
        env=spares.environment(capability),  # this actbench, as a worker imports it
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise ActbenchError(f"the probe at {capability} failed: {lines[-1]}")
    readings = json.loads(done.stdout)
    if any(r["capability"] != capability.upper() for r in readings):
        raise ActbenchError(f"the probe asked for {capability} ran at another capability")
    return readings


def run(request: Request, capability_text: str | None = None) -> dict:
    """The probe's record: every reading, the sizes, the caches and the environment (with
    argv, which `scripts/remake.py` reruns)."""
    asked = capabilities(capability_text)
    with device.state_kept():
        env = environment.collect(device.pin("cpu", request.threads))
    readings = [r for c in asked for r in in_child(request, c)] if asked else probe(request)
    env |= {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "aten_cpu_capability": os.environ.get("ATEN_CPU_CAPABILITY"),
    }
    return {
        "environment": env,
        "caches": caches(),
        "request": asdict(request) | {"capabilities": asked or None},
        "readings": readings,
    }


def table(record: dict) -> pd.DataFrame:
    """One row per capability, activation and size: its multiple of copy and bandwidth on
    normal inputs, and each other range's time over normal's (flush off; with flush on
    beside it when measured)."""
    frame = pd.DataFrame(record["readings"])
    off = frame[~frame["flush_denormal"]]
    keys = ["capability", "activation", "size_bytes"]
    normal = off[off["range"] == "normal"].set_index(keys)
    rows = pd.DataFrame(
        {
            "bytes": normal["bytes"].map(_size),
            "kernel µs": normal["kernel_us"].map(_cell_text),
            "copy µs": (normal["copy_us"] - normal["null_copy_us"]).map(_cell_text),
            "× copy": normal["copy_x"].where(normal["kernel_us"] > 0).map(_cell_text),
            "GB/s": normal["gbs"].map(_cell_text),
        }
    )
    for r in floor.RANGES:
        gross = off[off["range"] == r].set_index(keys)["gross_us"]
        rows[f"{r} ×"] = (gross / normal["gross_us"]).map(_cell_text)
    on = frame[frame["flush_denormal"] & (frame["range"] == "subnormal")].set_index(keys)
    if len(on):
        slow = off[off["range"] == "subnormal"].set_index(keys)["gross_us"]
        rows["subnormal flush off/on"] = (slow / on["gross_us"]).map(_cell_text)
    rows = rows.reset_index()
    rows["size_bytes"] = rows["size_bytes"].map(_size)
    return rows.rename(columns={"size_bytes": "input"})


def _cell_text(value: float) -> str:
    """A number to two decimals, or a dash where there is none (a kernel or a copy lost
    in the calls' noise at a tiny size leaves no multiple)."""
    return "—" if pd.isna(value) else f"{value:.2f}"


def _size(value: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:g} {unit}"
    return f"{int(value)} B"


def caption(record: dict) -> str:
    """What the table's columns are, and the caches the sizes span."""
    levels = ", ".join(f"L{c['level']} {_size(c['bytes'])}" for c in record["caches"])
    return (
        f"caches (cpu0): {levels or 'not readable'}; {record['request']['threads']} thread(s). "
        "input: the activation's input tensor (float32); bytes: what its forward + backward "
        "reads and writes at the least (input, output, both gradients, what autograd saved). "
        "kernel µs: forward + backward over identity's call; copy µs: a copy of those bytes "
        "over a one-byte copy; × copy: the one over the other (near 1: at the memory's "
        "speed); GB/s: bytes over kernel µs. negative/tiny/subnormal ×: the whole call on "
        "that range over the call on normal values."
    )


def text(record: dict, fmt: str) -> str:
    """What `actbench kernels` prints: the table and its caption."""
    return "\n".join([tabulated(table(record), fmt), wrapped(caption(record))])


def writable(path: Path) -> None:
    """Refuse, before minutes of probing, a --json file that could not be written."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if path.is_dir() or not os.access(folder, os.W_OK):
        raise ActbenchError(f"{{json}} cannot write {path}: not a writable file", ["json"])


def save(record: dict, path: Path) -> None:
    """The record as JSON at `path` (its folder made), for `scripts/remake.py` to rerun."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ActbenchError(f"{{json}} cannot write {path}: {exc.strerror}", ["json"]) from None


if __name__ == "__main__":  # a child at another capability: request on stdin, readings out
    try:
        json.dump(probe(Request(**json.load(sys.stdin))), sys.stdout)
    except ActbenchError as exc:  # its one line is the parent's refusal
        sys.exit(str(exc))
