"""A sweep: every (seed, activation) trial of a `Plan`, each saved as soon as it ends.

Everything that can be refused (values, activations, device, threads, output folder, data)
is refused before the first step is trained. `resume` continues a saved run with the
trials it is missing, under the plan it was started with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

from actbench import (
    clock,
    environment,
    executor,
    fingerprint,
    fit,
    groups,
    handoff,
    reference,
)
from actbench import device as device_mod
from actbench import plan as plan_mod
from actbench.config import LOCATION_FIELDS, SweepConfig
from actbench.device import Pinning
from actbench.errors import ActbenchError
from actbench.groups import Group
from actbench.interrupts import SweepInterrupted, Terminated, sigterm_as_interrupt
from actbench.plan import Plan
from actbench.progress import Notes, Progress, between_stages
from actbench.records import TrialResult
from actbench.run_record import RunRecord
from actbench.spares import Spares
from actbench.step import check_mode
from actbench.storage import RunFolder

Done = set[tuple[str, int]]


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass
class SweepOutcome:
    folder: RunFolder
    summary: pd.DataFrame
    trained: int = 0  # trials trained by this call (0: a resume found nothing to do)
    redrawn: tuple[str, ...] = ()  # outputs a resume of a saved run wrote again


def _pin(plan: Plan) -> Pinning:
    c = plan.config
    fingerprint.check_pins(c.cpu_capability, c.flush_denormal)
    pinning = device_mod.pin(
        c.device, c.threads, c.cpu_affinity, c.deterministic, flush_denormal=c.flush_denormal
    )
    check_mode(c.mode, pinning.device)
    return pinning


def _next_group_id(folder: RunFolder) -> int:
    """The id of this execution's first group: one past every id the run has saved."""
    ids = [frame["group"].max() for frame in (folder.trials(), folder.rounds()) if len(frame)]
    return int(max(ids)) + 1 if ids else 0


def _done(folder: RunFolder) -> Done:
    trials = folder.trials()
    return set() if trials.empty else set(zip(trials["activation"], trials["seed"], strict=True))


def run(request: SweepConfig, quiet: bool = False) -> SweepOutcome:
    """Start a new run folder and train every trial `request` asks for; torch's settings
    in this process are as they were afterwards."""
    with device_mod.state_kept():
        return _run(plan_mod.build(request), quiet)


def _run(plan: Plan, quiet: bool) -> SweepOutcome:
    pinning = _pin(plan)
    with _ahead(plan, pinning, set()) as spares:
        return _start(plan, pinning, quiet, spares)


def _ahead(
    plan: Plan, pinning: Pinning, done: Done
) -> contextlib.AbstractContextManager[Spares | None]:
    """The workers of the first two waves of groups, started before the parent's checks."""
    todo, jobs = _scheduled(plan, pinning, done, 0)
    return executor.ahead(plan, pinning, jobs, min(len(todo), 2 * jobs))


def _scheduled(plan: Plan, pinning: Pinning, done: Done, first_id: int) -> tuple[list[Group], int]:
    """The groups still to train, the last wave's split to fill every slot, and the slots."""
    todo = groups.to_train(plan, done, first_id)
    jobs = plan.config.jobs or executor.default_jobs(pinning, len(todo))
    return groups.fill(plan, todo, jobs), jobs


def _start(plan: Plan, pinning: Pinning, quiet: bool, spares: Spares | None) -> SweepOutcome:
    """A new run folder, once the data loads and the network trains on it, and its sweep."""
    # refused before a run folder exists
    data_info, network_info = _data_info(plan, pinning, spares)
    executor.check_travels(plan)
    name = plan.config.name or f"{datetime.now():%Y%m%d-%H%M%S}-{pinning.device.type}"
    folder = RunFolder.create(plan.config.out, name)
    run_info = {
        "name": name,
        "status": "running",
        "config": plan.config.to_json(),
        "dataset_defaults": {
            k: list(v) if isinstance(v, tuple) else v for k, v in plan.filled.items()
        },
        "metric": plan.metric.name,
        "timing_method": clock.method(pinning.device),
        "reference": reference.describe(plan),
        "started": _now(),
        "finished": None,
        "data": data_info,
        "network": network_info,
    }
    try:
        return _execute(plan, pinning, folder, run_info, quiet, spares)
    except BaseException:
        folder.remove_if_empty()  # stopped before its first trial: leave nothing behind
        raise


def resume(
    ref: str | Path, given: SweepConfig, explicit: set[str], quiet: bool = False
) -> SweepOutcome:
    """Finish a saved run: its plan (the values in `explicit` must agree with it), missing
    trials only."""
    with device_mod.state_kept():
        return _resume(ref, given, explicit, quiet)


