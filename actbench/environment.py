"""The environment a run was measured in, recorded next to every result."""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess
import sys
import uuid
from importlib import metadata
from pathlib import Path

import torch

from actbench import command, fingerprint
from actbench import device as device_mod


def _version() -> str:
    """The installed actbench's version (the package's `__version__`, read the same way)."""
    try:
        return metadata.version("actbench")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+source"


def git_commit() -> tuple[str | None, bool | None]:
    """(commit, whether tracked files had uncommitted changes) of the actbench checkout
    that ran; (None, None) when it is not a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, None
    return (out, bool(dirty)) if out else (None, None)


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def machine_key() -> str | None:
    """A short hash naming this machine *in this boot*, for `compare`'s 'same machine'.

    A hostname does not tell machines apart (every VM here is `vm`), and VMs cloned from
    one image share /etc/machine-id and even the MAC address; the kernel's boot id is
    drawn fresh at every boot. So two runs share a key only on the same machine, same
    boot: a reboot counts as another machine, the safe side for a speed correction."""
    node = uuid.getnode()
    parts = [
        _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id"),
        _read("/proc/sys/kernel/random/boot_id"),
        "" if (node >> 40) & 1 else f"{node:012x}",  # bit 40 set: a random stand-in
        platform.node(),
        device_mod.cpu_model() or "",
    ]
    if not any(parts[:3]):
        return None  # nothing that identifies a machine (e.g. no /etc, /proc)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def collect(pinning: device_mod.Pinning) -> dict:
    """Versions, hardware and host: what someone needs to judge or repeat a timing."""
    device, threads = pinning.device, pinning.threads
    env = {
        "actbench_version": _version(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "machine_key": machine_key(),
        "cpu_model": device_mod.cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "untimed_threads": max(pinning.untimed_threads, threads),  # validation and test passes
        "interop_threads": torch.get_num_interop_threads(),
        "device": str(device),
        "device_name": pinning.device_name,
        "deterministic": pinning.deterministic,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version()
        if torch.backends.cudnn.is_available()
        else None,
        "argv": sys.argv,  # as Python received it: what scripts/remake.py reruns
        "command": command.current(sys.argv),  # as the user would type it again
    }
    env["git_commit"], env["git_dirty"] = git_commit()
    env["cpu_affinity"] = pinning.cpu_affinity or None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env["device_memory_gib"] = round(props.total_memory / 2**30, 2)
        env["device_capability"] = f"{props.major}.{props.minor}"
    env.update(fingerprint.collect())  # the timed steps' own capability: `runner`
    try:  # the installed version, without importing a possibly mismatched build
        env["torchvision_version"] = metadata.version("torchvision")
    except metadata.PackageNotFoundError:
        env["torchvision_version"] = None
    return env
