"""Gradients in the subnormal range, lifted by a power of two in the fast Linear's and LayerNorm's backward
(minigrad.nn.ops.fast.subnormal). Three claims, each against the unlifted computation: bit for bit the same where
its products and sums stay normal; sums of subnormal products closer to the exact values; the unlifted bits and
warnings where lifted results overflow or nothing needs lifting.
"""

import warnings

import numpy
import pytest

import minigrad
from minigrad.nn import functional as F
from minigrad.nn.ops import Linear, fast
from minigrad.nn.ops.fast import kernels, subnormal
from minigrad.nn.ops.layer_norm import LayerNorm

SUBNORMAL_STEP = 2.0 ** -149  # float32's grid below 2^-126


def _run(op, arrays, *extra):
    """op applied to leaves made of arrays[:-1] (None stays None), backward from arrays[-1]: the output and every
    gradient, as NumPy arrays."""
    leaves = [None if a is None else minigrad.tensor(a.copy(), requires_grad=True, backend="numpy")
              for a in arrays[:-1]]
    output = op.apply(*leaves, *extra)
    assert output.grad_fn.function is op
    output.backward(minigrad.tensor(arrays[-1], backend="numpy"))
    return [output.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves if leaf is not None]


@pytest.fixture
def unlifted(monkeypatch):
    """A function running `op` with subnormal.lift turned off: the unlifted computation of the same class."""
    def run(op, arrays, *extra):
        with monkeypatch.context() as patch:
            patch.setattr(subnormal, "lift", lambda grad: None)
            return _run(op, arrays, *extra)
    return run


@pytest.fixture(params=["compiled", "numpy"])
def scaling(request, monkeypatch):
    """Lifting and lowering through the compiled pass, and through NumPy (without numba, or MINIGRAD_NUMBA=0)."""
    if request.param == "compiled" and kernels.numba is None:
        pytest.skip("numba is not installed (pip install minigrad[fast])")
    monkeypatch.setattr(kernels, "ENABLED", request.param == "compiled")
    return request.param


def _assert_same_bits(actual, expected):
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == e.dtype
        numpy.testing.assert_array_equal(a, e, err_msg=f"result {index}")


def _worst_error(results, exact):
    """The largest error of `results` against float64 `exact`, in units of one step of float32's subnormal grid
    plus float32's relative rounding of the exact value."""
    return max(float((numpy.abs(r.astype(numpy.float64) - e) / (SUBNORMAL_STEP + 1e-6 * numpy.abs(e))).max())
               for r, e in zip(results, exact))


# --- Linear ----------------------------------------------------------------------------------------------------

def _linear_arrays(dtype, grad_scale, rows=6, features=(5, 4), seed=3):
    rng = numpy.random.default_rng(seed)
    out_features, in_features = features
    arrays = [rng.standard_normal((rows, in_features)), rng.standard_normal(features),
              rng.standard_normal(out_features),
              rng.standard_normal((rows, out_features)) * grad_scale]  # a power of two: exact in float64
    return [a.astype(dtype) for a in arrays]


@pytest.mark.parametrize("dtype, grad_scale", [(numpy.float32, 2.0 ** -115), (numpy.float64, 2.0 ** -1010)])
def test_linear_backward_of_a_tiny_gradient_is_bit_for_bit_the_unlifted_one(dtype, grad_scale, unlifted, scaling):
    """Below the lifting limit, but with normal products: the lift and the lowering move exponents only."""
    arrays = _linear_arrays(dtype, grad_scale)
    assert subnormal.lift(arrays[-1]) is not None
    _assert_same_bits(_run(fast.ContiguousTransposeLinear, arrays), _run(Linear, arrays))
    _assert_same_bits(_run(fast.ContiguousTransposeLinear, arrays), unlifted(fast.ContiguousTransposeLinear, arrays))


