"""Every execution mode trains the same thing; only how fast differs."""

import pytest
import torch

from actbench import activation, step
from actbench.errors import ActbenchError
from actbench.model import build_mlp

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def data(device="cpu", n=400):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 784, generator=g).to(device)
    y = torch.randint(0, 10, (n,), generator=g).to(device)
    return x, y


def train(mode, device="cpu", steps=5, optimizer="adam"):
    x, y = data(device)
    model = build_mlp((32, 16), activation.resolve("tanh"), seed=0).to(device)
    s = step.make_step(step.StepSettings(mode, optimizer, 1e-2, batch_size=50), model, x, y)
    losses = []
    for b in range(steps):
        s.fetch(x[b * 50 : (b + 1) * 50], y[b * 50 : (b + 1) * 50])
        losses.append(s().item())
    return losses, [p.detach().cpu() for p in model.parameters()]


def test_eager_fetch_reads_the_batch_in_place():
    x, y = data()
    model = build_mlp((8,), activation.resolve("relu"), seed=0)
    s = step.make_step(step.StepSettings(batch_size=10), model, x, y)
    s.fetch(x[30:40], y[30:40])
    assert s.xb.data_ptr() == x[30].data_ptr() and s.yb.data_ptr() == y[30].data_ptr()


def textbook(optimizer, steps=5):
    """The loop a user writes: per-tensor torch.optim, zero_grad, backward, step."""
    x, y = data()
    model = build_mlp((32, 16), activation.resolve("tanh"), seed=0)
    opt = step.make_optimizer(optimizer, model.parameters(), 1e-2, torch.device("cpu"))
    for b in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            model(x[b * 50 : (b + 1) * 50]), y[b * 50 : (b + 1) * 50]
        )
        loss.backward()
        opt.step()
    return [p.detach() for p in model.parameters()]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_eager_flat_step_trains_exactly_like_the_textbook_loop(optimizer):
    _, weights = train("eager", optimizer=optimizer)
    for a, b in zip(textbook(optimizer), weights, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_flat_parameters_are_views_that_state_dict_writes_through():
    model = build_mlp((8,), activation.resolve("relu"), seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flat = step.flatten_parameters(model)
    assert flat.numel() == sum(p.numel() for p in model.parameters())
    for k, v in model.state_dict().items():  # same values, now living in the buffer
        assert torch.equal(v, before[k])
        assert v.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr()
    model.load_state_dict({k: torch.ones_like(v) for k, v in before.items()})
    assert torch.equal(flat.detach(), torch.ones_like(flat))  # best-weight restore works
    out = model(torch.randn(4, 784)).sum()
    out.backward()  # gradients land in the flat gradient buffer
    assert flat.grad.abs().sum() > 0
    assert torch.equal(model[0].weight.grad.flatten(), flat.grad[: 8 * 784])


def test_flat_parameters_keep_channels_last_conv_weights():
    from actbench.model import build_cnn

    model = build_cnn(activation.resolve("relu"), seed=0)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    step.flatten_parameters(model)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert conv.weight.grad.stride() == conv.weight.stride()


def test_bound_adam_update_keeps_the_optimizer_state_current():
    x, y = data()
    model = build_mlp((8,), activation.resolve("relu"), seed=0)
    s = step.make_step(step.StepSettings(batch_size=50), model, x, y)
    for b in range(3):
        s.fetch(x[b * 50 : (b + 1) * 50], y[b * 50 : (b + 1) * 50])
        s()
    state = s.optimizer.state[s.flat]
    assert state["step"].item() == 3 and state["exp_avg_sq"].abs().sum() > 0


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_compile_mode_trains_like_eager(optimizer):
    eager_losses, eager_weights = train("eager", optimizer=optimizer)
    compiled_losses, compiled_weights = train("compile", optimizer=optimizer)
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4)
    for a, b in zip(eager_weights, compiled_weights, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_cuda_graph_needs_cuda():
    with pytest.raises(ActbenchError, match="cuda-graph needs a CUDA device"):
        step.check_mode("cuda-graph", torch.device("cpu"))


@CUDA
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_cuda_graph_replays_the_eager_step_from_the_same_weights(optimizer):
    eager_losses, eager_weights = train("eager", "cuda", optimizer=optimizer)
    graph_losses, graph_weights = train("cuda-graph", "cuda", optimizer=optimizer)
    assert graph_losses == pytest.approx(eager_losses, rel=1e-4)
    for a, b in zip(eager_weights, graph_weights, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@CUDA
def test_compile_mode_on_cuda():
    eager_losses, _ = train("eager", "cuda")
    compiled_losses, _ = train("compile", "cuda")
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4)
