"""A user's data: `--dataset FILE.py:NAME` or `module:NAME` on the command line, a loader
or the tensors themselves from Python.

A loader takes no argument and returns `{"train": ..., "test": ...}`, optionally with
`"val"`; each entry is a pair of tensors `(x, y)` or a `torch.utils.data.Dataset` that fits
in memory (read once, item by item, and stacked). Without `"val"`, a validation split is
held out of the training split as for MNIST (`val_fraction`, `split_seed`), after
`train_limit` took the first examples. The task follows from the labels unless `task`
says it: integer labels are classification (cross-entropy, accuracy), float targets
regression (MSE, RMSE). The tensors move to the device once; the timed step slices them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from actbench import config
from actbench.data import DeviceData, split_indices
from actbench.dataset import Dataset
from actbench.errors import ActbenchError
from actbench.task import Classification, Regression, Task

TASKS = {"classification": Classification, "regression": Regression}
Pair = tuple[torch.Tensor, torch.Tensor]
# by loader: a plan peeks at the labels, the parent's load reuses them (the loader is kept
# in the value, so its id is not reused while the entry lives)
_LOADED: dict[int, tuple[object, dict[str, Pair]]] = {}


def _refuse(spec: str, problem: str) -> ActbenchError:
    return ActbenchError(f"{{dataset}} {spec}: {problem}", ["dataset"])


def _stacked(spec: str, key: str, items: torch.utils.data.Dataset) -> Pair:
    """A map-style Dataset read into two tensors (it must fit in memory)."""
    try:
        pairs = [items[i] for i in range(len(items))]
        xs = torch.stack([torch.as_tensor(x) for x, _ in pairs])
        ys = torch.stack([torch.as_tensor(y) for _, y in pairs])
    except Exception as exc:
        raise _refuse(spec, f"{key!r} could not be read as (x, y) items: {exc}") from None
    return xs, ys


def _pair(spec: str, key: str, entry: object) -> Pair:
    if isinstance(entry, torch.utils.data.Dataset) and hasattr(entry, "__len__"):
        x, y = _stacked(spec, key, entry)
    elif isinstance(entry, tuple | list) and len(entry) == 2:
        x, y = entry
    else:
        raise _refuse(
            spec, f"{key!r} is a {type(entry).__name__}, not a pair (x, y) of tensors or a Dataset"
        )
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise _refuse(
            spec, f"{key!r} holds {type(x).__name__} and {type(y).__name__}, not two tensors"
        )
    if x.shape[0] != y.shape[0]:
        raise _refuse(
            spec, f"{key!r} has {x.shape[0]} inputs but {y.shape[0]} labels; they must match"
        )
    if x.shape[0] == 0:
        raise _refuse(spec, f"{key!r} is empty")
    return x, y


def read(spec: str, load: Callable[[], object]) -> dict[str, Pair]:
    """What the loader returns, checked: train and test (and val) as (x, y) pairs."""
    if id(load) in _LOADED:
        return _LOADED[id(load)][1]
    try:
        given = load() if callable(load) else load
    except ActbenchError:
        raise
    except Exception as exc:
        raise _refuse(spec, f"the loader failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(given, Mapping):
        raise _refuse(spec, f"the loader returned {type(given).__name__}, not a mapping")
    missing = [k for k in ("train", "test") if k not in given]
    unknown = sorted(set(given) - {"train", "val", "test"})
    if missing or unknown:
        raise _refuse(
            spec,
            "the loader's mapping needs 'train' and 'test' (and may have 'val'); "
            + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"),
        )
    splits = {k: _pair(spec, k, v) for k, v in given.items()}
    kinds = {
        k: (x.dtype.is_floating_point, y.dtype.is_floating_point) for k, (x, y) in splits.items()
    }
    if len(set(kinds.values())) > 1:
        raise _refuse(spec, f"the splits' dtypes differ: {_dtypes(splits)}")
    _LOADED[id(load)] = (load, splits)
    return splits


def _dtypes(splits: Mapping[str, Pair]) -> str:
    return "; ".join(f"{k} x {x.dtype}, y {y.dtype}" for k, (x, y) in splits.items())


def task_for(spec: str, load: Callable[[], object], task: str | None) -> Task:
    """The task `task` names, else the one the training labels imply."""
    if task is not None:
        return TASKS[task]()
    _, y = read(spec, load)["train"]
    return Regression() if y.dtype.is_floating_point else Classification()


@dataclass(frozen=True)
class UserDataset(Dataset):
    """A dataset from a user's loader; the loader travels to each worker with the plan."""

    load_fn: Callable[[], object] = field(default=None, repr=False, compare=False)

    def check(self, cfg) -> None:
        for param in ("window",):
            if getattr(cfg, param) is not None:
                raise ActbenchError(
                    f"{{{param}}} applies to the built-in series, not a user's dataset", [param]
                )
        if cfg.task is not None and self.task.__class__ is not TASKS[cfg.task]:
            raise ActbenchError(f"{{task}} {cfg.task} does not fit {self.name}", ["task"])

    def _load(self, cfg, device: torch.device) -> tuple[DeviceData, dict]:
        splits = dict(read(self.name, self.load_fn))
        held_out = "given" if "val" in splits else "held out of train"
        x, y = splits["train"]
        n = x.shape[0]
        if cfg.train_limit is not None:
            if cfg.train_limit > n:
                raise ActbenchError(
                    f"{{train_limit}} must be between 1 and {n} (the training set), "
                    f"got {cfg.train_limit}",
                    ["train_limit"],
                )
            x, y, n = x[: cfg.train_limit], y[: cfg.train_limit], cfg.train_limit
        if "val" not in splits:
            train_idx, val_idx = split_indices(n, cfg.val_fraction, cfg.split_seed)
            splits["val"] = (x[val_idx], y[val_idx])
            x, y = x[train_idx], y[train_idx]
        splits["train"] = (x, y)
        if isinstance(self.task, Classification):  # cross-entropy wants int64 labels
            splits = {k: (a, b.long()) for k, (a, b) in splits.items()}
        moved = {
            k: (a.to(device).contiguous(), b.to(device).contiguous())
            for k, (a, b) in splits.items()
        }
        data = DeviceData(*moved["train"], *moved["val"], *moved["test"])
        return data, {"loader": self.name, "val": held_out, "input_shape": list(x.shape[1:])}


class Tensors:
    """Tensors handed over from Python (`dataset={"train": (x, y), ...}`) as a loader; its
    name and hash are those of the bytes, so two runs on the same data say so."""

    def __init__(self, splits: Mapping[str, object]) -> None:
        self.splits = dict(splits)
        digest = hashlib.sha256()
        for key in sorted(self.splits):
            for t in self.splits[key] if isinstance(self.splits[key], tuple | list) else ():
                if isinstance(t, torch.Tensor):
                    digest.update(key.encode() + str(t.dtype).encode() + str(t.shape).encode())
                    digest.update(t.detach().cpu().contiguous().view(torch.uint8).numpy())
        self.sha256 = digest.hexdigest()

    def __call__(self) -> dict[str, object]:
        return self.splits


def user_dataset(spec: str, load: Callable[[], object], task: str | None) -> UserDataset:
    """The `Dataset` for a user's loader named `spec`; the models it takes are any."""
    return UserDataset(
        spec, task_for(spec, load, task), config.MODELS, config.USER_DEFAULTS, load_fn=load
    )
