"""A seed apart: found from the per-seed costs, named under the table, with what its rounds
say of why (`actbench/outliers.py`)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import actbench
from actbench import outliers

BASE_US = 1000.0


def _rounds(ratios: dict[int, float], starts: dict[int, float] | None = None, n: int = 40):
    """Rounds of `tanh` and `identity` per seed: identity at 1000 µs, tanh at the seed's
    ratio times a small wobble (so that a seed's median has a finite standard error)."""
    rows = []
    for seed, ratio in ratios.items():
        start = (starts or {}).get(seed, 0.0)
        for k in range(n):
            wobble = 1 + 0.002 * math.sin(1.7 * k + seed)
            common = {"seed": seed, "group": seed, "round": k, "epoch": 1}
            rows.append({**common, "activation": "identity", "us_median": BASE_US})
            rows.append({**common, "activation": "tanh", "us_median": BASE_US * ratio * wobble})
            rows[-1]["start_seconds"] = rows[-2]["start_seconds"] = start + k
    return pd.DataFrame(rows)


def _median_cost(ratios: list[float]) -> float:
    """The median of the seeds' costs in %, each seed's taken on the log scale."""
    return 100 * (math.exp(float(np.median(np.log(ratios)))) - 1)


def test_a_seed_far_from_the_others_is_named_with_both_costs():
    frame = outliers.table(_rounds({0: 1.32, 1: 1.34, 2: 1.60}), "identity", None)
    row = frame.loc["tanh"]
    assert row["apart_seed"] == 2
    # seed 2's wobble is symmetric about 1.60 over 40 rounds: its median is within 0.2 %
    assert row["apart_cost_pct"] == pytest.approx(60.0, abs=0.4)
    assert row["apart_others_pct"] == pytest.approx(_median_cost([1.32, 1.34]), abs=0.3)
    assert row["apart_rounds_pct"] == 100  # every round of it sits near its own cost
    assert bool(row["apart_alone"]) is False  # all three trained over the same seconds


def test_seeds_a_few_points_apart_or_only_two_seeds_name_no_one():
    assert outliers.table(_rounds({0: 1.32, 1: 1.34, 2: 1.38}), "identity", None).empty
    assert outliers.table(_rounds({0: 1.32, 1: 1.60}), "identity", None).empty
    # far in points, but the others are as far from each other: a spread, not one apart
    assert outliers.table(_rounds({0: 1.10, 1: 1.40, 2: 1.70}), "identity", None).empty


def test_a_seed_that_trained_alone_is_said_to_fit_a_spell_too():
    starts = {0: 0.0, 1: 0.0, 2: 100.0}  # seeds 0 and 1 were done before seed 2 began
    summary = outliers.table(_rounds({0: 1.32, 1: 1.34, 2: 1.60}, starts), "identity", None)
    (note,) = outliers.notes(summary.reset_index())
    assert note.startswith("seed apart: tanh cost +60.")
    assert "seed 2's process" in note and "a slow spell fits as well as a slow process" in note


def test_the_seeds_kernels_alone_tell_the_kernel_from_what_is_around_it():
    rounds = _rounds({0: 1.32, 1: 1.34, 2: 1.60})
    history = pd.DataFrame(
        {"activation": "tanh", "seed": [0, 0, 1, 1, 2, 2], "kernel_us": [40, 42, 41, 43, 95, 97]}
    )
    (note,) = outliers.notes(outliers.table(rounds, "identity", history).reset_index())
    # seed 2's median 96 against the median of seeds 0 (41) and 1 (42): 41.5
    assert "Its kernels alone read 96.0 µs against 41.5 µs" in note
    assert "the kernel itself ran at another speed there" in note
    history.loc[history["seed"] == 2, "kernel_us"] = [42, 44]
    (note,) = outliers.notes(outliers.table(rounds, "identity", history).reset_index())
    assert "the kernel ran as usual" in note
    # a tiny layer's kernel, net of identity's calls, lost in noise: no ratio, no verdict
    history.loc[history["seed"] == 2, "kernel_us"] = [-3, -1]
    (note,) = outliers.notes(outliers.table(rounds, "identity", history).reset_index())
    assert note.startswith("seed apart: tanh") and "Its kernels alone" not in note


DAWDLE = """
import torch
from torch import nn


class Dawdle(nn.Module):
    def __init__(self):
        super().__init__()
        self.slow = torch.initial_seed() == 2  # built for seed 2's network (actbench seeds it)

    def forward(self, x):
        y = torch.tanh(x)
        for _ in range(40 if self.slow else 0):  # extra work in seed 2's trial alone
            y = y + 0 * torch.tanh(x)
        return y
"""


@pytest.mark.slow
@pytest.mark.workers
def test_a_seed_made_slow_on_purpose_is_named_under_the_table(tiny_mnist, tmp_path: Path):
    (tmp_path / "acts.py").write_text(textwrap.dedent(DAWDLE))
    spec = f"{tmp_path}/acts.py:Dawdle"
    run = actbench.sweep(
        [spec], device="cpu", seeds=[0, 1, 2], jobs=2, epochs=6, hidden=(32, 32),
        batch_size=50, warmup_steps=5, round_steps=2, data_dir=tiny_mnist, download=False,
        out=tmp_path / "runs", quiet=True,
    )  # fmt: skip
    row = run.summary.set_index("activation").loc[spec]
    assert row["apart_seed"] == 2
    assert row["apart_cost_pct"] > row["apart_others_pct"] + outliers.APART_POINTS
    assert f"seed apart: {spec}" in run.text()
