"""NumbaLayerNormRNNCell against the plain LayerNormRNNCell op it replaces, and the line that chooses it.

The plain op is the one a student reads; the fast class must give the same output and every gradient (1e-12 in
float64, 1e-5 in float32) in each mode, batched and unbatched, pass gradcheck, lift a vanishing gradient without
changing its bits where nothing is subnormal, fall back to the unlifted computation where lifting overflows, and
run only where it suits.
"""

import warnings

import numpy
import pytest

import minigrad
from minigrad import nn
from minigrad.nn.ops.fast import kernels, subnormal
from minigrad.nn.ops.fast.recurrent import NumbaLayerNormRNNCell
from minigrad.nn.ops.recurrent import LayerNormRNNCell
from tests.helpers import assert_close

pytestmark = pytest.mark.skipif(kernels.numba is None, reason="numba is not installed (pip install minigrad[fast])")

TOLERANCE = {numpy.float64: 1e-12, numpy.float32: 1e-5}
INPUT, HIDDEN = 3, 6


def _arrays(mode, dtype, batch=(4,), bias=True, grad_scale=1.0, seed=0):
    """[x, h, W_ih, W_hh, gain, gain_hh, gain_ih, b, dL/dh'] for `mode` (the gains it does not use None)."""
    rng = numpy.random.default_rng(seed)
    gains = [1 + 0.3 * rng.standard_normal(HIDDEN) for _ in range(3)]
    used = {"joint": (True, False, False), "separate": (False, True, True), "recurrent": (False, True, False)}[mode]
    arrays = [rng.standard_normal(batch + (INPUT,)), rng.standard_normal(batch + (HIDDEN,)),
              0.6 * rng.standard_normal((HIDDEN, INPUT)), 0.6 * rng.standard_normal((HIDDEN, HIDDEN)),
              *(gain if use else None for gain, use in zip(gains, used)),
              0.2 * rng.standard_normal(HIDDEN) if bias else None,
              rng.standard_normal(batch + (HIDDEN,)) * grad_scale]  # a power of two: exact in float64
    return [None if a is None else a.astype(dtype) for a in arrays]


def _run(op, arrays, mode, nonlinearity="tanh"):
    """op applied to leaves of arrays[:-1] (None stays None), backward from arrays[-1]: the output and every
    gradient, as NumPy arrays."""
    leaves = [None if a is None else minigrad.tensor(a.copy(), requires_grad=True, backend="numpy")
              for a in arrays[:-1]]
    output = op.apply(*leaves, mode, nonlinearity, 1e-5)
    assert output.grad_fn.function is op
    output.backward(minigrad.tensor(arrays[-1], backend="numpy"))
    return [output.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves if leaf is not None]


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("mode", ["joint", "separate", "recurrent"])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("batch", [(4,), ()], ids=["batched", "unbatched"])
@pytest.mark.parametrize("bias", [True, False])
def test_fast_cell_equals_the_plain_op(dtype, mode, nonlinearity, batch, bias):
    arrays = _arrays(mode, dtype, batch, bias)
    expected = _run(LayerNormRNNCell, arrays, mode, nonlinearity)
    actual = _run(NumbaLayerNormRNNCell, arrays, mode, nonlinearity)
    assert len(actual) == len(expected) == 1 + sum(a is not None for a in arrays[:-1])
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == e.dtype == dtype and a.shape == e.shape, f"result {index}"
        assert_close(a, e, atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype], what=f"result {index}")


@pytest.mark.parametrize("mode", ["joint", "separate", "recurrent"])
def test_fast_cell_passes_gradcheck(mode):
    leaves = [None if a is None else minigrad.tensor(a, requires_grad=True, backend="numpy")
              for a in _arrays(mode, numpy.float64, (3,), seed=1)[:-1]]
    assert minigrad.gradcheck(lambda *t: NumbaLayerNormRNNCell.apply(*t, mode, "tanh", 1e-5), leaves)


def test_the_cell_picks_the_fast_class_for_numpy_float_arrays_only():
    cell = nn.LayerNormRNNCell(INPUT, HIDDEN, mode="separate")
    x = minigrad.randn(2, INPUT)
    assert cell(x).grad_fn.name == "NumbaLayerNormRNNCell"
    minigrad.set_fast_kernels(False)
    assert cell(x).grad_fn.name == "LayerNormRNNCell"
    minigrad.set_fast_kernels(True)
    strict = nn.LayerNormRNNCell(INPUT, HIDDEN, mode="separate").to("strict")
    assert strict(minigrad.randn(2, INPUT, backend="strict")).grad_fn.name == "LayerNormRNNCell"


