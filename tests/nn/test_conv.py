"""conv2d and Conv2d against PyTorch in float64 (output, input, weight and bias gradients to 1e-10), against
finite differences, against the composed twin, and their errors for bad arguments."""

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn import composed as C
from minigrad.nn import functional as F
from minigrad.nn import ops
from tests.helpers import assert_close, to_torch
from tests.nn.reference import compare_calls, copy_weights_to_torch, random_inputs

# (input shape, weight shape, keyword arguments)
SETTINGS = [
    ((2, 3, 7, 6), (4, 3, 3, 3), dict()),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(stride=2)),
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 2))),
    ((2, 3, 8, 7), (4, 3, 3, 3), dict(dilation=2, padding=1)),
    ((2, 4, 6, 6), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((1, 4, 6, 5), (4, 1, 3, 3), dict(groups=4, stride=2, dilation=(1, 2), padding=2)),
    ((2, 3, 6, 6), (4, 3, 4, 2), dict(padding="same")),
    ((2, 3, 6, 6), (4, 3, 3, 3), dict(padding="same", dilation=2)),
    ((2, 3, 5, 6), (4, 3, 2, 3), dict(padding="valid")),
    ((3, 5, 5), (2, 3, 3, 3), dict(padding=1)),
    ((2, 3, 5, 5), (2, 3, 5, 5), dict()),
]
IDS = [f"{x}-{w}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for x, w, kw in SETTINGS]


@pytest.fixture(autouse=True)
def float64():
    minigrad.set_default_dtype("float64")


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # PyTorch's note on its own speed
@pytest.mark.parametrize("x_shape, w_shape, settings", SETTINGS, ids=IDS)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(x_shape, w_shape, settings, bias):
    arrays = random_inputs(x_shape, w_shape, (w_shape[0],), seed=2)
    if not bias:
        arrays[2] = None
    compare_calls(lambda x, w, b: F.conv2d(x, w, b, **settings),
                  lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **settings), arrays, parameters={},
                  torch_parameters={})


@pytest.mark.parametrize("settings", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=(2, 1)),
                                      dict(groups=2, padding=(0, 1), bias=False)],
                         ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
def test_conv2d_module_matches_torch(settings):
    layer = nn.Conv2d(4, 6, (3, 2), **settings)
    reference = copy_weights_to_torch(layer, torch.nn.Conv2d(4, 6, (3, 2), **settings).double())
    assert layer.state_dict().keys() == reference.state_dict().keys()
    compare_calls(layer, reference, random_inputs((2, 4, 7, 6)))


def test_conv2d_default_initialization_has_pytorch_bounds():
    minigrad.manual_seed(0)
    layer = nn.Conv2d(3, 8, 3, groups=1)
    bound = 1 / numpy.sqrt(3 * 3 * 3)
    for parameter in (layer.weight, layer.bias):
        values = parameter.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound and values.max() > 0.8 * bound


BATCHED_NUMERIC_PADDING = [s for s in SETTINGS if len(s[0]) == 4 and not isinstance(s[2].get("padding", 0), str)]


@pytest.mark.parametrize("x_shape, w_shape, settings", BATCHED_NUMERIC_PADDING)
def test_the_input_gradient_is_the_transposed_convolution_of_the_output_gradient(x_shape, w_shape, settings):
    """The docstring's claim, against torch's conv_transpose2d (output_padding: rows no window reached)."""
    x, w = (minigrad.tensor(a, requires_grad=True) for a in random_inputs(x_shape, w_shape, seed=5))
    output = F.conv2d(x, w, **settings)
    upstream = numpy.random.default_rng(6).standard_normal(output.shape)
    output.backward(upstream)
    stride = F.pair("", "", settings.get("stride", 1))
    dilation = F.pair("", "", settings.get("dilation", 1))
    padding = settings.get("padding", 0)
    padding = (padding, padding) if isinstance(padding, int) else padding
    reached = [dilation[k] * (w_shape[2 + k] - 1) + 1 + stride[k] * (output.shape[2 + k] - 1) for k in (0, 1)]
    leftover = tuple(x_shape[2 + k] + 2 * padding[k] - reached[k] for k in (0, 1))
    expected = torch.nn.functional.conv_transpose2d(to_torch(upstream), to_torch(w.detach()), stride=stride,
                                                    padding=padding, output_padding=leftover,
                                                    groups=settings.get("groups", 1), dilation=dilation)
    assert_close(x.grad, expected)