def test_linear_backward_of_a_subnormal_gradient_is_closer_to_the_exact_one(unlifted, scaling):
    """float32 gradients around 2^-140 make every product subnormal: the unlifted products are each rounded to
    the subnormal grid, the lifted ones keep 24 bits and are rounded to that grid at the end."""
    arrays = _linear_arrays(numpy.float32, 2.0 ** -140, rows=64, features=(96, 80))
    x, weight, _, grad = (a.astype(numpy.float64) for a in arrays)
    exact = [grad @ weight, grad.T @ x, grad.sum(axis=0)]
    lifted_error = _worst_error(_run(fast.ContiguousTransposeLinear, arrays)[1:], exact)
    unlifted_error = _worst_error(unlifted(fast.ContiguousTransposeLinear, arrays)[1:], exact)
    assert lifted_error <= 1.0, lifted_error
    assert unlifted_error > 2.0, unlifted_error  # a case where the unlifted products do lose digits


def _with_warnings(run, *arguments):
    """run(*arguments) and the messages of the warnings it gave (NumPy's floating-point warnings among them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(*arguments)
    return result, [str(warning.message) for warning in caught]


@pytest.mark.parametrize("change", ["huge entry later", "huge weight", "nan", "zeros"])
def test_linear_backward_gives_the_unlifted_bits_where_lifting_overflows_or_is_not_needed(change, unlifted, scaling):
    """A gradient that starts tiny but holds a large value later, and a weight whose products overflow once
    lifted (both recomputed unlifted), a NaN, an all-zero gradient (not lifted): the unlifted products, bit for
    bit, and the warnings they give, no more (an overflow of the lifted attempt is not reported)."""
    arrays = _linear_arrays(numpy.float32, 2.0 ** -140)
    if change == "huge entry later":
        arrays[3][-1, -1] = 1e30
    elif change == "huge weight":  # lifted to 0.5, five products of 1.5e38 would sum past float32's largest
        arrays[3][...] = 2.0 ** -111
        arrays[1][:, 0] = 3e38
    elif change == "nan":
        arrays[3][0, 0] = numpy.nan
    else:
        arrays[3][...] = 0
    lifted, lifted_warnings = _with_warnings(_run, fast.ContiguousTransposeLinear, arrays)
    expected, expected_warnings = _with_warnings(unlifted, fast.ContiguousTransposeLinear, arrays)
    _assert_same_bits(lifted, expected)
    assert lifted_warnings == expected_warnings
    if change == "huge entry later":  # the unlifted products overflow nowhere, so a strict caller gets no error
        with numpy.errstate(over="raise", invalid="raise"):
            _assert_same_bits(_run(fast.ContiguousTransposeLinear, arrays), expected)


def test_lift_is_decided_by_the_first_entry_or_when_it_is_zero_by_all():
    tiny = numpy.finfo(numpy.float32).tiny
    limit = tiny * subnormal.MARGIN
    assert subnormal.lift(numpy.array([limit / 2, -limit / 4], numpy.float32)) == 1 / limit == 2.0 ** 110
    assert subnormal.lift(numpy.array([limit, limit / 2], numpy.float32)) is None
    assert subnormal.lift(numpy.array([numpy.nan, limit / 2], numpy.float32)) is None
    # a first entry of zero: every entry must be below the limit, and one nonzero
    assert subnormal.lift(numpy.array([0, -limit / 4], numpy.float32)) == 2.0 ** 110
    assert subnormal.lift(numpy.array([0, limit / 2, 1e-3], numpy.float32)) is None
    assert subnormal.lift(numpy.array([0, limit / 2, numpy.inf], numpy.float32)) is None
    assert subnormal.lift(numpy.zeros(3, numpy.float32)) is None
    assert subnormal.lift(numpy.zeros(0, numpy.float32)) is None
    values = numpy.array([3 * 2.0 ** -149, tiny], numpy.float32)
    numpy.testing.assert_array_equal(subnormal.scaled(subnormal.scaled(values, 2.0 ** 110), 2.0 ** -110), values)


# --- LayerNorm -------------------------------------------------------------------------------------------------

needs_numba = pytest.mark.skipif(kernels.numba is None, reason="numba is not installed (pip install minigrad[fast])")


def _layer_norm_arrays(dtype, grad_scale, shape=(8, 16), seed=5):
    rng = numpy.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) * 2 + 0.5, rng.standard_normal(shape[1]), rng.standard_normal(shape[1]),
              rng.standard_normal(shape) * grad_scale]
    return [a.astype(dtype) for a in arrays]


@needs_numba
@pytest.mark.parametrize("dtype, grad_scale", [(numpy.float32, 2.0 ** -115), (numpy.float64, 2.0 ** -1010)])
def test_layer_norm_backward_of_a_tiny_gradient_is_bit_for_bit_the_unlifted_one(dtype, grad_scale, unlifted):
    arrays = _layer_norm_arrays(dtype, grad_scale)
    assert subnormal.lift(arrays[-1]) is not None
    _assert_same_bits(_run(fast.NumbaLayerNorm, arrays, 1, 1e-5), unlifted(fast.NumbaLayerNorm, arrays, 1, 1e-5))


@needs_numba
def test_layer_norm_backward_of_a_subnormal_gradient_is_closer_to_the_exact_one(unlifted):
    arrays = _layer_norm_arrays(numpy.float32, 2.0 ** -135, shape=(64, 96))
    exact = _run(LayerNorm, [a.astype(numpy.float64) for a in arrays], 1, 1e-5)[1:]
    lifted_error = _worst_error(_run(fast.NumbaLayerNorm, arrays, 1, 1e-5)[1:], exact)
    unlifted_error = _worst_error(unlifted(fast.NumbaLayerNorm, arrays, 1, 1e-5)[1:], exact)
    assert lifted_error <= 2.0, lifted_error
    assert unlifted_error > 4.0, unlifted_error


@needs_numba
def test_layer_norm_backward_of_a_subnormal_gradient_accumulates_like_the_unlifted_one(monkeypatch):
    """With x.grad already holding a gradient, the lifted call hands a new dL/dx to the engine (which adds it)
    where the unlifted one adds inside its kernel: the same sums, to float32's rounding of one addition."""
    arrays = _layer_norm_arrays(numpy.float32, 2.0 ** -115)

    def twice():
        leaves = [minigrad.tensor(a.copy(), requires_grad=True, backend="numpy") for a in arrays[:-1]]
        for _ in range(2):
            F.layer_norm(*leaves[:1], (16,), *leaves[1:]).backward(minigrad.tensor(arrays[-1], backend="numpy"))
        return [leaf.grad.numpy() for leaf in leaves]

    lifted = twice()
    monkeypatch.setattr(subnormal, "lift", lambda grad: None)
    plain = twice()
    for a, e in zip(lifted, plain):
        numpy.testing.assert_allclose(a, e, rtol=1e-6, atol=0)
        assert numpy.abs(a).max() > 0


