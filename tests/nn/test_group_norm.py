"""GroupNorm and BatchNorm2d against PyTorch in float64, and the family relation of the normalizations: GroupNorm
with one group is LayerNorm over (C, H, W), with C groups it is InstanceNorm."""

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn import ops
from tests.helpers import assert_close, to_torch
from tests.nn.reference import (compare_calls, copy_weights_to_torch, perturb_parameters, random_inputs,
                                train_then_evaluate)


@pytest.fixture(autouse=True)
def float64():
    minigrad.set_default_dtype("float64")


@pytest.mark.parametrize("shape, groups", [((3, 6, 4, 5), 1), ((3, 6, 4, 5), 2), ((3, 6, 4, 5), 3),
                                           ((3, 6, 4, 5), 6), ((4, 6), 2), ((2, 6, 7), 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_module_matches_torch(shape, groups, affine):
    layer = perturb_parameters(nn.GroupNorm(groups, 6, affine=affine))
    reference = copy_weights_to_torch(layer, torch.nn.GroupNorm(groups, 6, affine=affine).double())
    compare_calls(layer, reference, random_inputs(shape, scale=3.0))


def test_group_norm_functional_matches_torch_with_only_a_weight():
    compare_calls(lambda x, w: F.group_norm(x, 2, w, eps=1e-3),
                  lambda x, w: torch.nn.functional.group_norm(x, 2, w, eps=1e-3),
                  random_inputs((2, 4, 3, 3), (4,)), parameters={}, torch_parameters={})


def test_group_norm_family_relation():
    """One group: LayerNorm over (C, H, W). C groups: InstanceNorm (each channel of each example alone)."""
    x = random_inputs((3, 4, 5, 2), scale=2.0)[0]
    one_group = F.group_norm(minigrad.tensor(x), 1)
    assert_close(one_group, F.layer_norm(minigrad.tensor(x), (4, 5, 2)))
    every_channel = F.group_norm(minigrad.tensor(x), 4)
    assert_close(every_channel, torch.nn.functional.instance_norm(to_torch(x)))
    assert not numpy.allclose(one_group.numpy(), every_channel.numpy())  # the two differ on this input


INSTANCE_NORM_SETTINGS = [dict(), dict(affine=True), dict(track_running_stats=True),
                          dict(affine=True, track_running_stats=True, momentum=0.3),
                          dict(track_running_stats=True, momentum=None)]


@pytest.mark.parametrize("settings", INSTANCE_NORM_SETTINGS,
                         ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (4, 3, 5)])
def test_instance_norm_2d_training_then_eval_matches_torch(settings, shape):
    layer = perturb_parameters(nn.InstanceNorm2d(4, **settings))
    reference = copy_weights_to_torch(layer, torch.nn.InstanceNorm2d(4, **settings).double())
    train_then_evaluate(layer, reference, shape, steps=3)


def test_instance_norm_is_group_norm_with_a_group_per_channel():
    x = minigrad.tensor(random_inputs((2, 3, 4, 4), scale=2.0)[0], requires_grad=True)
    assert_close(nn.InstanceNorm2d(3)(x), nn.GroupNorm(3, 3, affine=False)(x))
    assert nn.InstanceNorm2d(3)(x).grad_fn.function is ops.GroupNorm


def test_instance_norm_2d_on_the_strict_backend_gives_numpys_numbers():
    x = random_inputs((2, 3, 4, 5), seed=4)[0]
    results = {}
    for backend in ("numpy", "strict"):
        with minigrad.use_backend(backend):
            layer = nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
            leaf = minigrad.tensor(x, requires_grad=True)
            output = layer(leaf)
            output.backward(minigrad.tensor(numpy.random.default_rng(1).standard_normal(output.shape)))
            layer.eval()
            assert output.backend == backend
            results[backend] = [output, leaf.grad, layer.weight.grad, layer.running_var, layer(leaf)]
    for actual, expected in zip(results["strict"], results["numpy"]):
        assert_close(actual, expected, atol=1e-12)


def test_batch_norm_2d_rejects_other_inputs_and_the_functional_takes_images():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected a 4-D input \(N, C, H, W\)"):
        nn.BatchNorm2d(3)(minigrad.tensor(numpy.zeros((2, 3, 4))))
    with pytest.raises(ValueError, match="expected 3 channels in dimension 1"):
        nn.BatchNorm2d(3)(minigrad.tensor(numpy.zeros((2, 4, 2, 2))))
    x = random_inputs((3, 2, 4, 4))[0]
    running = [minigrad.tensor(numpy.zeros(2)), minigrad.tensor(numpy.ones(2))]
    torch_running = [torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)]
    output = F.batch_norm(minigrad.tensor(x), *running, training=True, momentum=0.2)
    expected = torch.nn.functional.batch_norm(to_torch(x), *torch_running, training=True, momentum=0.2)
    assert_close(output, expected)
    for ours, theirs in zip(running, torch_running):
        assert_close(ours, theirs)


@pytest.mark.parametrize("fast", [True, False])
def test_batch_norm_2d_fast_and_plain_kernels_agree(fast):
    """Both the plain op and the fast subclass chosen for NumPy arrays, on images."""
    minigrad.set_fast_kernels(fast)
    try:
        layer = perturb_parameters(nn.BatchNorm2d(3))
        reference = copy_weights_to_torch(layer, torch.nn.BatchNorm2d(3).double())
        output = compare_calls(layer, reference, random_inputs((4, 3, 5, 6), scale=2.0))
        assert (output.grad_fn.function is not ops.BatchNorm) == fast  # a fast subclass ran, or the plain op
        assert issubclass(output.grad_fn.function, ops.BatchNorm)
        assert_close(layer.running_var, reference.running_var)
    finally:
        minigrad.set_fast_kernels(True)


@pytest.mark.parametrize("arguments, words", [
    ((minigrad.tensor(numpy.zeros((2, 6, 3))), 4), "num_groups (4) must be a positive int dividing"),
    ((minigrad.tensor(numpy.zeros(6)), 2), "expected an input of shape (N, C, *)"),
    ((minigrad.tensor(numpy.zeros((2, 6, 3))), 2, minigrad.tensor(numpy.ones(3))), "weight has shape (3,)"),
])
def test_group_norm_bad_arguments(arguments, words):
    with pytest.raises(ValueError, match="group_norm") as error:
        F.group_norm(*arguments)
    assert words in str(error.value)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 6.*expected 6 channels"):
        nn.GroupNorm(2, 6)(minigrad.tensor(numpy.zeros((2, 4, 3))))
