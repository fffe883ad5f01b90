"""The training step in its three execution modes - the code that `clock` brackets.

`fetch(x, y)` hands a step its next batch, a contiguous slice of the epoch's shuffled data
(not timed): eager and compiled steps read the slice in place, a CUDA graph copies it into
the static buffers it was captured on. Calling the step runs zero_grad + forward + loss +
backward + optimizer step on that batch (timed) and returns the loss as a device tensor
(never read here, so nothing synchronises the device).

- `eager`: plain PyTorch autograd over one flat parameter buffer (see `flatten_parameters`),
  updated by the fused Adam kernel where the device has it.
- `compile`: the step as one `torch.compile` graph (see `CompiledStep`); compilation happens
  in the first call, which is always a warm-up step and is reported as compile time.
- `cuda-graph`: the whole step (forward, backward, capturable optimizer) captured once in a
  CUDA graph and replayed. Capture needs a few real warm-up steps, so the weights and
  optimizer state are restored in place afterwards: every mode starts from the same weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.adam import adam

from actbench.errors import ActbenchError

GRAPH_WARMUP_STEPS = 3
COMPILE_CACHE_ENTRIES = 64  # trials that may hold a compiled step at once


def make_optimizer(
    name: str,
    params,
    lr: float,
    device: torch.device,
    mode: str = "eager",
    momentum: float = 0.0,
) -> torch.optim.Optimizer:
    """Adam, or SGD with `momentum`, with the fastest kernel the device and mode allow."""
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, foreach=device.type != "cpu")
    if mode == "cuda-graph":
        return torch.optim.Adam(params, lr=lr, capturable=True, foreach=True)
    if mode == "compile":  # only its hyperparameters are used: CompiledStep applies the rule
        return torch.optim.Adam(params, lr=lr)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):  # fused Adam is not implemented for every device
        return torch.optim.Adam(params, lr=lr, foreach=device.type != "cpu")


def flatten_parameters(model: nn.Module) -> nn.Parameter:
    """Move every parameter and its gradient into one contiguous buffer; return it.

    Why: a step of this small MLP is ~60 tiny ops, and on a CPU their dispatch costs as much
    as their arithmetic. With one buffer, zeroing the gradients is one op and the optimizer
    is one kernel over one tensor instead of a Python loop over eight. The module's
    parameters become views of the buffer (strides kept, so channels-last conv weights stay
    channels-last); autograd accumulates into views of the gradient buffer, as DDP's
    `gradient_as_bucket_view` does. Forward, `state_dict` and `load_state_dict` are unchanged.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if len({(p.dtype, p.device) for p in params}) != 1:
        raise ValueError("flatten_parameters needs every parameter on one device and dtype")
    flat = torch.zeros(
        sum(p.numel() for p in params), dtype=params[0].dtype, device=params[0].device
    )
    grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        dense = sum((n - 1) * s for n, s in zip(p.shape, p.stride(), strict=True)) + 1
        stride = p.stride() if dense == p.numel() else p.detach().contiguous().stride()
        view = flat.as_strided(p.shape, stride, offset)
        view.copy_(p.detach())
        p.data = view
        p.grad = grad.as_strided(p.shape, stride, offset)
        offset += p.numel()
    buffer = nn.Parameter(flat)
    buffer.grad = grad
    return buffer


