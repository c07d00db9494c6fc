"""Every layer and loss against PyTorch in float64, weights copied across: output, input gradient and every
parameter gradient to 1e-10, with a random upstream gradient."""

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from tests.helpers import assert_close, host
from tests.nn.reference import (compare_calls, copy_weights_to_torch, perturb_parameters, random_inputs,
                                train_then_evaluate)


@pytest.fixture(autouse=True)
def float64():
    minigrad.set_default_dtype("float64")


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    layer = nn.Linear(3, 4, bias=bias)
    reference = copy_weights_to_torch(layer, torch.nn.Linear(3, 4, bias=bias).double())
    compare_calls(layer, reference, random_inputs(shape))


@pytest.mark.parametrize("normalized_shape, shape", [((6,), (4, 6)), ((6,), (2, 3, 6)), ((3, 6), (4, 3, 6))])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, False)])
def test_layer_norm(normalized_shape, shape, affine, bias):
    layer = nn.LayerNorm(normalized_shape, elementwise_affine=affine, bias=bias)
    perturb_parameters(layer)
    reference = copy_weights_to_torch(layer, torch.nn.LayerNorm(normalized_shape, elementwise_affine=affine,
                                                                bias=bias).double())
    compare_calls(layer, reference, random_inputs(shape, scale=3.0))


BATCH_NORM_SETTINGS = [dict(), dict(momentum=None), dict(track_running_stats=False), dict(affine=False)]


@pytest.mark.parametrize("shape", [(6, 4), (5, 4, 3), (3, 4, 3, 5)])
@pytest.mark.parametrize("settings", BATCH_NORM_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_batch_norm_training_then_eval(shape, settings):
    """Several training steps (outputs, gradients and running statistics), then evaluation mode; BatchNorm1d
    for (N, C) and (N, C, L), BatchNorm2d for (N, C, H, W)."""
    name = "BatchNorm2d" if len(shape) == 4 else "BatchNorm1d"
    layer = getattr(nn, name)(4, **settings)
    reference = getattr(torch.nn, name)(4, **settings).double()
    perturb_parameters(layer)
    copy_weights_to_torch(layer, reference)
    train_then_evaluate(layer, reference, shape, steps=4)


def test_batch_norm_running_statistics_use_the_unbiased_variance():
    layer = nn.BatchNorm1d(2, momentum=1.0)
    x = numpy.random.default_rng(0).standard_normal((5, 2))
    layer(minigrad.tensor(x))
    assert_close(layer.running_var, x.var(axis=0, ddof=1))
    assert_close(layer.running_mean, x.mean(axis=0))
    assert layer.num_batches_tracked.item() == 1


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_cell_one_step(nonlinearity, bias):
    cell = nn.RNNCell(3, 5, bias=bias, nonlinearity=nonlinearity)
    reference = copy_weights_to_torch(cell, torch.nn.RNNCell(3, 5, bias=bias, nonlinearity=nonlinearity).double())
    compare_calls(cell, reference, random_inputs((4, 3), (4, 5)))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_without_hidden_state_and_unbatched(nonlinearity):
    cell = nn.RNNCell(3, 5, nonlinearity=nonlinearity)
    reference = copy_weights_to_torch(cell, torch.nn.RNNCell(3, 5, nonlinearity=nonlinearity).double())
    compare_calls(cell, reference, random_inputs((4, 3)))  # hx=None: zeros
    cell.zero_grad()
    reference.zero_grad()
    output = compare_calls(cell, reference, random_inputs((3,), (5,)))  # unbatched
    assert output.shape == (5,)
    cell.zero_grad()
    reference.zero_grad()
    compare_calls(cell, reference, random_inputs((3,)))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_backpropagation_through_20_steps(nonlinearity):
    steps = 20
    cell = nn.RNNCell(3, 6, nonlinearity=nonlinearity)
    reference = copy_weights_to_torch(cell, torch.nn.RNNCell(3, 6, nonlinearity=nonlinearity).double())

    def unroll(step, sequence, h0):
        h, states = h0, []
        for t in range(steps):
            h = step(sequence[t], h)
            states.append(h)
        return states

    sequence, h0 = random_inputs((steps, 4, 3), (4, 6))
    compare_calls(lambda x, h: minigrad.stack(unroll(cell, x, h)),
                  lambda x, h: torch.stack(unroll(reference, x, h)), [sequence, h0],
                  parameters=dict(cell.named_parameters()), torch_parameters=dict(reference.named_parameters()))


def test_rnn_module_matches_torch_rnn():
    """RNN(RNNCell) unrolled over a time-major sequence is torch.nn.RNN with one layer."""
    rnn = nn.RNN(nn.RNNCell(3, 5))
    reference = torch.nn.RNN(3, 5).double()
    reference.load_state_dict({f"{key.split('.')[-1]}_l0": torch.tensor(host(value))
                               for key, value in rnn.state_dict().items()})
    sequence, h0 = random_inputs((7, 2, 3), (2, 5))
    parameters = {f"{name.split('.')[-1]}_l0": p for name, p in rnn.named_parameters()}
    compare_calls(lambda x, h: rnn(x, h)[0], lambda x, h: reference(x, h[None])[0], [sequence, h0],
                  parameters=parameters, torch_parameters=dict(reference.named_parameters()))
    output, last = rnn(minigrad.tensor(sequence), minigrad.tensor(h0))
    assert_close(last, output[-1])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(reduction):
    logits = random_inputs((6, 4), scale=3.0)
    target = numpy.array([0, 3, 1, 1, 2, 3])
    compare_calls(lambda z: F.cross_entropy(z, minigrad.tensor(target), reduction=reduction),
                  lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(target), reduction=reduction),
                  logits, parameters={}, torch_parameters={})


