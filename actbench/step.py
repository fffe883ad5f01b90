"""The training step in its three execution modes - the code that `timing` brackets.

A step object owns static input buffers: `fetch(idx)` gathers a batch of the resident data
into them (not timed), and calling the step runs zero_grad + forward + loss + backward +
optimizer step on them (timed) and returns the loss as a device tensor (never read here,
so nothing synchronises the device).

- `eager`: plain PyTorch, fused Adam where the device has it.
- `compile`: the same step function wrapped in `torch.compile`; compilation happens in the
  first call, which is always a warm-up step and its duration is reported as compile time.
- `cuda-graph`: the whole step (forward, backward, capturable optimizer) captured once in a
  CUDA graph and replayed. Capture needs a few real warm-up steps, so the weights and
  optimizer state are restored in place afterwards: every mode starts from the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from actbench.errors import ActbenchError

MODES = ("eager", "compile", "cuda-graph")
GRAPH_WARMUP_STEPS = 3


def make_optimizer(
    name: str, params, lr: float, device: torch.device, mode: str = "eager"
) -> torch.optim.Optimizer:
    """Adam or SGD (momentum 0.9) with the fastest kernel the device and mode allow."""
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, foreach=device.type != "cpu")
    if mode == "cuda-graph":
        return torch.optim.Adam(params, lr=lr, capturable=True, foreach=True)
    if mode == "compile":  # inductor fuses the foreach update itself
        return torch.optim.Adam(params, lr=lr, foreach=True)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):  # fused Adam is not implemented for every device
        return torch.optim.Adam(params, lr=lr, foreach=device.type != "cpu")


class Step:
    """Eager step over static batch buffers."""

    mode = "eager"

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
    ) -> None:
        self.model, self.optimizer, self.x, self.y = model, optimizer, x, y
        self.xb = torch.empty((batch_size, *x.shape[1:]), dtype=x.dtype, device=x.device)
        self.yb = torch.empty((batch_size,), dtype=y.dtype, device=y.device)

    def fetch(self, idx: torch.Tensor) -> None:
        torch.index_select(self.x, 0, idx, out=self.xb)
        torch.index_select(self.y, 0, idx, out=self.yb)

    def train_step(self) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(self.xb), self.yb)
        loss.backward()
        self.optimizer.step()
        return loss

    def __call__(self) -> torch.Tensor:
        return self.train_step()


class CompiledStep(Step):
    mode = "compile"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compiled = torch.compile(self.train_step)

    def __call__(self) -> torch.Tensor:
        return self._compiled()


class CudaGraphStep(Step):
    mode = "cuda-graph"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        model, optimizer = self.model, self.optimizer
        self.fetch(torch.arange(self.xb.shape[0], device=self.x.device))
        weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        side = torch.cuda.Stream(self.x.device)
        side.wait_stream(torch.cuda.current_stream(self.x.device))
        with torch.cuda.stream(side):  # warm-up on a side stream, as capture requires
            for _ in range(GRAPH_WARMUP_STEPS):
                self.train_step()
        torch.cuda.current_stream(self.x.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            loss = F.cross_entropy(model(self.xb), self.yb)
            loss.backward()
            optimizer.step()
        self.loss = loss
        with torch.no_grad():  # undo the warm-up in place: the graph holds these addresses
            for k, v in model.state_dict().items():
                v.copy_(weights[k])
            for state in optimizer.state.values():
                for value in state.values():
                    if torch.is_tensor(value):
                        value.zero_()
        torch.cuda.synchronize(self.x.device)

    def __call__(self) -> torch.Tensor:
        self.graph.replay()
        return self.loss


def check_mode(mode: str, device: torch.device) -> None:
    if mode not in MODES:
        raise ActbenchError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "cuda-graph" and device.type != "cuda":
        raise ActbenchError(f"--mode cuda-graph needs a CUDA device; this run is on {device}")


def make_step(
    mode: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
) -> Step:
    check_mode(mode, x.device)
    cls = {"eager": Step, "compile": CompiledStep, "cuda-graph": CudaGraphStep}[mode]
    return cls(model, optimizer, x, y, batch_size)