def _leaves(shapes, seed=0):
    rng = numpy.random.default_rng(seed)
    return [minigrad.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


GRADCHECK = [((2, 2, 5, 4), (4, 1, 2, 3), dict(stride=(2, 1), padding=(1, 0, 2, 1), dilation=(1, 2), groups=2)),
             ((1, 3, 4, 4), (2, 3, 3, 3), dict(stride=(1, 1), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1))]


@pytest.mark.parametrize("x_shape, w_shape, geometry", GRADCHECK)
def test_gradcheck_fused_and_composed(x_shape, w_shape, geometry):
    arguments = (geometry["stride"], geometry["padding"], geometry["dilation"], geometry["groups"])
    inputs = _leaves([x_shape, w_shape, (w_shape[0],)])
    assert minigrad.gradcheck(lambda x, w, b: F.apply_conv2d(x, w, b, *arguments), inputs)
    assert minigrad.gradcheck(lambda x, w, b: C.conv2d(x, w, b, *arguments), inputs)


@pytest.mark.parametrize("x_shape, w_shape, geometry", GRADCHECK)
def test_fused_equals_composed_and_is_one_node(x_shape, w_shape, geometry):
    arguments = (geometry["stride"], geometry["padding"], geometry["dilation"], geometry["groups"])
    fused_inputs, composed_inputs = _leaves([x_shape, w_shape, (w_shape[0],)], 3), _leaves(
        [x_shape, w_shape, (w_shape[0],)], 3)
    fused, composed = F.apply_conv2d(*fused_inputs, *arguments), C.conv2d(*composed_inputs, *arguments)
    assert fused.grad_fn.function is ops.Conv2d
    assert all(parent is leaf for parent, leaf in zip(fused.grad_fn.parents, fused_inputs))
    assert_close(fused, composed, what="forward")
    upstream = numpy.random.default_rng(4).standard_normal(fused.shape)
    fused.backward(upstream)
    composed.backward(upstream)
    for index, (a, b) in enumerate(zip(fused_inputs, composed_inputs)):
        assert_close(a.grad, b.grad, what=f"gradient of input {index}")


def test_conv2d_on_the_strict_backend_gives_numpys_numbers():
    arrays = random_inputs((2, 4, 6, 5), (6, 2, 3, 3), (6,), seed=7)
    results = {}
    for backend in ("numpy", "strict"):
        with minigrad.use_backend(backend):
            inputs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
            output = F.conv2d(*inputs, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
            output.backward(minigrad.tensor(numpy.random.default_rng(1).standard_normal(output.shape)))
            assert output.backend == backend
            results[backend] = [output] + [x.grad for x in inputs]
    for actual, expected in zip(results["strict"], results["numpy"]):
        assert_close(actual, expected, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, settings, words", [
    ((2, 5, 6, 6), (4, 3, 3, 3), dict(), "expected an input with 3 channels"),
    ((2, 3, 2, 6), (4, 3, 3, 3), dict(), "larger than the padded input"),
    ((2, 3, 4, 4), (4, 3, 3, 3), dict(dilation=2, padding=0), "larger than the padded input"),
    ((2, 4, 6, 6), (6, 2, 3, 3), dict(groups=4), "groups (4) must be a positive int dividing out_channels"),
    ((2, 6, 6, 6), (6, 2, 3, 3), dict(groups=4), "groups (4) must be a positive int dividing out_channels"),
    ((2, 4, 6, 6), (4, 3, 3, 3), dict(groups=2), "expected an input with 6 channels"),
    ((6, 6), (4, 3, 3, 3), dict(), "expected a 4-D input"),
    ((2, 3, 6, 6), (4, 3, 3, 3), dict(padding="same", stride=2), "not supported for strided"),
    ((2, 3, 6, 6), (4, 3, 3, 3), dict(padding="full"), "padding must be"),
])
def test_conv2d_bad_arguments_name_the_op_and_the_shapes(x_shape, w_shape, settings, words):
    x, w = (minigrad.tensor(a) for a in random_inputs(x_shape, w_shape))
    with pytest.raises(ValueError, match="conv2d") as error:
        F.conv2d(x, w, **settings)
    assert words in str(error.value)


def test_conv2d_module_errors_name_the_module():
    layer = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4, kernel_size=\(3, 3\).*expected an input with 3 channels"):
        layer(minigrad.tensor(numpy.zeros((1, 2, 5, 5))))
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match=r"Conv2d: groups \(4\) must divide in_channels \(6\)"):
        nn.Conv2d(6, 4, 3, groups=4)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4, .*kernel \(3x3.*larger than the padded input \(2x5"):
        layer(minigrad.tensor(numpy.zeros((1, 3, 2, 5))))
    with pytest.raises(ValueError, match=r"Conv2d\(4, 6, .*groups=2.*expected an input with 4 channels"):
        nn.Conv2d(4, 6, 3, groups=2)(minigrad.tensor(numpy.zeros((1, 6, 5, 5))))
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(4, 6, 3, padding_mode="mirror")


@pytest.mark.parametrize("padding", [(1, 2, 3), (1, -1), (1.5, 1), [[1, 1], [1, 1]], -1, True])
def test_a_malformed_padding_names_the_op_and_the_shapes(padding):
    x, w = (minigrad.tensor(a) for a in random_inputs((2, 3, 6, 6), (4, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: padding must be a non-negative int or a pair \(rows, columns\)"
                                         r".*input shape \(2, 3, 6, 6\), kernel \(3, 3\)"):
        F.conv2d(x, w, padding=padding)
    with pytest.raises(ValueError, match=r"Conv2d: padding must be a non-negative int or a pair.*kernel \(3, 3\)"):
        nn.Conv2d(3, 4, 3, padding=padding)


PADDING_MODES = ["reflect", "replicate", "circular"]


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("settings", [dict(padding=1), dict(padding=(2, 1), stride=2), dict(padding="same"),
                                      dict(padding=(3, 2), dilation=(1, 2), groups=2)],
                         ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
@pytest.mark.parametrize("shape", [(2, 4, 5, 4), (4, 4, 6)])
def test_conv2d_padding_modes_match_torch(mode, settings, shape):
    layer = nn.Conv2d(4, 6, (3, 2), padding_mode=mode, **settings)
    reference = copy_weights_to_torch(layer, torch.nn.Conv2d(4, 6, (3, 2), padding_mode=mode, **settings).double())
    compare_calls(layer, reference, random_inputs(shape, seed=3))
    assert repr(layer).endswith(f"padding_mode={mode})")


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_conv2d_padding_modes_pass_gradcheck_and_the_strict_backend(mode):
    from minigrad.nn.modules.conv import pad_by_mode
    sides = (2, 1, 1, 2)

    def padded_conv(x, w, b):
        return F.apply_conv2d(pad_by_mode("Conv2d", x, sides, mode), w, b, (1, 1), (0, 0, 0, 0), (1, 1), 1)

    assert minigrad.gradcheck(padded_conv, _leaves([(2, 2, 4, 3), (3, 2, 2, 3), (3,)], seed=4))
    weight, bias, x_array = random_inputs((3, 2, 3, 3), (3,), (2, 2, 4, 3), seed=5)
    results = {}
    for backend in ("numpy", "strict"):
        with minigrad.use_backend(backend):
            layer = nn.Conv2d(2, 3, 3, padding=2, padding_mode=mode)
            layer.load_state_dict({"weight": weight, "bias": bias})
            x = minigrad.tensor(x_array, requires_grad=True)
            output = layer(x)
            output.backward(minigrad.tensor(numpy.random.default_rng(2).standard_normal(output.shape)))
            assert output.backend == backend
            results[backend] = (output, x.grad, layer.weight.grad)
    for actual, expected in zip(results["strict"], results["numpy"]):
        assert_close(actual, expected, atol=1e-12)


@pytest.mark.parametrize("mode, padding, words", [("reflect", 3, "smaller than the input's size"),
                                                  ("reflect", (1, 4), "smaller than the input's size"),
                                                  ("circular", 4, "at most the input's size")])
def test_conv2d_padding_modes_refuse_padding_past_the_input(mode, padding, words):
    layer = nn.Conv2d(1, 1, 3, padding=padding, padding_mode=mode)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 1, .*padding_mode=") as error:
        layer(minigrad.tensor(numpy.zeros((1, 1, 3, 4))))
    assert words in str(error.value) and "(1, 1, 3, 4)" in str(error.value)
    torch_layer = torch.nn.Conv2d(1, 1, 3, padding=padding, padding_mode=mode)
    with pytest.raises(RuntimeError):  # PyTorch refuses the same paddings
        torch_layer(torch.zeros(1, 1, 3, 4))
