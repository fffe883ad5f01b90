"""A univariate time series shipped inside the package, verified, cut into windows.

The airline-passengers series (Box & Jenkins series G: monthly totals 1949-1960, in
thousands, public domain) is 144 numbers, so it travels with actbench
(`actbench/series_data/`) and nothing is downloaded. Every load checks it against its
published facts (count, total, first and last value): an edited or truncated file is an
error, not a quietly different benchmark.

Preparation follows the article actbench reproduces: the whole series is min-max scaled to
[0, 1] (the article fits its scaler on all 144 values; RMSE is reported on that scale and,
multiplied back, in the series' own unit), a window of `window` past values predicts the
next one, the last 10 % of windows are the test set and the last `val_fraction` of the
rest validate, in time order as Keras' `validation_split` takes them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch

from actbench.data import DeviceData
from actbench.errors import ActbenchError

TEST_FRACTION = 0.1


@dataclass(frozen=True)
class SeriesSource:
    """A packaged series and the facts it must match."""

    name: str
    file: str  # in actbench/series_data/
    column: str
    unit: str
    count: int
    total: float
    first: float
    last: float


AIRLINE_SOURCE = SeriesSource(
    name="airline passengers",
    file="airline-passengers.csv",
    column="passengers",
    unit="thousand passengers",
    count=144,
    total=40363,
    first=112,
    last=432,
)


def parse(text: str, source: SeriesSource, where: str) -> np.ndarray:
    """The series' values from CSV text, checked against `source`'s facts."""
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
        values = np.array([float(row[source.column]) for row in rows], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise ActbenchError(f"{where} is not the {source.name} series ({exc!r})") from None
    facts = {
        "values": (values.size, source.count),
        "total": (float(values.sum()) if values.size else 0.0, source.total),
        "first value": (values[0] if values.size else None, source.first),
        "last value": (values[-1] if values.size else None, source.last),
    }
    for fact, (got, want) in facts.items():
        if got != want:
            raise ActbenchError(
                f"{where} fails its check: {fact} {got}, want {want} (damaged copy? reinstall "
                "actbench)"
            )
    return values


def read(source: SeriesSource = AIRLINE_SOURCE) -> np.ndarray:
    """The packaged series, verified."""
    path = resources.files("actbench") / "series_data" / source.file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ActbenchError(f"cannot read the packaged series {path}: {exc}") from None
    return parse(text, source, str(path))


def windows(scaled: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (N, window, 1) of `window` consecutive values, and each one's next value (N, 1)."""
    if window < 1 or window >= scaled.size - 1:
        raise ActbenchError(
            f"{{window}} must be between 1 and {scaled.size - 2} for a series of {scaled.size} "
            f"values, got {window}",
            ["window"],
        )
    x = np.lib.stride_tricks.sliding_window_view(scaled[:-1], window)
    y = scaled[window:]
    return x[..., None].copy(), y[:, None].copy()


def split_sizes(n: int, val_fraction: float) -> tuple[int, int, int]:
    """(train, val, test) window counts, in time order."""
    n_test = round(n * TEST_FRACTION)
    n_val = round((n - n_test) * val_fraction)
    n_train = n - n_test - n_val
    if min(n_test, n_val, n_train) < 1:
        raise ActbenchError(
            f"{n} windows leave an empty split (train {n_train}, validation {n_val}, "
            f"test {n_test}); lower {{window}} or change {{val_fraction}}",
            ["window", "val_fraction"],
        )
    return n_train, n_val, n_test


def prepare(
    values: np.ndarray, device: torch.device, window: int, val_fraction: float
) -> DeviceData:
    """Scaled windows, split in time order, on `device` once."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low)
    x, y = windows(scaled, window)
    n_train, n_val, _ = split_sizes(x.shape[0], val_fraction)

    def on_device(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).to(device=device, dtype=torch.float32)

    cut = (slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, None))
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
        (on_device(x[part]), on_device(y[part])) for part in cut
    )
    return DeviceData(x_train, y_train, x_val, y_val, x_test, y_test, target_scale=high - low)
