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
_BITS = {numpy.float64: numpy.uint64, numpy.float32: numpy.uint32}


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



# --- the kept copies of W^T ---------------------------------------------------------------------------------------

def _forward(weight_array, x_array):
    """The fast forward on these very arrays (a Tensor made from an array may hold a copy of it)."""
    return fast.ContiguousTransposeLinear.forward(minigrad.Context(), x_array, weight_array)


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_kept_transpose_follows_every_change_of_the_weight(dtype):
    """The same weight array, changed in place between calls (an optimizer step, an edit of one entry, the last
    entry by one step, a sign of zero, a NaN's payload): every forward multiplies by the weight as it is now."""
    rng = numpy.random.default_rng(4)
    weight, x = rng.standard_normal((6, 5)).astype(dtype), rng.standard_normal((3, 5)).astype(dtype)
    other_nan = numpy.frombuffer(numpy.array(numpy.nan, dtype).tobytes(), dtype=_BITS[dtype]) + 1

    def last_by_one_step(w):
        w[-1, -1] = numpy.nextafter(w[-1, -1], numpy.inf, dtype=dtype)

    for change in (lambda w: w.__isub__(0.1 * w), lambda w: w.__setitem__((2, 3), 7.0), last_by_one_step,
                   lambda w: w.__setitem__((0, 0), 0.0), lambda w: w.__setitem__((0, 0), -0.0),
                   lambda w: w.__setitem__((1, 1), numpy.nan), lambda w: w.view(_BITS[dtype]).__setitem__(
                       (1, 1), other_nan[0])):
        for _ in range(2):  # the second call on the same weight keeps its W^T, the next reuse it
            numpy.testing.assert_array_equal(_forward(weight, x), x @ numpy.ascontiguousarray(weight.T))
        assert fast_linear._transposes[(id(weight), weight.shape, weight.dtype.str)] is not None
        change(weight)
        numpy.testing.assert_array_equal(_forward(weight, x), x @ numpy.ascontiguousarray(weight.T))
        # bit for bit (assert_array_equal takes two NaNs, or 0.0 and -0.0, as equal)
        assert fast_linear.contiguous_transpose(weight).T.tobytes() == weight.tobytes()
    assert numpy.signbit(fast_linear.contiguous_transpose(weight)[0, 0])


def test_kept_transposes_are_few_small_and_read_only():
    rng = numpy.random.default_rng(5)
    weights = [rng.standard_normal((4, 4)) for _ in range(3 * fast_linear.TRANSPOSES_KEPT)]
    for weight in weights:
        first, second = fast_linear.contiguous_transpose(weight), fast_linear.contiguous_transpose(weight)
        assert first.flags.writeable  # seen once: made for the call
        assert fast_linear.contiguous_transpose(weight) is second  # seen twice: kept, and reused
        for transposed in (first, second):
            numpy.testing.assert_array_equal(transposed, weight.T)
            assert transposed.flags.c_contiguous
        assert not second.flags.writeable
    assert len(fast_linear._transposes) <= fast_linear.TRANSPOSES_KEPT
    large = numpy.zeros((fast_linear.TRANSPOSE_CACHE_BYTES // 8 + 1, 1))
    before = dict(fast_linear._transposes)
    assert fast_linear.contiguous_transpose(large).flags.writeable  # made for this call, not kept
    assert fast_linear._transposes == before


def test_kept_transpose_of_a_strided_weight_view():
    """A view with steps (W[:, ::2]) and a Fortran-ordered weight: keyed on their values, not their memory."""
    rng = numpy.random.default_rng(6)
    base, x = rng.standard_normal((6, 10)), rng.standard_normal((3, 5))
    view = base[:, ::2]
    numpy.testing.assert_array_equal(_forward(view, x), x @ numpy.ascontiguousarray(view.T))
    base[:, ::2] += 1.0
    numpy.testing.assert_array_equal(_forward(view, x), x @ numpy.ascontiguousarray(view.T))
    fortran = numpy.asfortranarray(rng.standard_normal((6, 5)))
    numpy.testing.assert_array_equal(_forward(fortran, x), x @ numpy.ascontiguousarray(fortran.T))


def test_kept_transpose_stays_true_when_the_weight_changes_while_it_is_copied(monkeypatch):
    """Another thread writes the weight (B over A) while its W^T is being copied: what is kept must pair the copy
    with the bytes it was copied from, so that the weight written back to A is not multiplied by B^T later."""
    rng = numpy.random.default_rng(7)
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    weight = a.copy()
    fast_linear.contiguous_transpose(weight)  # seen once
    copy = numpy.ascontiguousarray

    def copy_during_a_write(array, *arguments, **options):
        weight[...] = b
        return copy(array, *arguments, **options)
    monkeypatch.setattr(fast_linear.numpy, "ascontiguousarray", copy_during_a_write)
    fast_linear.contiguous_transpose(weight)  # kept now, from a copy of B
    monkeypatch.undo()
    weight[...] = a
    numpy.testing.assert_array_equal(fast_linear.contiguous_transpose(weight), a.T)
