"""The cells every table shares: a score with its spread, a number with its interval, and
how a table is laid out (one set of formatters for the sweep's table and `compare`'s)."""

from __future__ import annotations

import sys

import pandas as pd
from tabulate import tabulate

from actbench.task import Metric

MISSING = "—"


def number(value: float, spec: str) -> str:
    return MISSING if pd.isna(value) else format(value, spec)


def score(metric: Metric, mean: float, std: float) -> str:
    """'97.60 ± 0.12': the metric's mean over seeds and its spread (mean alone for one)."""
    if pd.isna(mean):
        return MISSING
    return metric.format(mean) + ("" if pd.isna(std) else f" ± {metric.format(std)}")


def interval(value: float, low: float, high: float, spec: str, unit: str = "") -> str:
    """'+5.7% [+4.9, +6.5]': a value and its interval (the value alone without one)."""
    if pd.isna(value):
        return MISSING
    if pd.isna(low):
        return f"{value:{spec}}{unit}"
    return f"{value:{spec}}{unit} [{low:{spec}}, {high:{spec}}]"


def default_format() -> str:
    """A grid on a terminal; GitHub markdown on a pipe, so output pastes into an issue."""
    return "rounded_grid" if sys.stdout.isatty() else "github"


def tabulated(frame: pd.DataFrame, fmt: str) -> str:
    return tabulate(frame, headers="keys", tablefmt=fmt, showindex=False, disable_numparse=True)