def _saved_plan(folder: RunFolder, given: SweepConfig, explicit: set[str]) -> Plan:
    """The saved run's plan, checked against what was given now: each value in `explicit`
    is resolved as the saved run's was (the baseline joins the activations, the dataset
    fills its defaults), then compared. Where data and workers are may change."""
    info = folder.info()
    saved = plan_mod.saved(info)
    typed = {n: getattr(given, n) for n in explicit if hasattr(given, n)}
    checked = set(typed) - LOCATION_FIELDS  # nothing typed to check: no second plan
    # a run sized by --precision was asked for its first seeds; it saved them all
    request = replace(saved.config, seeds=info.first_seeds or saved.config.seeds)
    asked = plan_mod.build(replace(request, **typed)) if checked else saved
    differ = request.differences(asked.config, only=checked)
    if differ:
        raise ActbenchError(
            f"cannot resume {folder.path}: configuration differs from the saved run "
            f"(saved vs given: {'; '.join(differ)})"
        )
    moved = {n: v for n, v in typed.items() if n in LOCATION_FIELDS - {"out", "name"}}
    if saved.config.threads is None:  # keep the thread count the finished trials were timed with
        moved["threads"] = info.environment.threads
    return saved.replaced(**moved)


def _resume(ref: str | Path, given: SweepConfig, explicit: set[str], quiet: bool) -> SweepOutcome:
    folder = RunFolder.open(ref, given.out)
    record = folder.info()
    if not record.environment.recorded:
        raise ActbenchError(f"{folder.path / 'run.json'} is not an actbench run (no environment)")
    run_info = record.to_dict()  # the document this resume updates and writes back
    plan = _saved_plan(folder, given, explicit)
    pinning = _pin(plan)
    recorded = record.environment.device
    if str(pinning.device) != recorded:
        raise ActbenchError(
            f"cannot resume {folder.path}: it ran on {recorded}, this would run on {pinning.device}"
        )
    folder.lock()  # held from here to the end of the resume (`_execute` releases it)
    with contextlib.ExitStack() as stack:
        try:
            folder.drop_unfinished()  # rows an interrupted trial appended before its row
            if not groups.to_train(plan, _done(folder)):  # every trial saved: nothing to train
                # unless a precision's first stage ended before its sizing was saved
                more = _second_stage(plan, folder, run_info, quiet)
                if more is None:
                    outcome = _complete(folder, run_info)
                    folder.unlock()
                    return outcome
                plan = more
            spares = stack.enter_context(_ahead(plan, pinning, _done(folder)))
            run_info["data"], network = _data_info(plan, pinning, spares)
            _same_network(folder, run_info.get("network") or {}, network)
        except BaseException:
            folder.unlock()
            raise
        run_info.setdefault("resumed", []).append(_now())
        run_info.update(status="running", finished=None)
        return _execute(plan, pinning, folder, run_info, quiet, spares)


def _data_info(plan: Plan, pinning: Pinning, spares: Spares | None) -> tuple[dict, dict]:
    """Load the data once and try the network on it, so that what cannot load or train is
    refused here; what run.json says of both. Local workers are handed this copy
    (`handoff.py`, where it can), so that none loads it again."""
    data, info = plan.dataset.load(plan.config, pinning.device)
    if spares is not None:  # before the network touches it: the values as loaded
        spares.hand(handoff.offer(data))
    return info, fit.check(plan, data)


def _same_network(folder: RunFolder, saved: dict, now: dict) -> None:
    """A resume trains the network its finished trials trained: refused when the user's
    factory or loader changed its code, or the network its shapes."""
    for key in ("factory", "loader"):
        before, after = (saved.get(key) or {}).get("sha256"), (now.get(key) or {}).get("sha256")
        if before and before != after:
            raise ActbenchError(
                f"cannot resume {folder.path}: the {key}'s code changed since its trials "
                f"trained (sha256 {before[:8]} then, {str(after)[:8]} now)"
            )
    if saved.get("shapes") and saved["shapes"] != now.get("shapes"):
        raise ActbenchError(f"cannot resume {folder.path}: the network's shapes changed")


def _complete(folder: RunFolder, run_info: dict) -> SweepOutcome:
    """A run whose every trial is saved: its outputs written if any is missing (a sweep
    stopped while drawing), then marked complete."""
    from actbench import printout  # matplotlib and scipy: for the end, not the start

    missing = tuple(printout.missing(folder))
    run = RunRecord.from_dict(run_info)
    if run.status != "complete" or missing:
        summary = printout.write(folder, run)
        run_info.update(status="complete", finished=run.finished or _now())
        folder.write_run(run_info)
        return SweepOutcome(folder, summary, redrawn=missing)
    return SweepOutcome(folder, printout.summarize_folder(folder))


def _execute(
    plan: Plan,
    pinning: Pinning,
    folder: RunFolder,
    run_info: dict,
    quiet: bool,
    spares: Spares | None = None,
) -> SweepOutcome:
    """Train what `folder` is missing, and a second stage's seeds when a precision asks for
    them; the folder is locked by the caller, unlocked here."""
    try:
        with sigterm_as_interrupt():
            outcome = _train(plan, pinning, folder, run_info, quiet, spares)
            more = _second_stage(plan, folder, run_info, quiet)
            if more is None:
                return outcome
            then = _train(more, pinning, folder, run_info, quiet, spares)
            return replace(then, trained=outcome.trained + then.trained)
    finally:
        folder.unlock()


