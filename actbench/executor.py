"""Where trials run: in this process (`local`) or as tasks on a Ray cluster (`ray`).

Either way an executor yields finished `TrialResult`s as they complete, and the sweep
persists each one at once, so resume, tables, plots and compare cannot tell them apart.
A Ray task asks for one GPU when the run is on CUDA, or for `threads` CPUs otherwise, so
trials never share a device; it loads MNIST on its own node (from the same data folder,
or by downloading it) and records the host it ran on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from actbench import activations as activations_mod
from actbench import data as data_mod
from actbench import device as device_mod
from actbench.activations import Activation
from actbench.config import SweepConfig
from actbench.data import DeviceData
from actbench.device import Pinning
from actbench.errors import ActbenchError
from actbench.model import image_shape
from actbench.records import EpochRecord, TrialResult
from actbench.trainer import train_trial

EXECUTORS = ("local", "ray")
Trial = tuple[int, Activation]  # (seed, activation)


def local(
    trials: Sequence[Trial],
    data: DeviceData,
    cfg: SweepConfig,
    pinning: Pinning,
    started: Callable[[int, str, int], None],
    on_epoch: Callable[[EpochRecord], None],
    first_index: int = 1,
) -> Iterator[TrialResult]:
    for i, (seed, act) in enumerate(trials, start=first_index):
        started(i, act.name, seed)
        yield train_trial(data, act, seed, cfg, pinning, on_epoch=on_epoch)


def remote_trial(cfg_json: dict, activation: str, seed: int, device_type: str, threads: int):
    """One trial inside a Ray worker: its own pins, its own copy of the data."""
    cfg = SweepConfig.from_json(cfg_json)
    # Ray sets CUDA_VISIBLE_DEVICES to the one GPU it granted, so that is "cuda" here
    pinning = device_mod.pin(device_type, threads, None, cfg.deterministic)
    mnist = data_mod.load(cfg.data_dir or data_mod.default_data_dir(), download=cfg.download)
    data = data_mod.prepare(
        mnist,
        pinning.device,
        cfg.val_fraction,
        cfg.train_limit,
        cfg.split_seed,
        image_shape(cfg.model),
    )
    return train_trial(data, activations_mod.resolve(activation), seed, cfg, pinning)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ActbenchError(
            "--executor ray needs Ray: pip install 'actbench[ray]' (or pip install ray)"
        ) from None
    return ray


def ray_trials(
    trials: Sequence[Trial],
    cfg: SweepConfig,
    pinning: Pinning,
    address: str | None,
    started: Callable[[int, str, int], None],
    first_index: int = 1,
) -> Iterator[TrialResult]:
    """Submit every trial as a Ray task and yield results in the order they finish."""
    ray = _import_ray()
    we_started = not ray.is_initialized()
    if we_started:
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except Exception as exc:  # no cluster at that address, port in use, ...
            raise ActbenchError(
                f"cannot start or join Ray at {address or 'local'}: {exc}"
            ) from None
    on_gpu = pinning.device.type == "cuda"
    task = ray.remote(num_gpus=1 if on_gpu else 0, num_cpus=0 if on_gpu else pinning.threads)(
        remote_trial
    )
    cfg_json = cfg.to_json()
    pending = {}
    for i, (seed, act) in enumerate(trials, start=first_index):
        ref = task.remote(cfg_json, act.name, seed, pinning.device.type, pinning.threads)
        pending[ref] = (i, act.name, seed)
        started(i, act.name, seed)
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, ActbenchError):
                        raise cause from None
                    raise
    finally:
        for ref in pending:  # interrupted or failed: stop what has not finished
            ray.cancel(ref, force=True)
        if we_started:
            ray.shutdown()
