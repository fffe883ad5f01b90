"""Where trials run: in this process (`local`) or as tasks on a Ray cluster (`ray`).

Work comes as groups: the trials of one seed, trained together under the run's schedule
(`schedule.py`). Either way an executor yields finished `TrialResult`s as they complete,
and the sweep persists each one at once, so resume, tables, plots and compare cannot tell
them apart. On Ray a task is one group: it asks for one GPU when the run is on CUDA, or for
`threads` CPUs otherwise, so groups never share a device (and the trials of a group are
interleaved on that device exactly as locally); it loads its dataset on its own node (from the
same data folder, or by downloading it) and records the host it ran on. Its trials come
back together when the task ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from actbench import activation as activations_mod
from actbench import dataset as datasets
from actbench import device as device_mod
from actbench import schedule
from actbench.activation import Activation
from actbench.config import SweepConfig
from actbench.data import DeviceData
from actbench.device import Pinning
from actbench.errors import ActbenchError
from actbench.records import EpochRecord, TrialResult

EXECUTORS = ("local", "ray")
Group = tuple[int, list[Activation]]  # (seed, the activations still to train for it)


def local(
    groups: Sequence[Group],
    data: DeviceData,
    cfg: SweepConfig,
    pinning: Pinning,
    group_id: int,
    started: Callable[[int, list[str]], None],
    on_epoch: Callable[[EpochRecord], None],
) -> Iterator[TrialResult]:
    for seed, acts in groups:
        trials = schedule.group(data, acts, seed, cfg, pinning, group_id, on_epoch)
        started(seed, [a.name for a in acts])
        yield from schedule.run(trials, cfg.schedule, seed)


def remote_group(
    cfg_json: dict, names: list[str], seed: int, group_id: int, device_type: str, threads: int
) -> list[TrialResult]:
    """One seed's group inside a Ray worker: its own pins, its own copy of the data."""
    cfg = SweepConfig.from_json(cfg_json)
    # Ray sets CUDA_VISIBLE_DEVICES to the one GPU it granted, so that is "cuda" here
    pinning = device_mod.pin(device_type, threads, None, cfg.deterministic, own_cores=False)
    data, _ = datasets.get(cfg.dataset).load(cfg, pinning.device)
    acts = [activations_mod.resolve(name) for name in names]
    trials = schedule.group(data, acts, seed, cfg, pinning, group_id)
    return list(schedule.run(trials, cfg.schedule, seed))


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ActbenchError(
            "--executor ray needs Ray: pip install 'actbench[ray]' (or pip install ray)"
        ) from None
    return ray


def ray_trials(
    groups: Sequence[Group],
    cfg: SweepConfig,
    pinning: Pinning,
    address: str | None,
    group_id: int,
    started: Callable[[int, list[str]], None],
) -> Iterator[TrialResult]:
    """Submit every group as a Ray task and yield its results in the order groups finish."""
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
        remote_group
    )
    cfg_json = cfg.to_json()
    pending = []
    for seed, acts in groups:
        names = [a.name for a in acts]
        pending.append(
            task.remote(cfg_json, names, seed, group_id, pinning.device.type, pinning.threads)
        )
        started(seed, names)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                results = ray.get(done[0])
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, ActbenchError):
                    raise cause from None
                raise
            yield from results
    finally:
        for ref in pending:  # interrupted or failed: stop what has not finished
            ray.cancel(ref, force=True)
        if we_started:
            ray.shutdown()
