"""What the user sees while a sweep runs: tqdm bars on a terminal, plain lines otherwise.

Everything goes to stderr so that stdout carries only the final table.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from actbench.records import EpochRecord, TrialResult


class Progress:
    def __init__(self, total_trials: int, max_epochs: int, quiet: bool = False) -> None:
        self.total, self.max_epochs, self.quiet = total_trials, max_epochs, quiet
        self.interactive = sys.stderr.isatty()
        self._bar: tqdm | None = None
        self._labels: dict[tuple[str, int], str] = {}

    def trial_submitted(self, index: int, activation: str, seed: int) -> None:
        """A trial handed to another process (Ray): only its end will be reported."""
        self._labels[(activation, seed)] = f"[{index}/{self.total}] {activation} seed {seed}"

    def trial_started(self, index: int, activation: str, seed: int) -> None:
        self.trial_submitted(index, activation, seed)
        if not self.quiet and self.interactive:
            self._bar = tqdm(
                total=self.max_epochs,
                desc=self._labels[(activation, seed)],
                unit="epoch",
                file=sys.stderr,
                dynamic_ncols=True,
            )

    def epoch(self, record: EpochRecord) -> None:
        if self.quiet:
            return
        facts = f"val acc {100 * record.val_accuracy:.2f}%, {record.us_per_step_median:.0f} µs/step"
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(facts)
        else:
            print(
                f"{self._labels[(record.activation, record.seed)]} epoch "
                f"{record.epoch}/{self.max_epochs}: "
                f"val loss {record.val_loss:.4f}, {facts}",
                file=sys.stderr,
                flush=True,
            )

    def trial_finished(self, trial: TrialResult) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.quiet:
            return
        label = self._labels[(trial.activation, trial.seed)]
        verdict = (
            f"diverged at epoch {trial.diverged_epoch}"
            if trial.diverged
            else f"test acc {100 * trial.test_accuracy:.2f}%"
        )
        print(
            f"{label}: {verdict}, median {trial.us_per_step_median:.1f} µs/step "
            f"over {trial.steps - trial.warmup_steps} timed steps on {trial.host}",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
