"""Subnormal numbers counted where they live (`health.py`) and said in one sentence
(`actbench/subnormals.py`)."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from actbench import health, subnormals
from actbench.network import MARK


def test_subnormal_values_are_counted_by_hand():
    # float32's smallest normal is 1.18e-38: 1e-40, 1e-39 and -1e-41 lie below it, 0 does not
    values = torch.tensor([1e-40, 0.0, 1.0, 1e-39, -1e-41])
    assert health.subnormal_pct([values]) == 60.0
    assert health.subnormal_pct([torch.tensor([1e-40], dtype=torch.float64)]) == 0.0  # normal
    assert health.subnormal_pct([torch.tensor([1, 2])]) != health.subnormal_pct([])  # NaN


def test_the_probe_counts_what_the_activation_reads_and_writes():
    act = nn.ReLU()
    setattr(act, MARK, True)
    model = nn.Sequential(act, nn.Linear(2, 2))
    x = torch.tensor([[1e-40, 1.0], [-2.0, 3e-39]])  # inputs: 2 of 4 subnormal
    probe = health.Probe(model, nn.functional.cross_entropy, x, torch.tensor([0, 1]))
    values = probe.read()
    assert values["subnormal_in_pct"] == 50.0
    assert values["subnormal_out_pct"] == 50.0  # relu keeps both, zeroes -2: 2 of 4
    assert 0.0 <= values["subnormal_grad_pct"] <= 100.0


def test_the_sentence_names_only_shares_worth_a_word():
    summary = pd.DataFrame(
        {
            "activation": ["relu", "tanh"],
            "subnormal_pct": [1.3, 0.0],
            "subnormal_in_pct": [0.0, 0.001],
            "subnormal_grad_pct": [0.25, 0.0],
        }
    )
    text = subnormals.sentence(summary)
    assert "relu 1.30 % of its weights and optimizer state, 0.25 % of its weight gradients" in text
    assert "tanh" not in text
    assert subnormals.sentence(summary.assign(subnormal_pct=0.0, subnormal_grad_pct=0.0)) == ""


def test_history_without_the_counts_gives_no_columns():
    history = pd.DataFrame({"activation": ["relu"], "epoch": [1], "subnormal_pct": [0.5]})
    assert subnormals.table(history).empty
    history = history.assign(
        subnormal_in_pct=[1.0], subnormal_out_pct=[2.0], subnormal_grad_pct=[3.0]
    )
    assert subnormals.table(history).loc["relu", "subnormal_out_pct"] == 2.0
