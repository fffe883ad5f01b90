"""The one place where results are written and read back: a run folder.

    <out>/<name>/run.json      configuration + environment + start/end time
                 trials.csv    one row per (activation, seed)
                 history.csv   one row per epoch of every trial
                 rounds.csv    one row per round of every trial: its block's median step
                 steps.npz     every timed step (µs, float32) of every trial, after warm-up
                 summary.md    the results tables
                 summary.csv   one row per activation: the table's numbers, cost and gain

Every file is replaced atomically (write a temporary file, then rename) after each
finished trial, so an interrupted sweep keeps everything that finished, and a reader never
sees half a file. One writer at a time (`lock.RunLock`); every read is checked
(`schema.py`). Files get the mode any file the user creates gets (the umask applies).
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from actbench import schema
from actbench.errors import ActbenchError
from actbench.lock import LOCK, RunLock
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
    # created like any file (mode 0666 less the umask), not 0600 as mkstemp would
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
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
        """Make `<out>/<name>`, prove it writable and lock it (`lock()` / `unlock()`)."""
        path = Path(out).expanduser() / name
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as exc:
            raise ActbenchError(f"cannot write results to {path}: {exc.strerror or exc}") from None
        folder = cls(path)
        folder.lock()  # before the check: of two sweeps started at once, one is refused
        if any(p.name != LOCK for p in path.iterdir()):
            folder.unlock()
            raise ActbenchError(f"run folder {path} already exists; pick another --name")
        return folder

    def lock(self) -> None:
        """Become the folder's only writer (refused in one line if another process is)."""
        if getattr(self, "_lock", None) is None:
            self._lock = RunLock(self.path).acquire()

    def unlock(self) -> None:
        if getattr(self, "_lock", None) is not None:
            self._lock.release()
            self._lock = None

    def remove_if_empty(self) -> None:
        """Undo `create` when no trial was saved (a sweep that stopped before its first):
        only its run.json, lock and temporary files are there, and they go."""
        self.unlock()
        if not self.path.is_dir() or (self.path / TRIALS).exists():
            return
        own = {RUN_JSON, LOCK}
        files = list(self.path.iterdir())
        if all(p.name in own or p.name.endswith(".tmp") for p in files):
            for p in files:
                p.unlink(missing_ok=True)
            self.path.rmdir()

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
        """Save a trial's rounds (all a pacer leaves behind: see `runner._groups`)."""
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
        path = self.path / RUN_JSON
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ActbenchError(f"cannot read {path}: {exc}") from None
        return schema.run_info(info, path)

    def _csv(self, name: str) -> pd.DataFrame:
        path = self.path / name
        if not path.is_file():
            return pd.DataFrame()
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ActbenchError(f"cannot read {path}: {first}") from None
        if frame.empty:
            return frame
        return schema.table(frame, path, *schema.expected(self.run_info()))

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
                arrays = {k: z[k] for k in z.files}
        except Exception as exc:  # a damaged zip raises BadZipFile, EOFError, OSError, ...
            raise ActbenchError(
                f"cannot read {path} ({type(exc).__name__}: {exc}); the run's per-step times "
                "are lost: run the sweep again to re-create it"
            ) from None
        return schema.steps(arrays, path, *schema.expected(self.run_info()))
