"""The one place where results are written and read back: a run folder.

    <out>/<name>/run.json      configuration + environment + start/end time
                 trials.csv    one row per (activation, seed)
                 history.csv   one row per epoch of every trial
                 rounds.csv    one row per round of every trial: its block's median step
                 memory.csv    per trial and layer, the bytes saved for backward in a step
                 steps/        each trial's timed steps after warm-up, in the order they
                               ran: one .npz per trial (`activation`, `seed`, `us`: µs,
                               float32), the raw times for a user's own statistics
                 summary.md    the results tables
                 summary.csv   one row per activation: the table's numbers, cost and gain
                 *.png         the pictures (`plot.py` draws, `printout.draw` saves)

A finished trial appends its rows to the CSVs (trials.csv last, so a trial listed there has
its history, rounds and steps saved) and writes its own steps file; nothing rewrites the
folder, so saving stays as cheap for the hundredth trial as for the first. A write killed
half-way (kill -9) leaves at most a torn last line, which readers ignore and the next
writer cuts, and rows of a trial that has no trials.csv row, which `--resume` drops
(`drop_unfinished`) before it trains that trial again. Whole files (run.json, the steps of
a trial, the summaries, the pictures) are replaced atomically (a temporary file, then a
rename). One writer at a time (`lock.RunLock`); every read is checked (`schema.py`). Files
get the mode any file the user creates gets (the umask applies).
"""

from __future__ import annotations

import csv
import hashlib
import io
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
from actbench.run_record import RunRecord

