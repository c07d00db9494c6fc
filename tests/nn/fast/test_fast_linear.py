"""ContiguousTransposeLinear against the plain Linear it replaces, and the line that chooses it.

The plain Linear is the op a student reads; the fast class must give the same output and gradients (1e-12 in
float64, 1e-5 in float32) on either side of its size threshold, pass gradcheck, and run only where it suits.
"""

import numpy
import pytest

import minigrad
from minigrad.nn import functional as F
from minigrad.nn.ops import Linear, fast
from minigrad.nn.ops.fast import linear as fast_linear
from tests.helpers import assert_close

TOLERANCE = {numpy.float64: 1e-12, numpy.float32: 1e-5}


def _run(op, arrays):
    leaves = [None if a is None else minigrad.tensor(a.copy(), requires_grad=True, backend="numpy")
              for a in arrays[:3]]
    output = op.apply(*leaves)
    assert output.grad_fn.function is op
    output.backward(minigrad.tensor(arrays[3], backend="numpy"))
    return [output.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves if leaf is not None]


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("small_product", [10 ** 6, 0])  # the contiguous copy, and the plain forward above it
def test_fast_linear_equals_the_plain_class(monkeypatch, dtype, x_shape, with_bias, small_product):
    monkeypatch.setattr(fast_linear, "SMALL_PRODUCT", small_product)
    rng = numpy.random.default_rng(0)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((3, 4)),
              rng.standard_normal(3) if with_bias else None, rng.standard_normal(x_shape[:-1] + (3,))]
    arrays = [None if a is None else a.astype(dtype) for a in arrays]
    expected, actual = _run(Linear, arrays), _run(fast.ContiguousTransposeLinear, arrays)
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == e.dtype == dtype and a.shape == e.shape, f"result {index}"
        assert_close(a, e, atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype], what=f"result {index}")


def test_fast_linear_output_is_row_major_and_passes_gradcheck():
    rng = numpy.random.default_rng(1)
    leaves = [minigrad.tensor(rng.standard_normal(shape), requires_grad=True, backend="numpy")
              for shape in ((6, 5), (4, 5), (4,))]
    assert fast.ContiguousTransposeLinear.apply(*leaves).detach().numpy().flags.c_contiguous
    assert minigrad.gradcheck(fast.ContiguousTransposeLinear.apply, leaves)


def test_f_linear_picks_the_fast_class_for_numpy_float_arrays_only(monkeypatch):
    def leaf(shape, **options):
        return minigrad.randn(*shape, requires_grad=True, **options)

    x, weight = leaf((2, 3), backend="numpy"), leaf((4, 3), backend="numpy")
    assert F.linear(x, weight).grad_fn.name == "ContiguousTransposeLinear"
    assert F.linear(leaf((2, 3), backend="strict"), leaf((4, 3), backend="strict")).grad_fn.name == "Linear"
    assert F.linear(leaf((2, 3), dtype="float64"), leaf((4, 3), dtype="float32")).grad_fn.name == "Linear"
    monkeypatch.setattr(minigrad.fast_path, "_enabled", False)
    assert F.linear(x, weight).grad_fn.name == "Linear"