@needs_numba
def test_layer_norm_backward_gives_the_unlifted_bits_where_lifting_overflows(unlifted):
    """A gain near float32's largest value: lifted, dL/dx overflows, and the call recomputes it unlifted."""
    arrays = _layer_norm_arrays(numpy.float32, 2.0 ** -140)
    arrays[-1][...] = 2.0 ** -111
    arrays[1][0] = 3e38
    lifted, lifted_warnings = _with_warnings(_run, fast.NumbaLayerNorm, arrays, 1, 1e-5)
    expected, expected_warnings = _with_warnings(unlifted, fast.NumbaLayerNorm, arrays, 1, 1e-5)
    _assert_same_bits(lifted, expected)
    assert lifted_warnings == expected_warnings


def test_nothing_is_lifted_while_this_thread_flushes_subnormals():
    """With subnormals flushed the CPU takes no slow path and the flushed results are the ones asked for."""
    tiny_gradient = numpy.full(4, 2.0 ** -140, numpy.float32)
    before = minigrad.get_flush_denormal()
    if not minigrad.set_flush_denormal(True):
        pytest.skip("flushing subnormals is not supported on this platform")
    try:
        assert subnormal.lift(numpy.full(4, 2.0 ** -115, numpy.float32)) is None
    finally:
        minigrad.set_flush_denormal(before)
    assert subnormal.lift(tiny_gradient) == 2.0 ** 110