RUN_JSON, TRIALS, HISTORY, ROUNDS, MEMORY, STEPS, SUMMARY, SUMMARY_CSV = (
    "run.json",
    "trials.csv",
    "history.csv",
    "rounds.csv",
    "memory.csv",
    "steps",
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


def _complete_lines(path: Path) -> bytes:
    """The file's bytes up to its last newline: a line cut by a killed writer is not data."""
    data = path.read_bytes()
    return data[: data.rfind(b"\n") + 1]


def _csv_bytes(rows: list[dict], columns: list[str], header: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n", extrasaction="raise")
    if header:
        writer.writeheader()
    writer.writerows(pd.DataFrame(rows, columns=columns).to_dict("records"))
    return buffer.getvalue().encode("utf-8")


def _whole_lines_end(f) -> int:
    """Where the last whole line of the open file ends (its size, unless a killed writer
    left half a line): read backwards from the end, not the whole file."""
    end = f.seek(0, os.SEEK_END)
    position = end
    while position > 0:
        start = max(0, position - 65536)
        f.seek(start)
        newline = f.read(position - start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        position = start
    return 0


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append `rows` to the CSV at `path` in one write; a new file gets its header (and
    appears whole, by rename). A file written by an older version with other columns is
    rewritten once with the union of both. Only the header line and the tail are read."""
    if not rows:
        return
    columns = list(rows[0])
    if not path.is_file():
        _atomic(path, lambda p: p.write_bytes(_csv_bytes(rows, columns, header=True)))
        return
    with open(path, "r+b") as f:
        header = next(csv.reader([f.readline().decode("utf-8").rstrip("\r\n")]), [])
        if header == columns:
            f.truncate(_whole_lines_end(f))  # a torn last line from a killed writer goes first
            f.seek(0, os.SEEK_END)
            f.write(_csv_bytes(rows, columns, header=False))
            return
    kept = _complete_lines(path)
    old = pd.read_csv(io.BytesIO(kept)) if kept else pd.DataFrame()
    merged = pd.concat([old, pd.DataFrame(rows)], ignore_index=True)
    _atomic(path, lambda p: merged.to_csv(p, index=False))


def write_text(path: Path, text: str) -> None:
    _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    _atomic(path, lambda p: p.write_bytes(data))


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
        looked = " and ".join(str(path / RUN_JSON) for path in candidates)
        raise ActbenchError(
            f"no actbench run at {ref}: looked for {looked}; a run is named by its folder's "
            "path, or by its name under {out}",
            ["out"],
        )

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
        """Save one finished trial: its steps, then its history and rounds, then its row."""
        self._write_steps(trial)
        append_rows(self.path / HISTORY, trial.history_rows())
        append_rows(self.path / MEMORY, trial.memory_rows())
        self.add_rounds(trial)
        append_rows(self.path / TRIALS, [trial.row()])  # last: the trial is saved

    def add_rounds(self, trial: TrialResult) -> None:
        """Save a trial's rounds (all a pacer leaves behind: see `runner._groups`)."""
        append_rows(self.path / ROUNDS, trial.round_rows())

    def _write_steps(self, trial: TrialResult) -> None:
        """The trial's raw step times, one file of its own: its activation and seed as
        scalars beside them, so `np.load` alone says whose they are (docs/results.md)."""
        arrays = {
            "activation": np.array(trial.activation, dtype=str),
            "seed": np.array(trial.seed, dtype=np.int64),
            "us": np.asarray(trial.step_us, dtype=np.float32),
        }

        def write(p: Path) -> None:
            with open(p, "wb") as f:
                np.savez_compressed(f, **arrays)

        folder = self.path / STEPS
        folder.mkdir(exist_ok=True)
        key = hashlib.sha1(trial.activation.encode()).hexdigest()[:12]
        _atomic(folder / f"seed{trial.seed}-{key}.npz", write)

    def drop_unfinished(self) -> None:
        """Drop the rows of trials that have no trials.csv row (a writer stopped between
        them) and any torn last line, before a resume trains those trials again. A pacer's
        rounds belong to a saved baseline and stay."""
        trials = self.trials()
        keys = () if trials.empty else zip(trials["activation"], trials["seed"], strict=True)
        saved = set(keys)
        for name in (TRIALS, HISTORY, ROUNDS, MEMORY):
            path = self.path / name
            if not path.is_file():
                continue
            kept = _complete_lines(path)
            frame = pd.read_csv(io.BytesIO(kept)) if kept.count(b"\n") > 1 else pd.DataFrame()
            if not frame.empty and name != TRIALS:
                keys = zip(frame["activation"], frame["seed"].astype(int), strict=True)
                frame = frame[[key in saved for key in keys]]
            if frame.empty:
                path.unlink()
            elif len(kept) != path.stat().st_size or len(frame) != kept.count(b"\n") - 1:
                _atomic(path, lambda p, f=frame: f.to_csv(p, index=False))

    def write_summary(self, text: str, summary: pd.DataFrame) -> None:
        write_text(self.path / SUMMARY, text)
        _atomic(self.path / SUMMARY_CSV, lambda p: summary.to_csv(p, index=False))

    def write_pictures(self, pictures: dict[str, bytes]) -> list[Path]:
        """Save the run's pictures (file name -> PNG bytes), each replaced whole."""
        for name, data in pictures.items():
            write_bytes(self.path / name, data)
        return [self.path / name for name in pictures]

    # -- reading ---------------------------------------------------------------------------
    def info(self) -> RunRecord:
        """The run as its run.json records it (any version's, upgraded), read again only
        when the file changed: what every reader of a run reads."""
        path = self.path / RUN_JSON
        try:
            stat = path.stat()
            key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            cached = getattr(self, "_info", None)
            if cached is None or cached[0] != key:
                saved = json.loads(path.read_text(encoding="utf-8"))
                self._info = key, RunRecord.from_dict(saved, path)
        except (OSError, ValueError) as exc:
            raise ActbenchError(f"cannot read {path}: {exc}") from None
        return self._info[1]

    def run_info(self) -> dict:
        """run.json as a plain dict in today's format (`RunRecord.to_dict`), the caller's own
        copy: for the API and scripts; the package reads `info()`."""
        return self.info().to_dict()

    def _expected(self) -> tuple[set[str], set[int]]:
        """The activations (the baseline among them) and seeds the run trains."""
        config = self.info().config
        baseline = {config.baseline} if config.baseline else set()
        return set(config.activations) | baseline, set(config.seeds)

    def _csv(self, name: str) -> pd.DataFrame:
        path = self.path / name
        if not path.is_file():
            return pd.DataFrame()
        try:
            kept = _complete_lines(path)
            frame = pd.read_csv(io.BytesIO(kept)) if kept else pd.DataFrame()
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ActbenchError(f"cannot read {path}: {first}") from None
        if frame.empty:
            return frame
        return schema.table(frame, path, *self._expected())

    def trials(self) -> pd.DataFrame:
        """One row per finished trial, in today's columns (`schema.upgrade_trials`)."""
        trials = self._csv(TRIALS)
        return trials if trials.empty else schema.upgrade_trials(trials, self.info().config)

    def history(self) -> pd.DataFrame:
        return self._csv(HISTORY)

    def rounds(self) -> pd.DataFrame:
        """Per-round median step times; empty for runs saved before rounds existed."""
        return self._csv(ROUNDS)

    def round_times(self) -> pd.DataFrame:
        """Per-round median step times: rounds.csv, or for a run saved before it, its saved
        steps cut into rounds as they were then (`schema.rounds_from_steps`)."""
        rounds = self.rounds()
        return rounds if not rounds.empty else schema.rounds_from_steps(self.steps())

    def memory(self) -> pd.DataFrame:
        """Per trial and layer, bytes saved for backward; empty for runs saved before."""
        return self._csv(MEMORY)

    def steps(self) -> dict[tuple[str, int], np.ndarray]:
        """Per-trial step times (µs) after warm-up, keyed by (activation, seed); files of
        older formats read through `schema.upgrade_steps`."""
        files = sorted((self.path / STEPS).glob("*.npz")) if (self.path / STEPS).is_dir() else []
        steps: dict[tuple[str, int], np.ndarray] = {}
        for path in schema.old_step_files(self.path) + files:
            steps.update(self._steps_file(path))
        return steps

    def _steps_file(self, path: Path) -> dict[tuple[str, int], np.ndarray]:
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as exc:  # a damaged zip raises BadZipFile, EOFError, OSError, ...
            raise ActbenchError(
                f"cannot read {path} ({type(exc).__name__}: {exc}); the run's per-step times "
                "are lost: run the sweep again to re-create it"
            ) from None
        return schema.steps(arrays, path, *self._expected())
