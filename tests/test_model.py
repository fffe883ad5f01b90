import torch
from torch import nn

from actbench import activations
from actbench.model import build_mlp


def linear_weights(model: nn.Module) -> list[torch.Tensor]:
    return [p for m in model if isinstance(m, nn.Linear) for p in (m.weight, m.bias)]


def test_shape_matches_the_seed_article():
    model = build_mlp((100, 100, 100), activations.resolve("relu"), seed=0)
    widths = [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)]
    assert widths == [(784, 100), (100, 100), (100, 100), (100, 10)]
    assert sum(isinstance(m, nn.ReLU) for m in model) == 3
    assert model(torch.zeros(2, 784)).shape == (2, 10)


def test_same_seed_same_initial_weights_for_every_activation():
    ref = linear_weights(build_mlp((64, 32), activations.resolve("relu"), seed=3))
    for name in ("tanh", "prelu", "selu"):
        other = linear_weights(build_mlp((64, 32), activations.resolve(name), seed=3))
        assert all(torch.equal(a, b) for a, b in zip(ref, other, strict=True))


def test_other_seed_other_weights_and_global_rng_untouched():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = linear_weights(build_mlp((16,), activations.resolve("relu"), seed=0))
    b = linear_weights(build_mlp((16,), activations.resolve("relu"), seed=1))
    assert not torch.equal(a[0], b[0])
    assert torch.equal(torch.rand(1), expected)
