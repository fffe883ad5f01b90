import torch
from torch import nn

from actbench import activation
from actbench.model import build_cnn, build_mlp, builtin, image_shape


def linear_weights(model: nn.Module) -> list[torch.Tensor]:
    return [p for m in model if isinstance(m, nn.Linear) for p in (m.weight, m.bias)]


def test_shape_matches_the_seed_article():
    model = build_mlp((100, 100, 100), activation.resolve("relu"), seed=0)
    widths = [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)]
    assert widths == [(784, 100), (100, 100), (100, 100), (100, 10)]
    assert sum(isinstance(m, nn.ReLU) for m in model) == 3
    assert model(torch.zeros(2, 784)).shape == (2, 10)


def test_same_seed_same_initial_weights_for_every_activation():
    ref = linear_weights(build_mlp((64, 32), activation.resolve("relu"), seed=3))
    for name in ("tanh", "prelu", "selu"):
        other = linear_weights(build_mlp((64, 32), activation.resolve(name), seed=3))
        assert all(torch.equal(a, b) for a, b in zip(ref, other, strict=True))


def test_other_seed_other_weights_and_global_rng_untouched():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = linear_weights(build_mlp((16,), activation.resolve("relu"), seed=0))
    b = linear_weights(build_mlp((16,), activation.resolve("relu"), seed=1))
    assert not torch.equal(a[0], b[0])
    assert torch.equal(torch.rand(1), expected)


def test_cnn_is_the_keras_example():
    model = build_cnn(activation.resolve("relu"), seed=0)
    convs = [
        (m.in_channels, m.out_channels, m.kernel_size) for m in model if isinstance(m, nn.Conv2d)
    ]
    assert convs == [(1, 32, (3, 3)), (32, 64, (3, 3)), (64, 64, (3, 3))]
    dense = [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)]
    assert dense == [(576, 64), (64, 10)]
    assert sum(isinstance(m, nn.ReLU) for m in model) == 4
    assert sum(isinstance(m, nn.MaxPool2d) for m in model) == 2
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_cnn_same_seed_same_weights_for_every_activation():
    def weights(name):
        model = build_cnn(activation.resolve(name), seed=4)
        return [p for m in model if isinstance(m, nn.Conv2d | nn.Linear) for p in m.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(weights("relu"), weights("prelu"), strict=True))


def test_build_picks_the_model_and_its_input_shape():
    act = activation.resolve("tanh")
    assert isinstance(builtin("cnn", (100,)).build(act, 0)[0], nn.Conv2d)
    assert builtin("mlp", (16,)).build(act, 0)[0].in_features == 784
    assert image_shape("cnn") == (1, 28, 28) and image_shape("mlp") == (784,)
