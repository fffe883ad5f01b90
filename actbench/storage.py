"""The one place where results are written and read back: a run folder.

    <out>/<name>/run.json      configuration + environment + start/end time
                 trials.csv    one row per (activation, seed)
                 history.csv   one row per epoch of every trial
                 rounds.csv    one row per round of every trial: its block's median step
                 steps.npz     every timed step (µs, float32) of every trial, after warm-up
                 summary.md    the results tables
                 summary.csv   one row per activation: the table's numbers, cost and gain

Every file is replaced atomically (write a temporary file, then rename) after each
finished trial, so an interrupted sweep keeps everything that finished.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from actbench.errors import ActbenchError
from actbench.records import TrialResult

RUN_JSON, TRIALS, HISTORY, ROUNDS, STEPS, SUMMARY, SUMMARY_CSV = (
    "run.json",
    "trials.csv",
    "history.csv",
    "rounds.csv",
    "steps.npz",
    "summary.md",
    "summary.csv",
)


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _append(table: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    new = pd.DataFrame(rows)
    return new if table.empty else pd.concat([table, new], ignore_index=True)


def _without(table: pd.DataFrame, trial: TrialResult, by_group: bool = False) -> pd.DataFrame:
    if table.empty:
        return table
    same = (table["activation"] == trial.activation) & (table["seed"] == trial.seed)
    if by_group:
        same &= table["group"] == trial.group
    return table[~same]


def write_text(path: Path, text: str) -> None:
    _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, out: Path, name: str) -> RunFolder:
        """Make `<out>/<name>` and prove it is writable before any training starts."""
        path = Path(out).expanduser() / name
        if path.exists() and any(path.iterdir()):
            raise ActbenchError(f"run folder {path} already exists; pick another --name")
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as exc:
            raise ActbenchError(f"cannot write results to {path}: {exc.strerror or exc}") from None
        return cls(path)

    @classmethod
    def open(cls, ref: str | Path, out: Path | None = None) -> RunFolder:
        """A saved run by folder path, or by name under `out`."""
        candidates = [Path(ref)]
        if out is not None:
            candidates.append(Path(out) / str(ref))
        for path in candidates:
            if (path / RUN_JSON).is_file():
                return cls(path)
        raise ActbenchError(f"no actbench run at {ref} (looked for {RUN_JSON})")

    @classmethod
    def list(cls, out: Path) -> list[RunFolder]:
        """Every run folder directly under `out`, sorted by name."""
        out = Path(out)
        if not out.is_dir():
            return []
        return [cls(p) for p in sorted(out.iterdir()) if (p / RUN_JSON).is_file()]

    # -- writing ---------------------------------------------------------------------------
    def write_run(self, info: dict) -> None:
        write_text(self.path / RUN_JSON, json.dumps(info, indent=2, default=str) + "\n")

    def add_trial(self, trial: TrialResult) -> None:
        """Append one finished trial to every table, atomically."""
        trials = _append(_without(self.trials(), trial), [trial.row()])
        # a trial interrupted after its history was written leaves rows a resume replaces
        history = _append(_without(self.history(), trial), trial.history_rows())
        steps = self.steps()
        steps[(trial.activation, trial.seed)] = trial.step_us
        _atomic(self.path / HISTORY, lambda p: history.to_csv(p, index=False))
        self.add_rounds(trial)
        self._write_steps(steps)
        # trials.csv last: a trial listed there has its history and steps saved too
        _atomic(self.path / TRIALS, lambda p: trials.to_csv(p, index=False))

    def add_rounds(self, trial: TrialResult) -> None:
        """Save a trial's rounds (all a pacer leaves behind: see `sweep._groups`)."""
        rounds = _append(_without(self.rounds(), trial, by_group=True), trial.round_rows())
        if rounds.empty:  # a trial too short to have timed rounds
            return
        _atomic(self.path / ROUNDS, lambda p: rounds.to_csv(p, index=False))

    def _write_steps(self, steps: dict[tuple[str, int], np.ndarray]) -> None:
        keys = list(steps)
        lengths = np.array([len(steps[k]) for k in keys], dtype=np.int64)
        arrays = {
            "activation": np.array([k[0] for k in keys], dtype=str),
            "seed": np.array([k[1] for k in keys], dtype=np.int64),
            "offset": np.concatenate([[0], np.cumsum(lengths)]),
            "us": np.concatenate([steps[k] for k in keys]).astype(np.float32)
            if keys
            else np.empty(0, np.float32),
        }

        def write(p: Path) -> None:
            with open(p, "wb") as f:
                np.savez_compressed(f, **arrays)

        _atomic(self.path / STEPS, write)

    def write_summary(self, text: str, summary: pd.DataFrame) -> None:
        write_text(self.path / SUMMARY, text)
        _atomic(self.path / SUMMARY_CSV, lambda p: summary.to_csv(p, index=False))

    # -- reading ---------------------------------------------------------------------------
    def run_info(self) -> dict:
        try:
            return json.loads((self.path / RUN_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ActbenchError(f"cannot read {self.path / RUN_JSON}: {exc}") from None

    def _csv(self, name: str) -> pd.DataFrame:
        path = self.path / name
        if not path.is_file():
            return pd.DataFrame()
        try:
            return pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise ActbenchError(f"cannot read {path}: {exc}") from None

    def trials(self) -> pd.DataFrame:
        return self._csv(TRIALS)

    def history(self) -> pd.DataFrame:
        return self._csv(HISTORY)

    def rounds(self) -> pd.DataFrame:
        """Per-round median step times; empty for runs saved before rounds existed."""
        return self._csv(ROUNDS)

    def steps(self) -> dict[tuple[str, int], np.ndarray]:
        """Per-trial step times (µs) after warm-up, keyed by (activation, seed)."""
        path = self.path / STEPS
        if not path.is_file():
            return {}
        try:
            with np.load(path) as z:
                off = z["offset"]
                return {
                    (str(a), int(s)): z["us"][off[i] : off[i + 1]]
                    for i, (a, s) in enumerate(zip(z["activation"], z["seed"], strict=True))
                }
        except (OSError, ValueError, KeyError) as exc:
            raise ActbenchError(f"cannot read {path}: {exc}") from None
