"""The parent's data handed to a worker (`handoff.py`): the worker maps the same values."""

import json
import os
import subprocess
import sys

import pytest
import torch

from actbench import data, handoff

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd: Linux")

TAKER = """
import json, sys
from actbench import handoff
got = handoff.take(int(sys.argv[1]))
print(json.dumps({n: getattr(got, n).double().sum().item() for n in handoff.TENSORS}
                 | {"rows": got.x_train.shape[0], "scale": got.target_scale}))
"""


def test_another_process_maps_the_values_the_parent_loaded(tiny_mnist):
    loaded = data.prepare(data.load(tiny_mnist, download=False), torch.device("cpu"), 0.2)
    loaded.target_scale = 3.5  # a regression's unit travels too
    fd = handoff.offer(loaded)
    assert fd is not None
    try:  # a process of its own, as a worker is (not forked from this one, which trained)
        taken = subprocess.run(
            [sys.executable, "-c", TAKER, str(fd)], pass_fds=(fd,), capture_output=True,
            text=True, check=True, timeout=120,
        )  # fmt: skip
    finally:
        os.close(fd)
    got = json.loads(taken.stdout)
    assert got["rows"] == 480 and got["scale"] == 3.5  # 600 training images, a fifth held out
    for name in handoff.TENSORS:
        assert got[name] == pytest.approx(getattr(loaded, name).double().sum().item(), rel=1e-12)


def test_data_on_an_accelerator_is_not_handed_on(tiny_mnist):
    loaded = data.prepare(data.load(tiny_mnist, download=False), torch.device("meta"), 0.2)
    assert handoff.offer(loaded) is None
