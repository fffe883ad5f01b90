"""An activation's physical floor: the bytes its forward + backward must move, a plain copy of
as many bytes to time beside it, and the input ranges that can slow a kernel down.

Bytes are counted per activation, not assumed. A fused forward + backward could move no
fewer than: forward reads its input and writes its output; backward reads the gradient of
the output and whatever autograd saved for it, and writes the gradient of the input. What
is saved is seen, not guessed: `torch.autograd.graph.saved_tensors_hooks` sees every tensor
packed during one forward of the activation's module (relu and tanh keep their output,
gelu and silu their input, a user's may keep both, `x + 1` nothing), each storage counted
once. A composite activation's saved intermediates count too: its backward reads them,
so its floor is what its autograd graph moves, not what a fused kernel would.

The copy moves the same bytes: for each layer input, one `dst.copy_(src)` over byte buffers
of half the counted traffic (a copy reads what it writes), one call per input as the
activation makes. A copy is the cheapest way to move bytes, so the time it takes is the
floor of the memory level those bytes live in.
"""

from __future__ import annotations

import torch
from torch import nn

# adversarial inputs of float32 pre-activations: where a kernel may take a slow path
# (exp of large negatives, gradual underflow); the same shapes as the real ones
RANGES = {
    "negative": (-25.0, -15.0),  # large negatives: exp underflows (GELU's MKL path once did)
    "tiny": (1e-30, 2e-30),  # normal but tiny, either sign
    "subnormal": (1e-40, 2e-40),  # below float32's smallest normal 1.18e-38, either sign
}


def saved_bytes(module: nn.Module, z: torch.Tensor) -> int:
    """Bytes autograd saves for the backward of one call of `module` on `z`, each storage
    once (an input saved twice is read once)."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        where = t.untyped_storage().data_ptr()
        seen[where] = max(seen.get(where, 0), t.numel() * t.element_size())
        return t

    leaf = z.detach().clone().requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(leaf)
    return sum(seen.values())


def traffic(module: nn.Module, z: torch.Tensor) -> int:
    """Bytes one forward + backward of `module` on `z` reads and writes at the least: input
    and output (forward), the output's gradient, what was saved and the input's gradient
    (backward)."""
    data = z.numel() * z.element_size()  # the output and both gradients are its size
    return 4 * data + saved_bytes(module, z)


def copy_buffers(
    bytes_per_call: list[int], device: torch.device | str = "cpu"
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(src, dst) byte buffers whose copy reads and writes `bytes_per_call[i]` in all."""
    out = []
    for count in bytes_per_call:
        half = max(1, count // 2)
        src = torch.ones(half, dtype=torch.uint8, device=device)
        out.append((src, torch.empty_like(src)))
    return out


def copier(buffers: list[tuple[torch.Tensor, torch.Tensor]]):
    """One copy per buffer pair: the floor's call, as the activation's makes one per input."""

    def run() -> None:
        for src, dst in buffers:
            dst.copy_(src)

    return run


def ranged(z: torch.Tensor, name: str, seed: int = 0) -> torch.Tensor:
    """A tensor shaped like `z` with values in the named range: `normal` is a standard
    normal; the others are `RANGES`' magnitudes (tiny and subnormal of either sign)."""
    generator = torch.Generator(device=z.device).manual_seed(seed)
    if name == "normal":
        return torch.randn(z.shape, generator=generator, dtype=z.dtype, device=z.device)
    low, high = RANGES[name]
    u = torch.rand(z.shape, generator=generator, dtype=torch.float64, device=z.device)
    values = low + (high - low) * u
    if name != "negative":
        signs = torch.randint(0, 2, z.shape, generator=generator, device=z.device) * 2 - 1
        values = values * signs
    return values.to(z.dtype)