def _second_stage(plan: Plan, folder: RunFolder, run_info: dict, quiet: bool) -> Plan | None:
    """A run asked for `--precision`, its first stage just trained: the seeds its costs need
    (`precision.size`) recorded in run.json, and the plan that trains them; None when no
    precision was asked, the stage was decided before (a resume), or no seed is needed."""
    c = plan.config
    if c.precision is None or "precision" in run_info or c.baseline is None:
        return None
    from actbench import precision

    sizing = precision.size(
        folder.rounds(), c.activations, c.baseline, c.seeds, c.precision, c.max_seeds
    )
    saved = RunRecord.from_dict(run_info).config  # as saved: no pin a resume moved
    run_info.update(precision=sizing.record(), config=replace(saved, seeds=sizing.seeds).to_json())
    folder.write_run(run_info)
    between_stages(precision.announce(sizing, c.precision, c.max_seeds), quiet)
    if not sizing.added:
        return None
    run_info.update(status="running", finished=None)
    return plan.replaced(seeds=sizing.seeds)


def _results(
    plan: Plan,
    pinning: Pinning,
    groups: list[Group],
    progress: Progress,
    jobs: int,
    spares: Spares | None,
    folder: RunFolder,
) -> Iterator[TrialResult]:
    """The executor's stream of finished trials: Ray tasks or worker processes."""
    started, finished, on_epoch = progress.group_started, progress.group_finished, progress.epoch
    if plan.config.executor == "ray":
        return executor.ray_trials(groups, plan, pinning, started, finished)
    finished = warming(finished, folder, len(groups), min(jobs, len(groups)))
    return executor.local(groups, plan, pinning, started, on_epoch, finished, jobs, spares)


def warming(
    finished: Callable[[Group], None], folder: RunFolder, count: int, slots: int
) -> Callable[[Group], None]:
    """`finished`, and `printout.warm` once, when the first slot frees with no group left to
    start on it (its core idles to the end): the end's imports (matplotlib, scipy, arch) and
    finished seeds' bootstraps are paid there, not after the last step. Nothing waits for
    it: no group is left to hand out. Best effort: what fails here, the end meets again."""
    left, warmed = count, False

    def on_finished(group: Group) -> None:
        nonlocal left, warmed
        finished(group)
        left -= 1
        if not warmed and 0 < left < slots:
            warmed = True
            with contextlib.suppress(Exception):
                from actbench import printout

                printout.warm(folder)

    return on_finished


def _train(
    plan: Plan,
    pinning: Pinning,
    folder: RunFolder,
    run_info: dict,
    quiet: bool,
    spares: Spares | None,
) -> SweepOutcome:
    machine = run_info.setdefault("environment", environment.collect(pinning))
    run_info["timer_overhead_us"] = clock.overhead_us(pinning.device)
    done = _done(folder)
    todo, jobs = _scheduled(plan, pinning, done, _next_group_id(folder))
    run_info["jobs"] = jobs  # groups at once in this (latest) execution
    folder.write_run(run_info)

    missing = {(name, g.seed) for g in todo for name in g.names} - done
    c = plan.config
    total = len(done) + len(missing)
    progress = Progress(total, c.epochs, c.schedule, quiet, len(done), plan.metric)
    results = _results(plan, pinning, todo, progress, jobs, spares, folder)
    pacers = {(g.seed, g.id, g.names[0]) for g in todo if g.paced}
    trained, notes = 0, Notes()
    try:
        for result in results:
            if (result.seed, result.group, result.activation) in pacers:
                folder.add_rounds(result)
                progress.trial_finished(result, pacer=True)
                continue
            notes.add(result)
            fingerprint.record_workers(machine, vars(result))
            folder.add_trial(result)
            trained += 1
            progress.trial_finished(result)
    except KeyboardInterrupt as stop:
        results.close()  # a Ray executor cancels its unfinished tasks
        outcome = _stopped(folder, run_info, progress, "interrupted", trained)
        notes.say()
        raise SweepInterrupted(outcome, isinstance(stop, Terminated)) from None
    except ActbenchError:  # a worker failed or died: what finished stays, tabulated
        results.close()
        _stopped(folder, run_info, progress, "failed", trained)
        notes.say()
        raise
    finally:
        results.close()  # any other error too: its workers stopped before their zygote ends
        if pinning.device.type == "cuda":
            torch.cuda.empty_cache()
    outcome = _stopped(folder, run_info, progress, "complete", trained)
    notes.say()
    return outcome


def _stopped(
    folder: RunFolder, run_info: dict, progress: Progress, status: str, trained: int
) -> SweepOutcome:
    """Write the summary and pictures from what is saved, then record how the sweep ended:
    a run stopped while drawing is not `complete`, and `--resume` draws what is missing."""
    from actbench import printout

    progress.close()
    run_info.update(finished=_now())
    summary = printout.write(folder, RunRecord.from_dict(run_info))
    run_info.update(status=status)
    folder.write_run(run_info)
    return SweepOutcome(folder, summary, trained)
