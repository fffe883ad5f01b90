"""Subnormal numbers in a run, counted where they live, said in one sentence.

x86 computes on subnormal floats (nonzero, below the dtype's smallest normal number) many
times slower unless they are flushed to zero (`--flush-denormal`; pytorch#23862). A dead relu
unit's Adam moments decay through that range; a saturated sigmoid's gradients can fall into
it. Each epoch read counts their share in the weights and optimizer state (`subnormal_pct`,
`breakdown.subnormal_fraction`) and, on the health probe's batch, in what the activation
reads and writes and in the weights' gradients (`health.py`). Here, per activation, the
median over every epoch read of every seed; what they cost is a paired timing with
flushing off and on (the committed `flush-denormal` run against `default`; the kernels
probe's `--flush-denormal`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLACES = {
    "subnormal_pct": "weights and optimizer state",
    "subnormal_in_pct": "activation inputs",
    "subnormal_out_pct": "activation outputs",
    "subnormal_grad_pct": "weight gradients",
}
SHOWN = 0.01  # % below which a share is not worth a word
HISTORY = tuple(c for c in PLACES if c != "subnormal_pct")


def table(history: pd.DataFrame | None) -> pd.DataFrame:
    """Per activation, the median share (%) of each place's values that is subnormal, over
    the epochs read; empty for runs saved before these were counted."""
    if history is None or not set(HISTORY) <= set(history.columns):
        return pd.DataFrame(columns=list(HISTORY)).rename_axis("activation")
    return history.groupby("activation", sort=False)[list(HISTORY)].median()


def sentence(summary: pd.DataFrame) -> str:
    """' Subnormal values (median over the epochs read): relu 1.3 % of its weights and
    optimizer state, ...' for the activations with any share worth a word; '' if none."""
    places = [c for c in PLACES if c in summary]
    parts = []
    for row in summary.to_dict("records"):
        shares = [
            f"{row[c]:.2f} % of its {PLACES[c]}"
            for c in places
            if np.isfinite(row[c]) and row[c] >= SHOWN
        ]
        if shares:
            parts.append(f"{row['activation']} " + ", ".join(shares))
    if not parts:
        return ""
    return " Subnormal values (median over the epochs read): " + "; ".join(parts) + "."
