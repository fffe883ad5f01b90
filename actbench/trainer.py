"""One trial: train the MLP with one activation and one seed, timing every step.

A *step* (see `step.py`) is zero_grad + forward + loss + backward + optimizer step on one
batch that is already on the device. Fetching the batch (an index_select of the resident
tensors into static buffers), accumulating the loss, evaluation and early-stopping
bookkeeping all happen outside the timed region. The loss is accumulated on the device
and read once per epoch, so the hot loop never waits for the host.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from actbench import timing
from actbench.activations import Activation
from actbench.config import SweepConfig
from actbench.data import DeviceData
from actbench.device import Pinning
from actbench.model import build
from actbench.records import EpochRecord, TrialResult
from actbench.step import make_step

EVAL_BATCH = 2_000  # measured: faster than one 12k-row GEMM chain on a 2-core CPU (cache)
EpochCallback = Callable[[EpochRecord], None]


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over (x, y), in large batches, one host read."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for i in range(0, x.shape[0], EVAL_BATCH):
        logits = model(x[i : i + EVAL_BATCH])
        target = y[i : i + EVAL_BATCH]
        loss_sum += F.cross_entropy(logits, target, reduction="sum")
        correct += (logits.argmax(dim=1) == target).sum()
    model.train()
    n = x.shape[0]
    return loss_sum.item() / n, correct.item() / n


def batch_order(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """This epoch's shuffled example order, drawn on the device from the trial's generator."""
    return torch.randperm(n, generator=generator, device=device)


def train_trial(
    data: DeviceData,
    activation: Activation,
    seed: int,
    cfg: SweepConfig,
    pinning: Pinning,
    on_epoch: EpochCallback | None = None,
) -> TrialResult:
    device = pinning.device
    model = build(cfg.model, cfg.hidden, activation, seed).to(device)
    x, y = data.x_train, data.y_train
    bs = cfg.batch_size
    n_batches = x.shape[0] // bs  # full batches only: every timed step does the same work
    if n_batches < 1:
        raise ValueError(f"training split of {x.shape[0]} is smaller than one batch of {bs}")
    setup_start = time.perf_counter()
    step = make_step(cfg.mode, model, cfg.optimizer, cfg.lr, x, y, bs)
    setup_seconds = time.perf_counter() - setup_start  # CUDA graph capture, if any
    generator = torch.Generator(device=device).manual_seed(seed)
    clock = timing.clock_for(device)
    reference = timing.Reference(device)

    best_val, best_epoch, best_state = math.inf, 0, None
    history: list[EpochRecord] = []
    step_chunks: list[np.ndarray] = []
    diverged_epoch = None
    trial_start = time.perf_counter()

    for epoch in range(1, cfg.epochs + 1):
        reference_us = reference.measure_us()
        epoch_start = time.perf_counter()
        order = batch_order(x.shape[0], generator, device)
        loss_sum = torch.zeros((), device=device)
        fetch_ns = 0
        for b in range(n_batches):
            fetch_start = time.perf_counter_ns()
            step.fetch(order[b * bs : (b + 1) * bs])
            fetch_ns += time.perf_counter_ns() - fetch_start
            clock.start()
            loss = step()
            clock.stop()
            loss_sum += loss.detach()
        epoch_us = clock.collect()
        step_chunks.append(epoch_us)
        train_loss = loss_sum.item() / n_batches
        eval_start = time.perf_counter()
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        eval_seconds = time.perf_counter() - eval_start
        record = EpochRecord(
            activation=activation.name,
            seed=seed,
            epoch=epoch,
            train_loss=train_loss,
            val_loss=val_loss,
            val_accuracy=val_acc,
            epoch_seconds=time.perf_counter() - epoch_start,
            us_per_step_median=float(np.median(epoch_us)),
            reference_us=reference_us,
            steps_seconds=float(epoch_us.sum()) / 1e6,
            fetch_seconds=fetch_ns / 1e9,
            eval_seconds=eval_seconds,
        )
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            diverged_epoch = epoch
            break
        if val_loss < best_val:
            best_val, best_epoch = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif cfg.patience and epoch - best_epoch >= cfg.patience:
            break
    train_seconds = time.perf_counter() - trial_start

    if best_state is not None:  # early stopping: test the best-validation weights
        model.load_state_dict(best_state)
    if diverged_epoch is not None and best_state is None:
        test_loss, test_acc = math.nan, math.nan
    else:
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test)

    all_us = np.concatenate(step_chunks) if step_chunks else np.empty(0)
    # a compiled step's first call is compilation: never part of the statistics
    # and a short trial (a quick run, a divergence) keeps at least half its steps timed
    warmup_wanted = max(cfg.warmup_steps, 1 if cfg.mode == "compile" else 0)
    warmup = min(warmup_wanted, max(all_us.size // 2, 1 if cfg.mode == "compile" else 0))
    timed = all_us[warmup:]
    stats = timing.StepStats.of(timed)
    compile_seconds = (
        max(float(all_us[0]) - stats.median, 0.0) / 1e6 if cfg.mode == "compile" else 0.0
    )
    return TrialResult(
        activation=activation.name,
        seed=seed,
        device=str(device),
        device_name=pinning.device_name,
        threads=pinning.threads,
        cpu_affinity=pinning.cpu_affinity,
        deterministic=pinning.deterministic,
        mode=cfg.mode,
        model=cfg.model,
        host=socket.gethostname(),
        test_accuracy=test_acc,
        test_loss=test_loss,
        best_val_loss=best_val,
        best_epoch=best_epoch,
        epochs=len(history),
        steps=int(all_us.size),
        warmup_steps=warmup,
        us_per_step_median=stats.median,
        us_per_step_p25=stats.p25,
        us_per_step_p75=stats.p75,
        us_per_step_mean=stats.mean,
        us_per_step_std=stats.std,
        timed_seconds=float(all_us.sum()) / 1e6,
        compile_seconds=compile_seconds + setup_seconds,
        train_seconds=train_seconds,
        diverged=diverged_epoch is not None,
        diverged_epoch=diverged_epoch,
        history=history,
        step_us=timed.astype(np.float32),
    )
