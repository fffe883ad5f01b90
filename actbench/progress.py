"""What the user sees while a sweep runs: tqdm bars on a terminal, plain lines otherwise.

Work goes by group (the trials of one seed, in a worker process of its own; several at once
with --jobs); under the interleaved schedule the trials of a group train together, so a
terminal shows one bar per running group, counting epochs over all its trials. Everything
goes to stderr so that stdout carries only tables.
"""

from __future__ import annotations

import sys
import warnings

from tqdm import tqdm

from actbench.errors import ActbenchWarning
from actbench.groups import Group
from actbench.records import EpochRecord, TrialResult
from actbench.stats import MIN_TIMED_STEPS
from actbench.task import ACCURACY, Metric


def between_stages(text: str, quiet: bool = False) -> None:
    """A line between a sweep's stages (no bar is open then), such as --precision's sizing."""
    if not quiet:
        print(text, file=sys.stderr, flush=True)


class Progress:
    def __init__(
        self,
        total_trials: int,
        max_epochs: int,
        schedule: str = "",
        quiet: bool = False,
        done: int = 0,
        metric: Metric = ACCURACY,
    ) -> None:
        self.total, self.max_epochs, self.quiet = total_trials, max_epochs, quiet
        self.metric = metric  # the dataset's: what each epoch and trial line reports
        self.schedule = schedule
        self.interactive = sys.stderr.isatty()
        self.finished = done  # trials finished before (a resumed run)
        self._bars: dict[int, tqdm] = {}  # by seed: the groups running now
        self._parts: dict[int, int] = {}  # by seed: its groups running now (a split seed's parts)

    def _line(self, text: str) -> None:
        if self._bars:
            tqdm.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def group_started(self, group: Group) -> None:
        """A group is handed to a worker process (or a Ray task); a seed split into parts
        keeps one bar."""
        seed, activations = group.seed, group.names
        self._parts[seed] = self._parts.get(seed, 0) + 1
        if self.quiet:
            return
        how = f" ({self.schedule})" if self.schedule and len(activations) > 1 else ""
        label = f"seed {seed}: {', '.join(activations)}{how}"
        if self.interactive and seed in self._bars:
            self._line(label)
            self._bars[seed].total += self.max_epochs * len(activations)
            self._bars[seed].refresh()
        elif self.interactive:
            self._line(label)
            self._bars[seed] = tqdm(
                total=self.max_epochs * len(activations),
                desc=f"seed {seed}",
                unit="epoch",
                file=sys.stderr,
                dynamic_ncols=True,
                position=len(self._bars),
                leave=False,
            )
        else:
            print(label, file=sys.stderr, flush=True)

    def group_finished(self, group: Group) -> None:
        self._parts[group.seed] = self._parts.get(group.seed, 1) - 1
        if self._parts[group.seed] > 0:  # another part of the seed still trains
            return
        bar = self._bars.pop(group.seed, None)
        if bar is not None:
            bar.close()

    def epoch(self, record: EpochRecord) -> None:
        if self.quiet:
            return
        score = getattr(record, self.metric.val_column)
        facts = f"val {self.metric.brief(score)}, {record.us_per_step_median:.0f} µs/step"
        bar = self._bars.get(record.seed)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{record.activation} epoch {record.epoch}: {facts}")
        else:
            self._line(
                f"seed {record.seed} {record.activation} epoch {record.epoch}/"
                f"{self.max_epochs}: val loss {record.val_loss:.4f}, {facts}"
            )

    def trial_finished(self, trial: TrialResult, pacer: bool = False) -> None:
        bar = self._bars.get(trial.seed)
        if bar is not None:  # an early stop leaves fewer epochs to wait for
            bar.total -= self.max_epochs - trial.epochs
            bar.refresh()
        if self.quiet:
            return
        if pacer:
            self._line(
                f"{trial.activation} seed {trial.seed}: trained again beside the seed's other "
                "trials (rounds kept for their costs; its saved row is unchanged)"
            )
            return
        self.finished += 1
        verdict = (
            f"diverged at epoch {trial.diverged_epoch}"
            if trial.diverged
            else f"test {self.metric.brief(getattr(trial, self.metric.column))}"
        )
        self._line(
            f"[{self.finished}/{self.total}] {trial.activation} seed {trial.seed}: {verdict}, "
            f"median {trial.us_per_step_median:.1f} µs/step over "
            f"{trial.steps - trial.warmup_steps} timed steps on {trial.host}"
        )

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


class Notes:
    """What a reader of the rows should know, said once per sweep when it ends (one
    warning per kind, however many trials it concerns, and never over a progress bar)."""

    def __init__(self) -> None:
        self.rough: list[tuple[str, int, int]] = []  # (activation, seed, timed steps)
        self.diverged: list[str] = []

    def add(self, result: TrialResult) -> None:
        timed = result.steps - result.warmup_steps
        if timed < MIN_TIMED_STEPS:
            self.rough.append((result.activation, result.seed, timed))
        if result.diverged:
            self.diverged.append(
                f"{result.activation} (seed {result.seed}) at epoch {result.diverged_epoch}"
            )

    def say(self) -> None:
        if self.rough:
            steps = sorted(t for _, _, t in self.rough)
            which = ", ".join(f"{a} (seed {s})" for a, s, _ in self.rough)
            counts = f"{steps[0]}" if steps[0] == steps[-1] else f"{steps[0]}-{steps[-1]}"
            warnings.warn(
                ActbenchWarning(
                    f"{len(self.rough)} trial(s) have only {counts} timed steps, so their "
                    f"step-time statistics are rough (more {{epochs}} or a larger "
                    f"{{train_limit}} help): {which}",
                    ["epochs", "train_limit"],
                ),
                stacklevel=4,
            )
        if self.diverged:
            warnings.warn(ActbenchWarning(f"diverged: {'; '.join(self.diverged)}"), stacklevel=4)
