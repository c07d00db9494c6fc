"""Max and average pooling against PyTorch in float64 (output and input gradient to 1e-10), gradcheck, ties,
the strict backend and bad arguments."""

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn import ops
from tests.helpers import assert_close, to_torch
from tests.nn.reference import compare_calls, random_inputs

SETTINGS = [dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=3, stride=2, padding=1),
            dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)), dict(kernel_size=(3, 2), stride=2)]
IDS = [",".join(f"{k}={v}" for k, v in s.items()) for s in SETTINGS]


@pytest.fixture(autouse=True)
def float64():
    minigrad.set_default_dtype("float64")


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 5, 5)])
def test_max_pool2d_matches_torch(settings, shape):
    compare_calls(lambda x: F.max_pool2d(x, **settings), lambda x: torch.nn.functional.max_pool2d(x, **settings),
                  random_inputs(shape), parameters={}, torch_parameters={})


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(settings, count_include_pad):
    compare_calls(lambda x: F.avg_pool2d(x, **settings, count_include_pad=count_include_pad),
                  lambda x: torch.nn.functional.avg_pool2d(x, **settings, count_include_pad=count_include_pad),
                  random_inputs((2, 3, 7, 6)), parameters={}, torch_parameters={})


def test_modules_match_torch():
    x = random_inputs((2, 3, 6, 6))
    for ours, theirs in [(nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
                         (nn.AvgPool2d(2, count_include_pad=False), torch.nn.AvgPool2d(2, count_include_pad=False)),
                         (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
                         (nn.AdaptiveAvgPool2d((1, 1)), torch.nn.AdaptiveAvgPool2d((1, 1)))]:
        compare_calls(ours, theirs, x)


@pytest.mark.parametrize("stride", [1, 2])
def test_max_pool2d_ties_send_the_gradient_where_torch_does(stride):
    """Plateaus of equal values (ties inside windows, overlapping windows with stride 1): the gradient reaches
    exactly the inputs PyTorch's reaches."""
    x = numpy.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 0.0, 3.0, 3.0], [3.0, 3.0, 3.0, 0.0]]]])
    ours = minigrad.tensor(x, requires_grad=True)
    theirs = to_torch(x, requires_grad=True)
    F.max_pool2d(ours, 2, stride).sum().backward()
    torch.nn.functional.max_pool2d(theirs, 2, stride).sum().backward()
    assert_close(ours.grad, theirs.grad)
    assert ours.grad.numpy().sum() == F.max_pool2d(ours, 2, stride).numel()  # one input per window


def _leaf(shape, seed=0):
    rng = numpy.random.default_rng(seed)
    return minigrad.tensor(rng.permutation(numpy.prod(shape)).reshape(shape) * 0.1, requires_grad=True)


@pytest.mark.parametrize("function, op", [(lambda x: F.max_pool2d(x, 3, 2, 1), ops.MaxPool2d),
                                          (lambda x: F.avg_pool2d(x, (2, 3), 1, (1, 0)), ops.AvgPool2d),
                                          (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                                           ops.AvgPool2d)])
def test_gradcheck_and_one_node(function, op):
    x = _leaf((2, 2, 5, 4))  # distinct values: the arg-max does not move under finite differences
    assert minigrad.gradcheck(function, [x])
    output = function(x)
    assert output.grad_fn.function is op and output.grad_fn.parents[0] is x


def test_pooling_on_the_strict_backend_gives_numpys_numbers():
    x = random_inputs((2, 3, 6, 5), seed=3)[0]
    for function in (lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 2, 1, 1, False)):
        results = {}
        for backend in ("numpy", "strict"):
            with minigrad.use_backend(backend):
                leaf = minigrad.tensor(x, requires_grad=True)
                output = function(leaf)
                output.backward(minigrad.tensor(numpy.random.default_rng(1).standard_normal(output.shape)))
                assert output.backend == backend
                results[backend] = (output, leaf.grad)
        for actual, expected in zip(results["strict"], results["numpy"]):
            assert_close(actual, expected, atol=1e-12)


@pytest.mark.parametrize("function, arguments, words", [
    (F.max_pool2d, ((2, 3, 2, 5), 3), "larger than the padded input"),
    (F.avg_pool2d, ((2, 3, 5, 5), 2, 1, 2), "at most half the kernel size"),
    (F.max_pool2d, ((5, 5), 2), "expected a 4-D input"),
    (F.adaptive_avg_pool2d, ((2, 3, 4, 4), 2), "only output_size 1"),
])
def test_bad_arguments_name_the_function_and_the_shapes(function, arguments, words):
    shape, *rest = arguments
    with pytest.raises(ValueError, match=function.__name__) as error:
        function(minigrad.tensor(numpy.zeros(shape)), *rest)
    assert words in str(error.value)