def bind_update(optimizer: torch.optim.Optimizer, param: nn.Parameter) -> Callable[[], None]:
    """`optimizer.step()` for one flat parameter, without the per-call bookkeeping.

    `Optimizer.step` re-walks hooks, groups and lazy state on every call: about 30 µs here,
    4 % of an eager step. For plain Adam the same public kernel (`torch.optim.adam.adam`,
    fused where the optimizer is) is bound once to the optimizer's own state tensors, so
    `optimizer.state` stays the truth. Anything else keeps `optimizer.step`.
    """
    group = optimizer.param_groups[0]
    plain = isinstance(optimizer, torch.optim.Adam) and not (
        group["amsgrad"]
        or group["weight_decay"]
        or group["maximize"]
        or group["capturable"]
        or group["differentiable"]
    )
    if not plain:
        return optimizer.step
    state = optimizer.state[param]  # `step` lives where torch.optim's Adam keeps it
    state["step"] = torch.zeros((), device=param.device if group["fused"] else "cpu")
    state["exp_avg"] = torch.zeros_like(param)
    state["exp_avg_sq"] = torch.zeros_like(param)
    tensors = (
        [param],
        [param.grad],
        [state["exp_avg"]],
        [state["exp_avg_sq"]],
        [],
        [state["step"]],
    )
    beta1, beta2 = group["betas"]
    options = dict(
        foreach=group["foreach"],
        fused=group["fused"],
        amsgrad=False,
        beta1=beta1,
        beta2=beta2,
        lr=group["lr"],
        weight_decay=0.0,
        eps=group["eps"],
        maximize=False,
    )

    def update() -> None:
        adam(*tensors, **options)

    return update


Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Step:
    """Static batch buffers, `fetch`, the task's loss, and the optimizer (`adam` or `sgd`)
    over the tensors `parameters` returns; the modes below add the step itself."""

    mode = ""

    def __init__(
        self,
        model: nn.Module,
        optimizer: str,
        lr: float,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        loss: Loss = F.cross_entropy,
        momentum: float = 0.0,
    ) -> None:
        self.model, self.x, self.y, self.loss = model, x, y, loss
        self.xb = torch.empty((batch_size, *x.shape[1:]), dtype=x.dtype, device=x.device)
        self.yb = torch.empty((batch_size, *y.shape[1:]), dtype=y.dtype, device=y.device)
        self.optimizer = make_optimizer(
            optimizer, self.parameters(), lr, x.device, self.mode, momentum
        )

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    def fetch(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Make (x, y) the next batch: read in place; `CudaGraphStep` copies it instead."""
        self.xb, self.yb = x, y

    def __call__(self) -> torch.Tensor:
        raise NotImplementedError

    def keep(self, loss: torch.Tensor) -> torch.Tensor:
        """`loss` as a tensor the next step leaves alone, to sum once per epoch. A detached
        view costs a third of adding it to a running sum after every step (measured:
        ≈ 2 µs against ≈ 6 µs per step on the 2-core CPU, outside the timed region)."""
        return loss.detach()


class EagerStep(Step):
    """Plain autograd over the flat parameter buffer, fused optimizer kernel."""

    mode = "eager"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.update = bind_update(self.optimizer, self.flat)

    def parameters(self) -> list[nn.Parameter]:
        self.flat = flatten_parameters(self.model)
        return [self.flat]

    def __call__(self) -> torch.Tensor:
        self.flat.grad.zero_()
        loss = self.loss(self.model(self.xb), self.yb)
        loss.backward()
        self.update()
        return loss


class CompiledStep(Step):
    """The whole step as one `torch.compile` graph (fullgraph=True).

    Compiling `loss.backward()` and `optimizer.step()` as written breaks the graph into
    pieces and leaves the Python overhead in place, so this step is written functionally:
    gradients from `torch.func.grad_and_value`, then the optimizer's own update rule
    (Adam, or SGD with or without momentum, with the given optimizer's hyperparameters) applied
    in place to the module's parameters. It trains the same weights as the eager step
    (tests check this to float tolerance).
    """

    mode = "compile"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # the optimizer: only its hyperparameters are used
        torch._dynamo.reset()  # every trial compiles afresh: comparable compile times
        # interleaved trials each compile the same function for their own model: one cache
        # entry per trial, more than dynamo's default limit of 8 when many activations run
        limits = torch._dynamo.config
        limits.recompile_limit = max(limits.recompile_limit, COMPILE_CACHE_ENTRIES)
        group = self.optimizer.param_groups[0]
        self.params = {k: p.detach() for k, p in self.model.named_parameters()}
        self.buffers = {
            k: (torch.zeros_like(p), torch.zeros_like(p)) for k, p in self.params.items()
        }
        self.count = torch.zeros((), device=self.x.device)
        if isinstance(self.optimizer, torch.optim.Adam):
            self.update = self._adam_update(group["lr"], *group["betas"], group["eps"])
        else:
            self.update = self._sgd_update(group["lr"], group["momentum"])
        self._compiled = torch.compile(self._functional_step, fullgraph=True)

    def _loss_of(self, params, xb, yb):
        return self.loss(torch.func.functional_call(self.model, params, (xb,)), yb)

    def _adam_update(self, lr: float, beta1: float, beta2: float, eps: float):
        def update(grads) -> None:
            self.count.add_(1)
            step_size = lr / (1 - beta1**self.count)
            root_bias2 = (1 - beta2**self.count).sqrt()
            for name, p in self.params.items():
                m, v = self.buffers[name]
                g = grads[name]
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                p.sub_(step_size * m / (v.sqrt() / root_bias2).add_(eps))

        return update

    def _sgd_update(self, lr: float, momentum: float):
        def update(grads) -> None:
            for name, p in self.params.items():
                if not momentum:  # torch's SGD keeps no buffer then (and 0 x inf is nan)
                    p.sub_(lr * grads[name])
                    continue
                buf = self.buffers[name][0]
                buf.mul_(momentum).add_(grads[name])
                p.sub_(lr * buf)

        return update

    def _functional_step(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        grads, loss = torch.func.grad_and_value(self._loss_of)(self.params, xb, yb)
        self.update(grads)
        return loss

    def __call__(self) -> torch.Tensor:
        return self._compiled(self.xb, self.yb)


class CudaGraphStep(Step):
    """Forward, backward and a capturable optimizer, captured once and replayed."""

    mode = "cuda-graph"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        model, optimizer = self.model, self.optimizer
        n = self.xb.shape[0]
        self.fetch(self.x[:n], self.y[:n])
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
            loss = self.loss(model(self.xb), self.yb)
            loss.backward()
            optimizer.step()
        self.graph_loss = loss
        with torch.no_grad():  # undo the warm-up in place: the graph holds these addresses
            for k, v in model.state_dict().items():
                v.copy_(weights[k])
            for state in optimizer.state.values():
                for value in state.values():
                    if torch.is_tensor(value):
                        value.zero_()
        torch.cuda.synchronize(self.x.device)

    def fetch(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.xb.copy_(x)  # the graph reads these addresses
        self.yb.copy_(y)

    def train_step(self) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model(self.xb), self.yb)
        loss.backward()
        self.optimizer.step()
        return loss

    def __call__(self) -> torch.Tensor:
        self.graph.replay()
        return self.graph_loss

    def keep(self, loss: torch.Tensor) -> torch.Tensor:
        return loss.detach().clone()  # every replay writes the same loss tensor


@dataclass(frozen=True)
class StepSettings:
    """What a step is, apart from its model and data: a run's `--mode`, optimizer and batch."""

    mode: str = "eager"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    batch_size: int = 100
    loss: Loss = F.cross_entropy


def check_mode(mode: str, device: torch.device) -> None:
    """A mode this device can run (the mode's name itself is checked by `plan.build`)."""
    if mode == "cuda-graph" and device.type != "cuda":
        raise ActbenchError(
            f"{{mode}} cuda-graph needs a CUDA device; this run is on {device}", ["mode"]
        )


def make_step(settings: StepSettings, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Step:
    """The step for `settings.mode`; it builds its own optimizer (`adam` or `sgd`) for
    `model` and trains on `settings.loss` (the task's)."""
    check_mode(settings.mode, x.device)
    cls = {"eager": EagerStep, "compile": CompiledStep, "cuda-graph": CudaGraphStep}[settings.mode]
    s = settings
    return cls(model, s.optimizer, s.lr, x, y, s.batch_size, s.loss, s.momentum)
