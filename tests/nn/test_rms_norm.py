"""RMSNorm against PyTorch 2.13 (``torch.nn.RMSNorm``, ``torch.nn.functional.rms_norm``) in float64 and float32,
with its default eps (the input dtype's machine epsilon, not LayerNorm's 1e-5), and its argument checks.

The fused op against its composed twin, gradcheck of both, and the strict backend run from the table in
``tests/nn/test_fused_ops.py``."""

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn import composed as C
from minigrad.nn import functional as F
from minigrad.nn import ops
from tests.helpers import assert_close, to_torch
from tests.nn.reference import compare_calls, copy_weights_to_torch, perturb_parameters, random_inputs
from tests.nn.test_bad_input import expect_error


@pytest.fixture(autouse=True)
def float64():
    minigrad.set_default_dtype("float64")


@pytest.mark.parametrize("normalized_shape, shape", [((6,), (4, 6)), ((6,), (2, 3, 6)), ((3, 6), (4, 3, 6)),
                                                     ((6,), (6,))])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_module_matches_torch(normalized_shape, shape, affine, eps):
    layer = perturb_parameters(nn.RMSNorm(normalized_shape, eps=eps, elementwise_affine=affine))
    reference = copy_weights_to_torch(layer, torch.nn.RMSNorm(normalized_shape, eps=eps,
                                                              elementwise_affine=affine).double())
    output = compare_calls(layer, reference, random_inputs(shape, scale=3.0))
    assert output.grad_fn.function is ops.RMSNorm


@pytest.mark.parametrize("fused", [F.rms_norm, C.rms_norm], ids=["fused", "composed"])
@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm_functional_matches_torch(fused, eps):
    """Both spellings, positional and keyword, with and without a weight, to 1e-10 and every gradient."""
    compare_calls(lambda x, w: fused(x, (3, 4), w, eps=eps),
                  lambda x, w: torch.nn.functional.rms_norm(x, (3, 4), w, eps=eps),
                  random_inputs((2, 3, 4), (3, 4), scale=2.0), parameters={}, torch_parameters={})
    compare_calls(lambda x: fused(x, 4, eps=eps), lambda x: torch.nn.functional.rms_norm(x, (4,), eps=eps),
                  random_inputs((5, 4)), parameters={}, torch_parameters={})


@pytest.mark.parametrize("dtype, torch_dtype", [("float32", torch.float32), ("float64", torch.float64)])
def test_the_default_eps_is_the_dtypes_machine_epsilon_as_in_torch(dtype, torch_dtype):
    """eps=None is finfo(dtype).eps, which matters only for rows of tiny values: there mean(x^2) is comparable to
    eps, so LayerNorm's 1e-5 (or float64's eps in float32) would give a visibly different output."""
    x = numpy.full((2, 8), 1e-4) * numpy.arange(1, 9)
    ours = F.rms_norm(minigrad.tensor(x, dtype=dtype), 8)
    theirs = torch.nn.functional.rms_norm(torch.tensor(x, dtype=torch_dtype), (8,))
    tolerance = 1e-6 if dtype == "float32" else 1e-13
    assert ours.dtype == numpy.dtype(dtype)
    assert_close(ours, theirs.double(), atol=tolerance)
    eps = numpy.finfo(dtype).eps
    for other_eps in (1e-5, 1e-8 if dtype == "float32" else 1e-10):
        with_other = torch.nn.functional.rms_norm(torch.tensor(x, dtype=torch_dtype), (8,), eps=other_eps)
        assert numpy.abs(with_other.double().numpy() - theirs.double().numpy()).max() > 100 * tolerance, other_eps
    minigrad.set_default_dtype(dtype)
    layer = nn.RMSNorm(8)
    assert layer.eps is None and layer.weight.dtype == numpy.dtype(dtype)
    assert_close(layer(minigrad.tensor(x, dtype=dtype)), theirs.double(), atol=tolerance)
    explicit = F.rms_norm(minigrad.tensor(x, dtype=dtype), 8, eps=float(eps))
    assert_close(explicit, ours, atol=0)


def test_float32_matches_torch_forward_and_gradients():
    layer = perturb_parameters(nn.RMSNorm(16))
    reference = copy_weights_to_torch(layer, torch.nn.RMSNorm(16).double())
    layer.float()
    reference.float()
    x = random_inputs((4, 5, 16), scale=3.0)[0].astype(numpy.float32)
    mine, theirs = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    output, expected = layer(mine), reference(theirs)
    assert output.dtype == numpy.float32 and layer.weight.dtype == numpy.float32
    assert_close(output, expected, atol=1e-5)
    upstream = numpy.random.default_rng(2).standard_normal(x.shape).astype(numpy.float32)
    output.backward(minigrad.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    assert_close(mine.grad, theirs.grad, atol=1e-5)
    assert_close(layer.weight.grad, reference.weight.grad, atol=1e-4)


def test_module_defaults_parameter_and_repr_are_torchs():
    layer, reference = nn.RMSNorm((3, 4)), torch.nn.RMSNorm((3, 4))
    assert list(layer.state_dict()) == list(reference.state_dict()) == ["weight"]
    assert_close(layer.weight, numpy.ones((3, 4)), atol=0)
    assert repr(layer) == repr(reference) == "RMSNorm((3, 4), eps=None, elementwise_affine=True)"
    assert nn.RMSNorm(4, elementwise_affine=False).weight is None
    assert list(nn.RMSNorm(4, elementwise_affine=False).state_dict()) == []


def test_rms_norm_is_not_layer_norm_and_is_for_centered_rows():
    """The two differ by the mean: on rows with mean zero RMSNorm (eps 0) equals LayerNorm (eps 0)."""
    x = random_inputs((3, 7), scale=2.0)[0] + 1.5
    rms = F.rms_norm(minigrad.tensor(x), 7, eps=0.0)
    assert numpy.abs(rms.numpy() - F.layer_norm(minigrad.tensor(x), 7, eps=0.0).numpy()).max() > 0.1
    centered = x - x.mean(axis=1, keepdims=True)
    assert_close(F.rms_norm(minigrad.tensor(centered), 7, eps=0.0), F.layer_norm(minigrad.tensor(x), 7, eps=0.0))
    assert_close(rms, to_torch(x) * torch.rsqrt((to_torch(x) ** 2).mean(1, keepdim=True)))


def test_bad_inputs_name_the_op_the_layer_and_the_shapes():
    expect_error(nn.RMSNorm(4), [minigrad.randn(2, 5)], ValueError, "RMSNorm((4,), eps=None", "(2, 5)")
    expect_error(nn.RMSNorm((3, 4)), [minigrad.randn(2, 4, 3)], ValueError, "(3, 4)", "(2, 4, 3)")
    expect_error(nn.RMSNorm(4), [numpy.zeros((2, 4))], TypeError, "RMSNorm((4,)", "minigrad Tensor")
    with pytest.raises(ValueError, match=r"^rms_norm: .*\(4,\).*\(2, 5\)"):
        F.rms_norm(minigrad.randn(2, 5), 4)
    with pytest.raises(ValueError, match=r"^rms_norm: weight has shape \(3,\), expected normalized_shape \(4,\)"):
        F.rms_norm(minigrad.randn(2, 4), 4, minigrad.ones(3))
    with pytest.raises(ValueError, match=r"^rms_norm: .*\(4,\).*\(\)"):
        F.rms_norm(minigrad.tensor(1.0), 4)
