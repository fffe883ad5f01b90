import warnings

import numpy as np
import pytest
import torch

from actbench import data
from actbench.errors import ActbenchError
from tests.conftest import make_mnist, write_idx


def test_read_idx_round_trip_plain_and_gzip(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    for compress in (False, True):
        path = write_idx(tmp_path / f"img{compress}", images, data.IMAGE_MAGIC, compress)
        assert torch.equal(data.read_idx(path, data.IMAGE_MAGIC), torch.from_numpy(images))


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(10, np.uint8), data.LABEL_MAGIC)
    with pytest.raises(ActbenchError, match="bad magic"):
        data.read_idx(path, data.IMAGE_MAGIC)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ActbenchError, match="truncated or corrupt"):
        data.read_idx(path, data.LABEL_MAGIC)


def test_present_files_are_read_without_importing_torchvision(tiny_mnist, no_torchvision):
    """Files in place need no torchvision at all: no import, no warning (a CPU-only torch
    with no matching torchvision is a case real users hit)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mnist = data.load(tiny_mnist, download=True)
    assert mnist.reader == "idx"
    assert mnist.train_images.shape == (600, 28, 28) and mnist.test_images.shape == (200, 28, 28)
    assert mnist.train_labels.dtype == torch.int64 and int(mnist.train_labels.max()) <= 9


def test_idx_reader_matches_torchvision(tiny_mnist):
    mnist = data.load(tiny_mnist, download=False)
    for train, images, labels in (
        (True, mnist.train_images, mnist.train_labels),
        (False, mnist.test_images, mnist.test_labels),
    ):
        via_torchvision = data._torchvision_split(tiny_mnist, train, download=False)
        assert torch.equal(via_torchvision[0], images)
        assert torch.equal(via_torchvision[1], labels)


def test_gzipped_files_read_without_torchvision(tmp_path, no_torchvision):
    root = make_mnist(tmp_path / "gz", compress=True)
    mnist = data.load(root, download=False)
    assert mnist.train_images.shape[0] == 600


def test_missing_files_are_downloaded_through_torchvision(tiny_mnist, tmp_path, monkeypatch):
    """Only a download goes through torchvision; what it fetched is verified the same way."""
    import torchvision.datasets

    calls = []

    class FakeMNIST:
        def __init__(self, root, train, download):
            calls.append((root, train, download))
            source = data.load(tiny_mnist, download=False)
            self.data = source.train_images if train else source.test_images
            self.targets = source.train_labels if train else source.test_labels

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    mnist = data.load(tmp_path / "empty", download=True)
    assert mnist.reader == "torchvision" and mnist.test_images.shape == (200, 28, 28)
    assert calls == [(str(tmp_path / "empty"), True, True), (str(tmp_path / "empty"), False, True)]


def test_download_without_torchvision_says_why(tmp_path, no_torchvision):
    with pytest.raises(ActbenchError, match=r"torchvision .*cannot be imported.*data_dir"):
        data.load(tmp_path / "empty", download=True)


def test_missing_data_says_where_it_looked(tmp_path):
    with pytest.raises(ActbenchError, match=r"no MNIST data in .*MNIST/raw.*data_dir"):
        data.load(tmp_path / "nowhere", download=False)


def test_missing_file_is_named(tiny_mnist):
    (tiny_mnist / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ActbenchError, match=r"t10k-labels-idx1-ubyte.*data_dir"):
        data.load(tiny_mnist, download=False)


def test_corrupt_file_is_an_error(tiny_mnist):
    path = tiny_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ActbenchError, match="truncated or corrupt"):
        data.load(tiny_mnist, download=True)


def test_labels_out_of_range_are_rejected(tiny_mnist, monkeypatch):
    write_idx(
        tiny_mnist / "MNIST" / "raw" / "t10k-labels-idx1-ubyte",
        np.full(200, 12, np.uint8),
        data.LABEL_MAGIC,
    )
    with pytest.raises(ActbenchError, match=r"outside 0\.\.9"):
        data.load(tiny_mnist, download=False)


def test_split_is_seeded_disjoint_and_complete():
    train, val = data.split_indices(1000, 0.2, seed=0)
    again_train, _ = data.split_indices(1000, 0.2, seed=0)
    other_train, _ = data.split_indices(1000, 0.2, seed=1)
    assert len(train) == 800 and len(val) == 200
    assert torch.equal(train, again_train) and not torch.equal(train, other_train)
    assert sorted(torch.cat([train, val]).tolist()) == list(range(1000))


def test_split_refuses_empty_sides():
    with pytest.raises(ActbenchError, match="empty split"):
        data.split_indices(3, 0.1, seed=0)


def test_prepare_normalises_and_limits(tiny_mnist):
    mnist = data.load(tiny_mnist, download=False)
    d = data.prepare(mnist, torch.device("cpu"), val_fraction=0.25, train_limit=400)
    assert d.x_train.shape == (300, 784) and d.x_val.shape == (100, 784)
    assert d.x_test.shape == (200, 784) and d.x_train.dtype == torch.float32
    expected = (1.0 - 0.1307) / 0.3081  # a white pixel, by MNIST's published mean and std
    assert d.x_train.max().item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ActbenchError, match=r"^train_limit"):
        data.prepare(mnist, torch.device("cpu"), 0.2, train_limit=601)


def test_default_data_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTBENCH_DATA", str(tmp_path))
    assert data.default_data_dir() == tmp_path
    monkeypatch.delenv("ACTBENCH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data.default_data_dir() == tmp_path / "cache" / "actbench"
