"""Pictures of a run: accuracy against step time, and learning curves.

Reads only saved records (trials.csv, history.csv, run.json) and draws with matplotlib's
Agg backend, so it works on headless machines and never touches training code.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from actbench import table
from actbench.storage import RunFolder

SCATTER, CURVES = "accuracy_vs_us_per_step.png", "learning_curves.png"


def describe(run: dict) -> str:
    """'cpu (AMD EPYC), 2 threads, mlp, eager': which machine, model and mode this was."""
    env, cfg = run.get("environment", {}), run.get("config", {})
    where = f"{env.get('device', '?')} ({env.get('device_name', '?')})"
    if env.get("device", "cpu").startswith("cpu"):
        where += f", {env.get('threads', '?')} threads"
    return f"{where}, {cfg.get('model', 'mlp')}, {cfg.get('mode', 'eager')}"


def _scatter(ax, summary: pd.DataFrame, label: str | None, color=None) -> None:
    x = summary["us_per_step_median"]
    y = 100 * summary["test_accuracy_mean"]
    xerr = [x - summary["us_per_step_p25"], summary["us_per_step_p75"] - x]
    yerr = (100 * summary["test_accuracy_std"]).fillna(0.0)
    ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", capsize=3, label=label, color=color)
    for name, xi, yi in zip(summary["activation"], x, y, strict=True):
        ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(5, 4), fontsize=9)


def scatter(runs: list[tuple[str, dict, pd.DataFrame]], path: Path) -> Path:
    """One point per activation (and run): test accuracy vs median µs/step.

    Error bars: accuracy std over seeds, step-time IQR.
    """
    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    for label, run, summary in runs:
        _scatter(ax, summary, f"{label}: {describe(run)}" if len(runs) > 1 else None)
    medians = pd.concat([summary["us_per_step_median"] for _, _, summary in runs])
    if medians.max() > 10 * medians.min():  # e.g. CPU vs GPU, MLP vs CNN
        ax.set_xscale("log")
    ax.set_xlabel("median training step time (µs/step, bars = IQR)")
    ax.set_ylabel("test accuracy (%, bars = std over seeds)")
    if len(runs) == 1:
        label, run, _ = runs[0]
        ax.set_title(f"actbench {label}: accuracy vs step time\n{describe(run)}")
    else:
        ax.set_title("actbench: accuracy vs step time, " + " vs ".join(r[0] for r in runs))
        ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def learning_curves(label: str, run: dict, history: pd.DataFrame, path: Path) -> Path:
    """Validation loss and accuracy per epoch, one line per activation (mean over seeds)."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    means = history.groupby(["activation", "epoch"], sort=False)[
        ["val_loss", "val_accuracy"]
    ].mean()
    for activation, curve in means.groupby(level="activation", sort=False):
        epochs = curve.index.get_level_values("epoch")
        loss_ax.plot(epochs, curve["val_loss"], label=activation)
        acc_ax.plot(epochs, 100 * curve["val_accuracy"], label=activation)
    loss_ax.set(xlabel="epoch", ylabel="validation loss (cross-entropy)", title="validation loss")
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
    acc_ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"actbench {label}: learning curves, {describe(run)}")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def draw_run(folder: RunFolder) -> list[Path]:
    """(Re)draw both pictures inside a run folder from its saved records."""
    trials = folder.trials()
    if trials.empty:
        return []
    run = folder.run_info()
    return [
        scatter([(folder.name, run, table.summarize(trials))], folder.path / SCATTER),
        learning_curves(folder.name, run, folder.history(), folder.path / CURVES),
    ]


def overlay(folders: list[RunFolder], path: Path) -> Path:
    """Several runs in one scatter (e.g. CPU vs GPU, before vs after)."""
    runs = [(f.name, f.run_info(), table.summarize(f.trials())) for f in folders]
    return scatter(runs, path)
