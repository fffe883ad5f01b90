"""The cells every table shares: a score with its spread, a number with its interval, and
how a table is laid out (one set of formatters for the sweep's table and `compare`'s)."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

import pandas as pd
import tabulate as tabulate_mod
from tabulate import tabulate

if TYPE_CHECKING:
    from actbench.task import Metric

MISSING = "—"
COLUMNS = 100  # what a terminal shows without wrapping: the compact tables fit in it


def words(values: pd.Series) -> pd.Series:
    """A column of text as text: '' where a value is missing (NaN, None)."""
    return values.map(lambda v: v if isinstance(v, str) else "").astype(str)


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


def wrapped(text: str) -> str:
    """A paragraph broken into lines of at most `COLUMNS` characters."""
    return textwrap.fill(text, COLUMNS, break_on_hyphens=False) if text else text


def disturbed(reasons: str) -> str:
    """A timing cell in a word or two: 'ok', 'disturbed', or 'disturbed ×2' (seeds); the
    reasons themselves are in the wide table and summary.md."""
    if not isinstance(reasons, str) or not reasons:
        return "ok"
    seeds = len(re.findall(r"seed \d+:", reasons))
    return f"disturbed ×{seeds}" if seeds > 1 else "disturbed"


def tabulated(frame: pd.DataFrame, fmt: str) -> str:
    """`frame` as a table in tabulate's `fmt`, each column as wide as its widest cell or
    header (tabulate's default pads every header by two more, 12 columns of a table's 100)."""
    padding, tabulate_mod.MIN_PADDING = tabulate_mod.MIN_PADDING, 0
    try:
        return tabulate(frame, headers="keys", tablefmt=fmt, showindex=False, disable_numparse=True)
    finally:
        tabulate_mod.MIN_PADDING = padding
