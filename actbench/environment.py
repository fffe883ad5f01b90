"""The environment a run was measured in, recorded next to every result."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import torch

import actbench
from actbench import device as device_mod


def git_commit() -> str | None:
    """The commit of the actbench checkout that ran, when it is a git checkout."""
    here = Path(actbench.__file__).resolve().parent
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
        return None
    return f"{out}{'-dirty' if dirty else ''}" if out else None


def collect(pinning: device_mod.Pinning) -> dict:
    """Versions, hardware and host: what someone needs to judge or repeat a timing."""
    device, threads = pinning.device, pinning.threads
    env = {
        "actbench_version": actbench.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "cpu_model": device_mod.cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "interop_threads": torch.get_num_interop_threads(),
        "device": str(device),
        "device_name": pinning.device_name,
        "deterministic": pinning.deterministic,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version()
        if torch.backends.cudnn.is_available()
        else None,
        "git_commit": git_commit(),
        "argv": sys.argv,
    }
    env["cpu_affinity"] = pinning.cpu_affinity or None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env["device_memory_gib"] = round(props.total_memory / 2**30, 2)
        env["device_capability"] = f"{props.major}.{props.minor}"
    try:  # the installed version, without importing a possibly mismatched build
        env["torchvision_version"] = metadata.version("torchvision")
    except metadata.PackageNotFoundError:
        env["torchvision_version"] = None
    return env