def test_a_gradient_of_another_dtype_runs_the_plain_formulas():
    """backward called with a float64 gradient for a float32 step (the kernels take one dtype): the plain
    formulas, on zhat recomputed from what the fast forward kept."""
    arrays = _arrays("separate", numpy.float32)
    grad = arrays[-1].astype(numpy.float64)
    nodes = []
    for op in (NumbaLayerNormRNNCell, LayerNormRNNCell):
        leaves = [None if a is None else minigrad.tensor(a, requires_grad=True) for a in arrays[:-1]]
        nodes.append(op.apply(*leaves, "separate", "tanh", 1e-5).grad_fn)
    fast_grads, plain_grads = (node.function.backward(node, grad) for node in nodes)
    for index, (a, e) in enumerate(zip(fast_grads, plain_grads)):
        assert (a is None) == (e is None), f"gradient {index}"
        if a is not None:
            assert_close(a, e, atol=1e-5, rtol=1e-5, what=f"gradient {index}")


# --- the subnormal range -----------------------------------------------------------------------------------------

@pytest.fixture
def unlifted(monkeypatch):
    """_run with subnormal.lift turned off: the unlifted computation of the same class."""
    def run(*arguments):
        with monkeypatch.context() as patch:
            patch.setattr(subnormal, "lift", lambda grad: None)
            return _run(*arguments)
    return run


def _assert_same_bits(actual, expected):
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == e.dtype
        numpy.testing.assert_array_equal(a, e, err_msg=f"result {index}")


@pytest.mark.parametrize("mode", ["joint", "separate", "recurrent"])
@pytest.mark.parametrize("dtype, grad_scale", [(numpy.float32, 2.0 ** -112), (numpy.float64, 2.0 ** -1008)])
def test_a_tiny_gradient_is_lifted_with_the_unlifted_bits(mode, dtype, grad_scale, unlifted):
    """Below the lifting limit, with every product still normal: lifting and lowering move exponents only."""
    arrays = _arrays(mode, dtype, grad_scale=grad_scale)
    assert subnormal.lift(arrays[-1]) is not None
    lifted = _run(NumbaLayerNormRNNCell, arrays, mode)
    _assert_same_bits(lifted, unlifted(NumbaLayerNormRNNCell, arrays, mode))
    assert all(numpy.abs(result).max() > 0 for result in lifted)


def test_a_subnormal_gradient_is_lifted_closer_to_the_exact_one(unlifted):
    """float32 gradients around 2^-138: unlifted, every product is rounded to the subnormal grid."""
    arrays = _arrays("separate", numpy.float32, batch=(32,), grad_scale=2.0 ** -138)
    exact = _run(LayerNormRNNCell, [None if a is None else a.astype(numpy.float64) for a in arrays], "separate")
    step = 2.0 ** -149

    def worst(results):
        return max(float((numpy.abs(r.astype(numpy.float64) - e) / (step + 1e-6 * numpy.abs(e))).max())
                   for r, e in zip(results[1:], exact[1:]))

    lifted_error, unlifted_error = worst(_run(NumbaLayerNormRNNCell, arrays, "separate")), worst(
        unlifted(NumbaLayerNormRNNCell, arrays, "separate"))
    assert lifted_error <= 2.0, lifted_error
    assert unlifted_error > 4.0, unlifted_error


def test_where_lifting_overflows_the_unlifted_bits_and_warnings_come_back(unlifted):
    """A weight near float32's largest value: lifted, its products overflow, and backward recomputes unlifted,
    with the warnings of the unlifted products and no others."""
    arrays = _arrays("separate", numpy.float32, grad_scale=2.0 ** -140)
    arrays[-1][...] = 2.0 ** -111
    arrays[3][:, 0] = 3e38

    def with_warnings(run):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run(NumbaLayerNormRNNCell, arrays, "separate")
        return result, sorted(str(warning.message) for warning in caught)

    (lifted, lifted_warnings), (expected, expected_warnings) = with_warnings(_run), with_warnings(unlifted)
    _assert_same_bits(lifted, expected)
    assert lifted_warnings == expected_warnings
