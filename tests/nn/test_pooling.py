"""Max and average pooling against PyTorch in float64 (output and input gradient to 1e-10), with every argument
of torch 2.13's functionals and modules (ceil_mode, dilation, return_indices, count_include_pad, divisor_override),
gradcheck, ties, the strict backend and bad arguments."""

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn import composed as C
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


# Shapes where ceil_mode adds a last, partial window (7 and 6 are not reached exactly by these strides), and one
# where PyTorch drops the window that would start in the right padding (5 with kernel 2, stride 2, padding 1).
CEIL_SETTINGS = [dict(kernel_size=2, ceil_mode=True), dict(kernel_size=3, stride=2, ceil_mode=True),
                 dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                 dict(kernel_size=(2, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True),
                 dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)]
MAX_ONLY_SETTINGS = [dict(kernel_size=2, dilation=2), dict(kernel_size=3, stride=2, padding=1, dilation=(2, 1)),
                     dict(kernel_size=2, stride=2, dilation=2, ceil_mode=True),
                     dict(kernel_size=(3, 2), stride=1, padding=(1, 1), dilation=(1, 3))]
AVG_ONLY_SETTINGS = [dict(kernel_size=3, stride=2, padding=1, divisor_override=4),
                     dict(kernel_size=2, stride=2, padding=1, ceil_mode=True, divisor_override=3),
                     dict(kernel_size=3, stride=1, divisor_override=-2)]


def _ids(settings):
    return [",".join(f"{k}={v}" for k, v in s.items()) for s in settings]


@pytest.mark.parametrize("settings", CEIL_SETTINGS + MAX_ONLY_SETTINGS, ids=_ids(CEIL_SETTINGS + MAX_ONLY_SETTINGS))
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (1, 2, 5, 5), (2, 6, 9)])
def test_max_pool2d_options_match_torch(settings, shape):
    compare_calls(lambda x: F.max_pool2d(x, **settings), lambda x: torch.nn.functional.max_pool2d(x, **settings),
                  random_inputs(shape), parameters={}, torch_parameters={})


@pytest.mark.parametrize("settings", CEIL_SETTINGS + AVG_ONLY_SETTINGS, ids=_ids(CEIL_SETTINGS + AVG_ONLY_SETTINGS))
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (1, 2, 5, 5)])
def test_avg_pool2d_options_match_torch(settings, count_include_pad, shape):
    compare_calls(lambda x: F.avg_pool2d(x, **settings, count_include_pad=count_include_pad),
                  lambda x: torch.nn.functional.avg_pool2d(x, **settings, count_include_pad=count_include_pad),
                  random_inputs(shape), parameters={}, torch_parameters={})


def test_avg_pool2d_takes_pytorchs_positional_order():
    """(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override), as torch."""
    x = random_inputs((1, 2, 7, 7), seed=4)[0]
    ours = F.avg_pool2d(minigrad.tensor(x), 3, 2, 1, True, False, None)
    assert_close(ours, torch.nn.functional.avg_pool2d(to_torch(x), 3, 2, 1, True, False, None))


@pytest.mark.parametrize("settings", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                      dict(kernel_size=2, stride=1, padding=1, dilation=2),
                                      dict(kernel_size=(3, 2), stride=(2, 1), dilation=(1, 2), ceil_mode=True)],
                         ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 6, 5)])
def test_max_pool2d_return_indices_match_torch(settings, shape):
    x = random_inputs(shape, seed=8)[0]
    output, indices = F.max_pool2d(minigrad.tensor(x), **settings, return_indices=True)
    expected, expected_indices = torch.nn.functional.max_pool2d(to_torch(x), **settings, return_indices=True)
    assert_close(output, expected)
    assert indices.dtype == minigrad.int64 and indices.requires_grad is False
    numpy.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


def test_max_pool2d_return_indices_on_ties_are_torchs():
    x = numpy.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 0.0, 3.0, 3.0], [3.0, 3.0, 3.0, 0.0]]]])
    for stride in (1, 2):
        _, indices = F.max_pool2d(minigrad.tensor(x), 2, stride, return_indices=True)
        _, expected = torch.nn.functional.max_pool2d(to_torch(x), 2, stride, return_indices=True)
        numpy.testing.assert_array_equal(indices.numpy(), expected.numpy())


def test_pooling_modules_with_every_option_match_torch():
    x = random_inputs((2, 3, 7, 6), seed=2)
    pairs = [(nn.MaxPool2d(3, 2, 1, dilation=(1, 2), ceil_mode=True),
              torch.nn.MaxPool2d(3, 2, 1, dilation=(1, 2), ceil_mode=True)),
             (nn.MaxPool2d(2, 2, 1, 2, False, True), torch.nn.MaxPool2d(2, 2, 1, 2, False, True)),
             (nn.AvgPool2d(3, 2, 1, True, False, None), torch.nn.AvgPool2d(3, 2, 1, True, False, None)),
             (nn.AvgPool2d(2, ceil_mode=True, divisor_override=3), torch.nn.AvgPool2d(2, ceil_mode=True,
                                                                                      divisor_override=3))]
    for ours, theirs in pairs:
        compare_calls(ours, theirs, x)
    ours, theirs = nn.MaxPool2d(3, 2, 1, return_indices=True), torch.nn.MaxPool2d(3, 2, 1, return_indices=True)
    (output, indices), (expected, expected_indices) = ours(minigrad.tensor(x[0])), theirs(to_torch(x[0]))
    assert_close(output, expected)
    numpy.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


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