def test_cross_entropy_unbatched():
    compare_calls(lambda z: F.cross_entropy(z, minigrad.tensor(2)),
                  lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(2)),
                  random_inputs((5,)), parameters={}, torch_parameters={})


def test_cross_entropy_is_stable_for_logits_of_1e4():
    logits = random_inputs((5, 7), scale=1e4)
    target = numpy.array([0, 6, 2, 2, 1])
    output = compare_calls(lambda z: F.cross_entropy(z, minigrad.tensor(target)),
                           lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(target)),
                           logits, parameters={}, torch_parameters={})
    assert numpy.isfinite(output.item()) and output.item() > 1e3
    float32 = F.cross_entropy(minigrad.tensor(logits[0], dtype="float32"), minigrad.tensor(target))
    assert numpy.isfinite(float32.item())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    compare_calls(lambda u, v: F.mse_loss(u, v, reduction=reduction),
                  lambda u, v: torch.nn.functional.mse_loss(u, v, reduction=reduction),
                  random_inputs((4, 3), (4, 3)), parameters={}, torch_parameters={})


@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_and_log_softmax(dim):
    arrays = random_inputs((4, 5), scale=3.0)
    compare_calls(lambda x: F.softmax(x, dim), lambda x: torch.softmax(x, dim), arrays,
                  parameters={}, torch_parameters={})
    compare_calls(lambda x: F.log_softmax(x, dim), lambda x: torch.log_softmax(x, dim), arrays,
                  parameters={}, torch_parameters={})


def test_activations():
    arrays = random_inputs((4, 5))
    for ours, theirs in [(nn.ReLU(), torch.nn.ReLU()), (nn.Tanh(), torch.nn.Tanh()),
                         (F.sigmoid, torch.sigmoid)]:
        compare_calls(ours, theirs, arrays, parameters={}, torch_parameters={})


def test_a_small_network_trains_like_torch():
    """Sequential of every layer kind, three Adam steps on cross-entropy: the same weights as torch.optim.

    The first Linear has no bias: BatchNorm subtracts it again, so its true gradient is 0 and the computed one
    is rounding noise, which Adam's normalization would blow up to full-sized (and different) steps.
    """
    model = nn.Sequential(nn.Linear(6, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), nn.LayerNorm(8), nn.Tanh(),
                          nn.Linear(8, 3))
    reference = torch.nn.Sequential(torch.nn.Linear(6, 8, bias=False), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                    torch.nn.LayerNorm(8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    copy_weights_to_torch(model, reference)
    optimizer = minigrad.optim.Adam(model.parameters(), lr=0.05)
    torch_optimizer = torch.optim.Adam(reference.parameters(), lr=0.05)
    rng = numpy.random.default_rng(0)
    for _ in range(3):
        x, target = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
        optimizer.zero_grad()
        torch_optimizer.zero_grad()
        F.cross_entropy(model(minigrad.tensor(x)), minigrad.tensor(target)).backward()
        torch.nn.functional.cross_entropy(reference(torch.tensor(x)), torch.tensor(target)).backward()
        optimizer.step()
        torch_optimizer.step()
    for key, value in reference.state_dict().items():
        assert_close(model.state_dict()[key], value, what=key)


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")  # PyTorch's, for its init
@pytest.mark.parametrize("in_features, out_features, shape", [(0, 4, (5, 0)), (3, 0, (5, 3)), (3, 4, (0, 3)),
                                                               (0, 4, (0,))])
@pytest.mark.parametrize("fast", [False, True])
def test_linear_with_no_features_or_no_rows(in_features, out_features, shape, fast):
    """A layer with no input or no output features, or a batch of no rows, as PyTorch has them: the empty sums
    are 0 (a layer without inputs outputs its bias, which starts at 0), the gradients have the inputs' shapes."""
    before = minigrad.fast_kernels_enabled()
    minigrad.set_fast_kernels(fast)
    try:
        layer = nn.Linear(in_features, out_features)
        reference = copy_weights_to_torch(layer, torch.nn.Linear(in_features, out_features).double())
        assert_close(layer.bias, reference.bias, what="bias at the start")
        compare_calls(layer, reference, random_inputs(shape))
    finally:
        minigrad.set_fast_kernels(before)
