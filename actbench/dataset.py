"""The datasets a sweep can train on, each bringing its task, its models and its defaults.

`--dataset` picks one. A dataset knows how to load itself onto the device, which models
fit its inputs, what it is trained and scored on (`task.py`: accuracy for the image
classifiers, RMSE for the series), and the settings its source article used where they
differ from MNIST's (the airline LSTM: batch 1, 150 epochs, no early stopping, 6 units).
Those per-dataset defaults fill only what the user left unset, and run.json records which
values came from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from actbench import config, series
from actbench import data as data_mod
from actbench.errors import ActbenchError
from actbench.model import image_shape
from actbench.task import Classification, Regression, Task


@dataclass(frozen=True)
class Dataset:
    name: str
    task: Task
    models: tuple[str, ...]
    defaults: dict[str, object] = field(repr=False)

    def check(self, cfg) -> None:
        """What this dataset refuses in a resolved configuration."""
        if cfg.model in config.MODELS and cfg.model not in self.models:  # a factory: any
            raise ActbenchError(
                f"{{model}} {cfg.model} does not fit {{dataset}} {self.name}; "
                f"use {' or '.join(self.models)}",
                ["model", "dataset"],
            )

    def load(self, cfg, device: torch.device) -> tuple[data_mod.DeviceData, dict]:
        """The data on `device`, checked against the configuration, and what run.json says
        of it."""
        data, info = self._load(cfg, device)
        if data.x_train.shape[0] < cfg.batch_size:
            raise ActbenchError(
                f"the training split has {data.x_train.shape[0]} examples, fewer than one batch "
                f"of {cfg.batch_size}; lower {{batch_size}}"
                + ("" if cfg.train_limit is None else " or raise {train_limit}"),
                ["batch_size", "train_limit"],
            )
        sizes = {"train": data.x_train, "val": data.x_val, "test": data.x_test}
        return data, {**info, **{k: int(v.shape[0]) for k, v in sizes.items()}}

    def _load(self, cfg, device: torch.device) -> tuple[data_mod.DeviceData, dict]:
        raise NotImplementedError


@dataclass(frozen=True)
class ImageDataset(Dataset):
    source: data_mod.ImageSource = data_mod.MNIST_SOURCE

    def check(self, cfg) -> None:
        super().check(cfg)
        if cfg.window is not None:
            raise ActbenchError(
                f"{{window}} applies to series ({{dataset}} airline), not {self.name}",
                ["window", "dataset"],
            )

    def _load(self, cfg, device: torch.device) -> tuple[data_mod.DeviceData, dict]:
        data_dir = Path(cfg.data_dir or data_mod.default_data_dir())
        images = data_mod.load(data_dir, download=cfg.download, source=self.source)
        resident = data_mod.prepare(
            images,
            device,
            cfg.val_fraction,
            cfg.train_limit,
            cfg.split_seed,
            image_shape(cfg.model),
        )
        return resident, {"dir": str(data_dir), "reader": images.reader}


@dataclass(frozen=True)
class SeriesDataset(Dataset):
    source: series.SeriesSource = series.AIRLINE_SOURCE

    def check(self, cfg) -> None:
        super().check(cfg)
        if cfg.train_limit is not None:
            raise ActbenchError(
                f"{{train_limit}} applies to image datasets, not {self.name}", ["train_limit"]
            )

    def _load(self, cfg, device: torch.device) -> tuple[data_mod.DeviceData, dict]:
        values = series.read(self.source)
        resident = series.prepare(values, device, cfg.window, cfg.val_fraction)
        return resident, {
            "reader": "packaged",
            "file": self.source.file,
            "unit": self.source.unit,
            "min": float(values.min()),
            "max": float(values.max()),
        }


def _dataset(name: str, task: Task, kind: type[Dataset] | None = None, **source) -> Dataset:
    models, defaults = config.DATASETS[name]
    return (kind or ImageDataset)(name, task, models, defaults, **source)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        _dataset("mnist", Classification()),
        _dataset("fashion-mnist", Classification(), source=data_mod.FASHION_SOURCE),
        _dataset("kmnist", Classification(), source=data_mod.KMNIST_SOURCE),
        _dataset("airline", Regression(), SeriesDataset),
    )
}
NAMES = tuple(DATASETS)
