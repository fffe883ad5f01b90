"""Shared fixtures: tiny MNIST-format IDX files that the tests write themselves."""

from __future__ import annotations

import contextlib
import gzip
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from actbench import device, executor, printout, spares, worker
from actbench.config import SweepConfig
from actbench.data import FILES, IMAGE_MAGIC, LABEL_MAGIC
from actbench.records import EpochRecord, TrialResult
from actbench.storage import RunFolder


def write_idx(path: Path, array: np.ndarray, magic: int, compress: bool = False) -> Path:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    blob = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(blob))
    else:
        path.write_bytes(blob)
    return path


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: a bright 7x7 block whose position encodes the label, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 4)
        images[i, 7 * r : 7 * r + 7, 7 * c : 7 * c + 7] = 255
    return images, labels


def make_mnist(root: Path, n_train: int = 600, n_test: int = 200, compress: bool = False) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for train, n, seed in ((True, n_train, 1), (False, n_test, 2)):
        images, labels = synthetic_digits(n, seed)
        image_name, label_name = FILES[train]
        write_idx(raw / image_name, images, IMAGE_MAGIC, compress)
        write_idx(raw / label_name, labels, LABEL_MAGIC, compress)
    return root


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """Root folder holding MNIST/raw/ with 600 training and 200 test images."""
    return make_mnist(tmp_path / "data")


@pytest.fixture
def no_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import torchvision` fail, as a torch/torchvision version mismatch does."""
    for name in list(sys.modules):
        if name == "torchvision" or name.startswith("torchvision."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torchvision", None)


@pytest.fixture
def tiny_config(tiny_mnist: Path, tmp_path: Path) -> SweepConfig:
    return SweepConfig(
        activations=["relu", "tanh"],
        device="cpu",
        threads=1,
        seeds=[0],
        hidden=(32, 32),
        batch_size=50,
        epochs=4,
        patience=2,
        warmup_steps=5,
        data_dir=tiny_mnist,
        download=False,
        out=tmp_path / "results",
        name="tiny",
    )


def _in_this_process(groups, plan, pinning, started, on_epoch, finished, jobs=1, spares=None):
    """`executor.local`'s stand-in: the seed groups train one after another in the test's
    process, through the worker's own `train_group`."""
    for group in groups:
        started(group)
        yield from worker.train_group(plan, group, pinning, on_epoch)
        finished(group)


def _none_ahead(plan, pinning, jobs, count):
    """No worker started ahead: the in-process stand-in needs none."""
    return contextlib.nullcontext()


@contextlib.contextmanager
def in_process() -> Iterator[None]:
    """Sweeps started inside train in this process (for fixtures wider than a test, which
    the autouse fixture below does not reach)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(executor, "local", _in_this_process)
        patch.setattr(executor, "ahead", _none_ahead)
        patch.setattr(spares, "prestart", lambda cpu_capability=None: None)
        yield


@pytest.fixture(autouse=True)
def _sweeps_train_in_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A worker process imports torch afresh (seconds per seed), so sweeps in tests train
    in the test's process, unless the test is about the worker processes (`workers`)."""
    if request.node.get_closest_marker("workers") is None:
        monkeypatch.setattr(executor, "local", _in_this_process)
        monkeypatch.setattr(executor, "ahead", _none_ahead)
        monkeypatch.setattr(spares, "prestart", lambda cpu_capability=None: None)


def _no_pictures(folder, summary=None) -> list[Path]:
    """`printout.draw`'s stand-in: nothing drawn (a second or more a sweep, in matplotlib)."""
    return []


@pytest.fixture(autouse=True)
def _pictures_only_where_tested(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A sweep in a test draws its pictures only where the test is about them (`pictures`);
    the others check numbers and text, and the pictures have tests of their own."""
    if request.node.get_closest_marker("pictures") is None:
        monkeypatch.setattr(printout, "draw", _no_pictures)


@pytest.fixture(autouse=True)
def _torch_settings_restored():
    """Tests of `device.pin` change the process's threads and affinity on purpose; the
    next test gets them back (a later test may need both CPUs)."""
    threads = torch.get_num_threads()
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    flush = device.flushing()
    yield
    torch.set_flush_denormal(flush)
    torch.set_num_threads(threads)
    if affinity is not None and os.sched_getaffinity(0) != affinity:
        os.sched_setaffinity(0, affinity)


def fake_trial(
    activation="relu", seed=0, n=5, accuracy=0.97, us=800.0, reference=100.0
) -> TrialResult:
    """A finished trial with `n` step times around `us` µs, for tests of what reads records."""
    history = [
        EpochRecord(activation, seed, e, 0.5 / e, 0.6 / e, 0.9, 1.0, us, reference * (1 + e / 100))
        for e in range(1, 11)
    ]
    return TrialResult(
        activation=activation,
        seed=seed,
        device="cpu",
        device_name="cpu",
        threads=2,
        cpu_affinity="0,1",
        deterministic=False,
        mode="eager",
        model="mlp",
        host="testhost",
        compile_seconds=0.0,
        test_accuracy=accuracy,
        test_loss=0.1,
        best_val_loss=0.3,
        best_epoch=2,
        epochs=2,
        steps=n + 1,
        warmup_steps=1,
        us_per_step_median=us + (n - 1) / 2,
        us_per_step_p25=790.0,
        us_per_step_p75=810.0,
        us_per_step_mean=801.0,
        us_per_step_std=5.0,
        timed_seconds=0.004,
        train_seconds=0.01,
        diverged=False,
        diverged_epoch=None,
        history=history,
        step_us=np.arange(n, dtype=np.float32) + us,
    )


def first_result_then_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C right after the first trial of the sweep has been saved (in the parent: the
    trials themselves train in worker processes)."""
    real = RunFolder.add_trial

    def add_then_interrupt(self, result):
        real(self, result)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "add_trial", add_then_interrupt)


def train_alone(cfg: SweepConfig, data, name: str, seed: int, pinning, **kw) -> TrialResult:
    """One trial of `cfg`'s plan trained start to finish on its own."""
    from actbench import activation, plan, trainer

    trial = trainer.Trial(plan.build(cfg), data, activation.resolve(name), seed, pinning, **kw)
    while not trial.advance():
        pass
    return trial.result()


def example_runs(results: Path) -> list[Path]:
    """The example run folders this repository tracks under `results` (a run a user made
    there with `--out results` is theirs, not an example the docs describe; the folders a
    script keeps one level deeper, like results/breakdown_check/, are its evidence)."""
    listed = subprocess.run(
        ["git", "-C", str(results), "ls-files", "--", ":(glob)*/run.json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:  # not a git checkout (an sdist): every folder is an example
        return sorted(p.parent for p in results.glob("*/run.json"))
    return sorted((results / line).parent for line in listed.stdout.splitlines())


def process_state(pid: int) -> str:
    """The process's state letter from /proc ('Z': exited, not yet reaped; '-': gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:  # pid (comm) state ppid ...
            return stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "-"


def still_running(pids: list[int | None], seconds: float = 5.0) -> list[int]:
    """Those of `pids` (None: never started) still running once they have had `seconds`
    to exit (polled: an exit is not an event this process can wait on)."""
    deadline = time.monotonic() + seconds
    while True:
        left = [pid for pid in pids if pid is not None and process_state(pid) not in "Z-"]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)
