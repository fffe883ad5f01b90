"""The parent's data, handed to its workers: loaded and checked once, mapped by each.

A sweep's parent loads the data to check it before any worker trains, and each worker then
loaded it again: about half a second of reading and standardising at one thread, on its
slot's core, before its first step, at the start and again at each slot's next group. On
Linux the parent writes its tensors once into an anonymous memory file (`memfd_create`):
its descriptor travels to each worker with the job, and the worker maps it
(`torch.load(mmap=True)`, copy-on-write), reading pages the parent wrote and every worker
shares. The file goes when its last descriptor closes, a killed sweep's too. Elsewhere, on
an accelerator (the parent's copy lives on the device), under Ray (other machines) and
wherever the memory file cannot be made or read, each worker loads its own, as before.
"""

from __future__ import annotations

import os
import sys

import torch

from actbench.data import DeviceData

TENSORS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def offer(data: DeviceData) -> int | None:
    """A descriptor of a memory file holding `data`, or None where it cannot be handed on
    (not Linux, not on the CPU)."""
    if not sys.platform.startswith("linux") or data.x_train.device.type != "cpu":
        return None
    try:  # a Python without memfd_create, a sandbox that refuses it: each loads its own
        fd = os.memfd_create("actbench-data", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        return None
    try:
        with open(f"/proc/self/fd/{fd}", "wb") as f:  # a second descriptor: closed here
            torch.save(
                {**{name: getattr(data, name) for name in TENSORS}, "scale": data.target_scale},
                f,
            )
    except OSError:  # no /proc, no room: each worker loads its own
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def take(fd: int) -> DeviceData:
    """The data in the memory file `fd` (then closed: the mapping keeps its pages)."""
    try:
        saved = torch.load(f"/proc/self/fd/{fd}", mmap=True, weights_only=True)
    finally:
        os.close(fd)
    fields = {name: saved[name] for name in TENSORS}
    return DeviceData(**fields, target_scale=float(saved["scale"]))
