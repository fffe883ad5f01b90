"""The health picture of a run: per activation, each layer's dead and saturated units and
its gradient's norm, epoch by epoch (history.csv's health columns, mean over seeds).

One row of panels per activation, three panels a row, each a layers × epochs map, with
one colour scale per column so activations read against each other: a sigmoid stack's
gradient fading towards the first layer shows as a dark bottom row in the third column.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

KINDS = (
    ("dead", "dead units (%)", "Reds"),
    ("saturated", "saturated entries (%)", "Oranges"),
    ("grad_norm", "log10 gradient norm", "viridis"),
)


def layer_columns(history: pd.DataFrame, kind: str) -> list[str]:
    """`kind`_1, `kind`_2, ... in layer order."""
    pattern = re.compile(rf"^{kind}_(\d+)$")
    found = [(int(m.group(1)), c) for c in history.columns if (m := pattern.match(c))]
    return [c for _, c in sorted(found)]


def has_health(history: pd.DataFrame) -> bool:
    return bool(layer_columns(history, "grad_norm")) and history["grad_ratio"].notna().any()


def _maps(history: pd.DataFrame, kind: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per activation, a layers × epochs array (mean over seeds) of the epochs read, and
    those epochs (evenly spaced: `instruments.Instruments.reads`)."""
    columns = layer_columns(history, kind)
    means = history.groupby(["activation", "epoch"], sort=False)[columns].mean().dropna(how="all")
    out = {}
    for name, frame in means.groupby(level="activation", sort=False):
        values = frame.to_numpy(dtype=float).T
        values = np.log10(np.clip(values, 1e-12, None)) if kind == "grad_norm" else 100 * values
        out[name] = (values, frame.index.get_level_values("epoch").to_numpy())
    return out


def _extent(epochs: np.ndarray, layers: int) -> tuple[float, float, float, float]:
    """Each read epoch a cell centred on its number; each layer a cell on its number."""
    half = (epochs[1] - epochs[0]) / 2 if epochs.size > 1 else 0.5
    return (epochs[0] - half, epochs[-1] + half, 0.5, layers + 0.5)


def figure(label: str, title: str, history: pd.DataFrame) -> Figure:
    """Activations as rows; dead, saturated and gradient norm as columns, each with its
    colour bar in a narrow column of its own. Fixed margins, no layout engine: fifteen
    panels under constrained layout took 1.5-2 s to save, the slowest of a run's pictures."""
    maps = {kind: _maps(history, kind) for kind, _, _ in KINDS}
    names = list(maps["grad_norm"])
    height = 0.6 + 1.5 * len(names)
    fig = Figure(figsize=(11, height))
    grid = fig.add_gridspec(
        len(names), 3 * len(KINDS), width_ratios=[1, 0.05, 0.28] * len(KINDS),
        left=0.07, right=0.97, top=1 - 0.55 / height, bottom=0.45 / height,
        hspace=0.45, wspace=0.1,
    )  # fmt: skip
    for col, (kind, heading, cmap) in enumerate(KINDS):
        present = [m for m, _ in maps[kind].values() if np.isfinite(m).any()]
        low = min((np.nanmin(m) for m in present), default=0.0)
        high = max((np.nanmax(m) for m in present), default=1.0)
        if kind != "grad_norm":  # a share: from 0, and a scale even when nothing is dead
            low, high = 0.0, max(high, 1.0)
        image = None
        for row, name in enumerate(names):
            ax = fig.add_subplot(grid[row, 3 * col])
            values, epochs = maps[kind].get(name, (np.empty((0, 0)), np.empty(0)))
            if np.isfinite(values).any():  # a trial that diverged at once has no readings
                layers = values.shape[0]
                image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=low, vmax=high,
                                  origin="lower", interpolation="nearest",
                                  extent=_extent(epochs, layers))  # fmt: skip
                ax.set_yticks(range(1, layers + 1))
            ax.set_ylabel(f"{name}\nlayer" if col == 0 else "layer", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if row == 0:
                ax.set_title(heading, fontsize=9)
            if row == len(names) - 1:
                ax.set_xlabel("epoch", fontsize=8)
        if image is not None:
            bar = fig.colorbar(image, cax=fig.add_subplot(grid[:, 3 * col + 1]))
            bar.ax.tick_params(labelsize=7)
    fig.suptitle(f"actbench {label}: training health per layer, {title}", fontsize=9)
    return fig
