"""MNIST and its siblings (Fashion-MNIST, KMNIST): found, verified, normalised once and
kept resident on the training device.

All three share torchvision's layout (`<root>/<Folder>/raw/`, four IDX files of 28x28
images and labels 0-9). When the four raw IDX files are in place (plain or gzipped) they are
read directly: the header is checked against the length, exactly what torchvision's reader
checks, without importing torchvision, which pulls in torch._dynamo and costs ~1.5-2 s of
a default sweep's wall time on a 2-core CPU (measured). torchvision's `MNIST` dataset is the
front door only when files are missing and a download is allowed (it downloads and checks
md5). A torchvision that cannot be imported - a torch/torchvision version mismatch is
common - therefore only matters for downloads. Either way the tensors are verified before
any training starts, so a bad file is an error that says where we looked.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from actbench.errors import ActbenchError

IMAGE_MAGIC, LABEL_MAGIC = 0x0803, 0x0801
FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
PROVIDE = ("data_dir", "download")  # the parameters HOW_TO_PROVIDE names
HOW_TO_PROVIDE = (  # every file named, and where it goes: a user copying them needs both
    "put the four {name} IDX files ({files}; plain or .gz) in {raw} (torchvision's layout), "
    "point {{data_dir}} or $ACTBENCH_DATA at the folder that holds {folder}/, or drop "
    "{{download}}"
)


@dataclass(frozen=True)
class ImageSource:
    """One IDX image set: its name, torchvision's folder and class, its pixel statistics
    (the training set's mean and std, so inputs match the usual tutorial preprocessing)."""

    name: str
    folder: str  # torchvision's folder under the root, also its dataset class name
    mean: float
    std: float

    def how_to_provide(self, raw: Path) -> str:
        files = ", ".join(n for pair in FILES.values() for n in pair)
        return HOW_TO_PROVIDE.format(name=self.name, files=files, raw=raw, folder=self.folder)


MNIST_SOURCE = ImageSource("MNIST", "MNIST", 0.1307, 0.3081)
FASHION_SOURCE = ImageSource("Fashion-MNIST", "FashionMNIST", 0.2860, 0.3530)
KMNIST_SOURCE = ImageSource("KMNIST", "KMNIST", 0.1918, 0.3483)


def default_data_dir() -> Path:
    """`$ACTBENCH_DATA`, else a per-user cache folder (XDG on Linux)."""
    if os.environ.get("ACTBENCH_DATA"):
        return Path(os.environ["ACTBENCH_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "actbench"


def raw_folder(root: Path, source: ImageSource = MNIST_SOURCE) -> Path:
    return Path(root) / source.folder / "raw"


@dataclass
class Images:
    """The data set as stored: uint8 images (N, 28, 28) and int64 labels, on the CPU."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    reader: str  # "torchvision" or "idx"
    source: ImageSource = MNIST_SOURCE


def read_idx(path: Path, magic: int) -> torch.Tensor:
    """Read one IDX file (plain or .gz) and check its header against its length."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            blob = f.read()
    except (OSError, EOFError) as exc:
        raise ActbenchError(f"cannot read {path}: {exc}") from exc
    if len(blob) < 4 or int.from_bytes(blob[:4], "big") != magic:
        raise ActbenchError(f"{path} is not an IDX image or label file (bad magic number)")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise ActbenchError(f"{path} is truncated (header incomplete)")
    shape = tuple(int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(blob) != expected:
        raise ActbenchError(
            f"{path} is truncated or corrupt: {len(blob)} bytes, header says {expected}"
        )
    array = np.frombuffer(blob, dtype=np.uint8, offset=header).reshape(shape)
    return torch.from_numpy(array.copy())


def _find(raw: Path, name: str) -> Path | None:
    for candidate in (raw / name, raw / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx_split(
    root: Path, train: bool, source: ImageSource = MNIST_SOURCE
) -> tuple[torch.Tensor, torch.Tensor]:
    raw = raw_folder(root, source)
    paths = []
    for name in FILES[train]:
        path = _find(raw, name)
        if path is None:
            raise ActbenchError(
                f"{source.name} file {name} not found in {raw}; " + source.how_to_provide(raw),
                PROVIDE,
            )
        paths.append(path)
    return read_idx(paths[0], IMAGE_MAGIC), read_idx(paths[1], LABEL_MAGIC).long()


def _torchvision_split(
    root: Path, train: bool, download: bool, source: ImageSource = MNIST_SOURCE
) -> tuple[torch.Tensor, torch.Tensor]:
    import torchvision.datasets

    raw = raw_folder(root, source)
    dataset_class = getattr(torchvision.datasets, source.folder)
    try:
        dataset = dataset_class(str(root), train=train, download=download)
    except Exception as exc:  # network failures, bad checksums, corrupt archives
        if "not found" in str(exc).lower():
            raise ActbenchError(
                f"{source.name} not found in {raw}; " + source.how_to_provide(raw),
                PROVIDE,
            ) from None
        raise ActbenchError(
            f"cannot download {source.name} into {raw} ({_one_line(exc)}); without a network, "
            + source.how_to_provide(raw).removesuffix(", or drop {download}"),
            PROVIDE,
        ) from None
    return dataset.data, dataset.targets.long()


def _one_line(exc: BaseException) -> str:
    """A multi-line error (urllib's, via torchvision) as its first and last lines."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0].rstrip(':')}: {lines[-1]}"


def _torchvision_problem() -> str | None:
    """Why torchvision cannot be imported (its first line), or None when it can."""
    try:
        import torchvision.datasets  # noqa: F401
    except Exception as exc:  # a version mismatch raises RuntimeError, not ImportError
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


def verify(images: torch.Tensor, labels: torch.Tensor, where: Path, name: str = "MNIST") -> None:
    """Shapes and label range: what a half-copied or mixed-up file would get wrong."""
    if images.dtype != torch.uint8 or images.ndim != 3 or tuple(images.shape[1:]) != (28, 28):
        raise ActbenchError(
            f"{name} images in {where} have shape {tuple(images.shape)}, want (N, 28, 28)"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ActbenchError(
            f"{name} in {where}: {images.shape[0]} images but {labels.shape[0]} labels"
        )
    if labels.numel() == 0:
        raise ActbenchError(f"{name} in {where} is empty")
    if int(labels.min()) < 0 or int(labels.max()) > 9:
        raise ActbenchError(f"{name} labels in {where} are outside 0..9 (corrupt file?)")


def load(root: Path, download: bool = True, source: ImageSource = MNIST_SOURCE) -> Images:
    """Read `source` (MNIST by default) below `root`; fetch it with torchvision first if
    files are missing and `download` allows it."""
    root = Path(root).expanduser()
    raw = raw_folder(root, source)
    present = all(_find(raw, n) for pair in FILES.values() for n in pair)
    if not present and not download:
        if not raw.is_dir():
            raise ActbenchError(
                f"no {source.name} data in {raw}; " + source.how_to_provide(raw), PROVIDE
            )
        missing = [n for pair in FILES.values() for n in pair if not _find(raw, n)]
        raise ActbenchError(
            f"{source.name} file {missing[0]} not found in {raw}; " + source.how_to_provide(raw),
            PROVIDE,
        )
    problem = None if present else _torchvision_problem()
    if problem is not None:
        raise ActbenchError(
            f"{source.name} not found in {raw} and torchvision (which downloads it) cannot be "
            f"imported ({problem}); install a torchvision that matches your torch, or "
            + source.how_to_provide(raw),
            PROVIDE,
        )
    splits = []
    made = [d for d in (raw, raw.parent, root) if not d.exists()]  # a failed download's
    try:
        for train in (True, False):
            if present:
                images, labels = _read_idx_split(root, train, source)
            else:
                images, labels = _torchvision_split(root, train, True, source)
            verify(images, labels, raw, source.name)
            splits.append((images, labels))
    except BaseException:
        for folder in made:  # empty folders a failed download left behind go again
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    (train_x, train_y), (test_x, test_y) = splits
    reader = "idx" if present else "torchvision"
    return Images(train_x, train_y, test_x, test_y, reader, source)


@dataclass
class DeviceData:
    """Normalised float tensors on the training device; what the trainer slices batches from."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    # a regression target's normalised unit in the data's own unit (a series' range)
    target_scale: float = 1.0


def normalise(
    images: torch.Tensor,
    device: torch.device,
    shape: tuple[int, ...] = (784,),
    source: ImageSource = MNIST_SOURCE,
) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, *shape), standardised, once, on `device`.

    `shape` is (784,) for the MLP and (1, 28, 28) for the CNN."""
    x = images.to(device).reshape(images.shape[0], *shape).float().div_(255.0)
    return x.sub_(source.mean).div_(source.std)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded train/validation split of `n` examples; the same on every device and run."""
    n_val = round(n * val_fraction)
    if n_val < 1 or n - n_val < 1:
        raise ActbenchError(
            f"a validation fraction of {val_fraction} of {n} images leaves an empty split"
        )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_val:], perm[:n_val]


def prepare(
    mnist: Images,
    device: torch.device,
    val_fraction: float,
    train_limit: int | None = None,
    split_seed: int = 0,
    shape: tuple[int, ...] = (784,),
) -> DeviceData:
    """Take the first `train_limit` training images, split them, and move everything once."""
    n = mnist.train_images.shape[0]
    if train_limit is not None:
        if train_limit < 1 or train_limit > n:
            raise ActbenchError(
                f"{{train_limit}} must be between 1 and {n} (the training set), got {train_limit}",
                ["train_limit"],
            )
        n = train_limit
    train_idx, val_idx = split_indices(n, val_fraction, split_seed)
    images, labels, source = mnist.train_images[:n], mnist.train_labels[:n], mnist.source
    return DeviceData(
        x_train=normalise(images[train_idx], device, shape, source),
        y_train=labels[train_idx].to(device),
        x_val=normalise(images[val_idx], device, shape, source),
        y_val=labels[val_idx].to(device),
        x_test=normalise(mnist.test_images, device, shape, source),
        y_test=mnist.test_labels.to(device),
    )


class Batches:
    """Each epoch's shuffled copy of the training split, shared by the trials of one seed.

    Every trial of a seed draws the same order from a generator seeded by that seed, so one
    gather per epoch serves them all, and a batch is then a contiguous slice (a view): no
    copy per step. Measured on the 2-core CPU: one 48k-row gather into a reused buffer costs
    about as much as the 480 per-batch gathers it replaces, and it is paid once per group
    instead of once per trial. Interleaved trials move through epochs together; a trial that
    asks for an earlier epoch than the last one (the sequential schedule) replays the
    generator from the seed, so every trial sees exactly the orders it would see alone.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> None:
        self.x, self.y, self.seed = x, y, seed
        self._x, self._y = torch.empty_like(x), torch.empty_like(y)
        self._generator = torch.Generator(device=x.device)
        self.epoch = 0

    def order(self) -> torch.Tensor:
        """The next epoch's example order, drawn on the device."""
        return torch.randperm(self.x.shape[0], generator=self._generator, device=self.x.device)

    def for_epoch(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of `epoch` (1-based) in that epoch's shuffled order."""
        if epoch != self.epoch:
            if epoch < self.epoch or self.epoch == 0:
                self._generator.manual_seed(self.seed)
                self.epoch = 0
            while self.epoch < epoch - 1:  # skip to the wanted epoch's draw
                self.order()
                self.epoch += 1
            order = self.order()
            self.epoch = epoch
            torch.index_select(self.x, 0, order, out=self._x)
            torch.index_select(self.y, 0, order, out=self._y)
        return self._x, self._y