@pytest.mark.parametrize("function, op", [
    (lambda x: F.max_pool2d(x, 3, 2, 1), ops.MaxPool2d),
    (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), ops.MaxPool2d),
    (lambda x: F.max_pool2d(x, 2, 1, 1, dilation=(2, 1)), ops.MaxPool2d),
    (lambda x: F.max_pool2d(x, 2, 2, dilation=2, ceil_mode=True, return_indices=True)[0], ops.MaxPool2d),
    (lambda x: F.avg_pool2d(x, (2, 3), 1, (1, 0)), ops.AvgPool2d),
    (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), ops.AvgPool2d),
    (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), ops.AvgPool2d),
    (lambda x: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=False), ops.AvgPool2d),
    (lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=5), ops.AvgPool2d),
], ids=["max", "max-ceil", "max-dilation", "max-dilation-ceil-indices", "avg", "avg-exclude-pad", "avg-ceil",
        "avg-ceil-exclude-pad", "avg-divisor-override"])
def test_gradcheck_and_one_node(function, op):
    x = _leaf((2, 2, 5, 4))  # distinct values: the arg-max does not move under finite differences
    assert minigrad.gradcheck(function, [x])
    output = function(x)
    assert output.grad_fn.function is op and output.grad_fn.parents[0] is x


TWINS = [("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
         ("max_pool2d", dict(kernel_size=2, stride=2, padding=1, dilation=(2, 1), ceil_mode=True)),
         ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
         ("avg_pool2d", dict(kernel_size=(2, 3), stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
         ("avg_pool2d", dict(kernel_size=2, stride=1, divisor_override=3))]


@pytest.mark.parametrize("name, settings", TWINS, ids=[f"{n}-" + ",".join(f"{k}={v}" for k, v in s.items())
                                                       for n, s in TWINS])
@pytest.mark.parametrize("shape", [(2, 2, 7, 6), (2, 6, 7)])
def test_fused_equals_composed_twin_and_both_pass_gradcheck(name, settings, shape):
    fused_function, twin = getattr(F, name), getattr(C, name)
    fused_x, composed_x = _leaf(shape), _leaf(shape)
    fused, composed = fused_function(fused_x, **settings), twin(composed_x, **settings)
    if len(shape) == 4:  # one node (an unbatched input adds the [0] that drops the batch of one)
        assert fused.grad_fn.function in (ops.MaxPool2d, ops.AvgPool2d)
    assert_close(fused, composed, what="forward")
    upstream = numpy.random.default_rng(4).standard_normal(fused.shape)
    fused.backward(upstream)
    composed.backward(upstream)
    assert_close(fused_x.grad, composed_x.grad, what="input gradient")
    assert minigrad.gradcheck(lambda x: twin(x, **settings), [_leaf(shape)])
    assert minigrad.gradcheck(lambda x: fused_function(x, **settings), [_leaf(shape)])


@pytest.mark.parametrize("shape", [(2, 2, 7, 6), (2, 6, 7)])
def test_the_composed_twin_returns_the_same_indices(shape):
    settings = dict(kernel_size=(3, 2), stride=2, padding=1, dilation=(1, 2), ceil_mode=True, return_indices=True)
    x = _leaf(shape)
    (_, indices), (_, twin_indices) = F.max_pool2d(x, **settings), C.max_pool2d(x, **settings)
    numpy.testing.assert_array_equal(indices.numpy(), twin_indices.numpy())


def test_pooling_on_the_strict_backend_gives_numpys_numbers():
    x = random_inputs((2, 3, 6, 5), seed=3)[0]
    for function in (lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 2, 1, 1, count_include_pad=False)):
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
    (F.max_pool2d, ((2, 3, 5, 5), 2, 1, 0, 5), "spanning 6x6) is larger than the padded input"),
    (F.max_pool2d, ((2, 3, 5, 5), 3, 1, (1, 1, 1)), "padding must be a non-negative int or a pair"),
    (F.avg_pool2d, ((2, 3, 5, 5), 3, 1, (1, -1)), "padding must be a non-negative int or a pair"),
    (F.avg_pool2d, ((2, 3, 5, 5), 3, 1, "same"), "(input shape (2, 3, 5, 5))"),
    (F.avg_pool2d, ((2, 3, 5, 5), 3, 1, 1, False, True, 0), "divisor_override must be a non-zero int"),
    (F.max_pool2d, ((2, 3, 5, 5), 3, 1, 0, 0), "dilation must be a positive int"),
])
def test_bad_arguments_name_the_function_and_the_shapes(function, arguments, words):
    shape, *rest = arguments
    with pytest.raises(ValueError, match=function.__name__) as error:
        function(minigrad.tensor(numpy.zeros(shape)), *rest)
    assert words in str(error.value)
