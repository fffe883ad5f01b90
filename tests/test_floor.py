"""The bytes an activation's forward + backward moves, counted by hand, and the copy that
moves as many."""

import torch
from torch import nn

from actbench import activation, floor

N = 37 * 11  # elements of the input: float32, 4 bytes each


class SavesBoth(torch.autograd.Function):
    """y = x * x, keeping its input and its output for backward (more than it needs)."""

    @staticmethod
    def forward(ctx, x):
        y = x * x
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, _ = ctx.saved_tensors
        return 2 * x * g


class Both(nn.Module):
    def forward(self, x):
        return SavesBoth.apply(x)


class PlusOne(nn.Module):
    def forward(self, x):
        return x + 1  # adding a number keeps nothing for backward


def z() -> torch.Tensor:
    return torch.randn(37, 11)


def test_relu_keeps_its_output_fwd_2n_and_bwd_3n():
    relu = activation.resolve("relu").make()
    assert floor.saved_bytes(relu, z()) == 4 * N
    # forward: read x, write y; backward: read dy, read y (saved), write dx
    assert floor.traffic(relu, z()) == 4 * (2 * N + 3 * N)


def test_sigmoid_keeps_its_output_and_gelu_its_input():
    for name in ("sigmoid", "gelu"):
        assert floor.traffic(activation.resolve(name).make(), z()) == 4 * 5 * N, name


def test_a_user_activation_that_keeps_input_and_output_reads_both_back():
    assert floor.saved_bytes(Both(), z()) == 4 * 2 * N
    assert floor.traffic(Both(), z()) == 4 * (2 * N + 4 * N)


def test_one_that_keeps_nothing_moves_only_values_and_gradients():
    assert floor.saved_bytes(PlusOne(), z()) == 0
    assert floor.traffic(PlusOne(), z()) == 4 * (2 * N + 2 * N)


def test_a_storage_kept_twice_is_read_once():
    class Square(nn.Module):
        def forward(self, x):
            return x * x  # mul keeps both operands: the same tensor twice

    assert floor.saved_bytes(Square(), z()) == 4 * N


def test_the_copy_reads_and_writes_the_bytes_counted():
    buffers = floor.copy_buffers([4 * 5 * N, 4 * 5 * N + 2])
    moved = [src.numel() + dst.numel() for src, dst in buffers]  # uint8: one byte each
    assert moved == [4 * 5 * N, 4 * 5 * N + 2]
    src, dst = buffers[0]
    floor.copier(buffers)()
    assert torch.equal(src, dst)


def test_the_ranges_are_what_they_say():
    x = torch.randn(64, 64)
    negative = floor.ranged(x, "negative")
    assert negative.shape == x.shape and negative.max() <= -15 and negative.min() >= -25
    subnormal = floor.ranged(x, "subnormal").abs()
    smallest_normal = torch.finfo(torch.float32).tiny
    assert (subnormal > 0).all() and (subnormal < smallest_normal).all()
    tiny = floor.ranged(x, "tiny")
    assert (tiny.abs() >= smallest_normal).all() and (tiny < 0).any() and (tiny > 0).any()
