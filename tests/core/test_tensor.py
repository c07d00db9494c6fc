"""The Tensor: creation and dtype rules, requires_grad, seeding, conversions, operators and comparisons."""

import copy

import numpy
import pytest

import minigrad
from tests.helpers import assert_close, host


# --- creation and dtypes ---------------------------------------------------------------------------------------

def test_python_floats_take_the_default_dtype_and_ints_become_int64(backend):
    assert minigrad.get_default_dtype() == numpy.float32
    assert minigrad.tensor(1.5).dtype == numpy.float32
    assert minigrad.tensor([[1.0, 2.0]]).dtype == numpy.float32
    assert minigrad.tensor([1, 2.5]).dtype == numpy.float32
    assert minigrad.tensor([1, 2]).dtype == numpy.int64
    assert minigrad.tensor(3).dtype == numpy.int64
    assert minigrad.tensor([True, False]).dtype == numpy.bool_


def test_numpy_arrays_and_scalars_keep_their_dtype(backend):
    for dtype in (numpy.float64, numpy.float32, numpy.float16, numpy.int32, numpy.uint8):
        assert minigrad.tensor(numpy.zeros(2, dtype=dtype)).dtype == dtype
    assert minigrad.tensor(numpy.float64(2.0)).dtype == numpy.float64
    assert minigrad.tensor(numpy.ones(2), dtype="float32").dtype == numpy.float32   # unless dtype= says otherwise


def test_set_default_dtype_changes_new_floating_tensors(backend):
    minigrad.set_default_dtype("float64")
    assert minigrad.get_default_dtype() == numpy.float64
    for made in (minigrad.tensor([1.0]), minigrad.zeros(2), minigrad.ones(2), minigrad.full((2,), 1.0),
                 minigrad.randn(2), minigrad.rand(2)):
        assert made.dtype == numpy.float64
    assert minigrad.tensor([1, 2]).dtype == numpy.int64
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.set_default_dtype("int64")


def test_creation_helpers_accept_numpy_and_pytorch_shape_spellings(backend):
    assert minigrad.zeros(2, 3).shape == minigrad.zeros((2, 3)).shape == (2, 3)
    assert minigrad.ones([4]).shape == (4,)
    assert minigrad.full((2, 2), 7.0).numpy().tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert minigrad.arange(4).numpy().tolist() == [0, 1, 2, 3] and minigrad.arange(4).dtype == numpy.int64
    model = minigrad.tensor([[1, 2]], dtype="float64")
    assert minigrad.zeros_like(model).dtype == numpy.float64 and minigrad.ones_like(model).shape == (1, 2)


def test_tensor_copies_its_data():
    source = numpy.array([1.0, 2.0])
    made = minigrad.tensor(source)
    source[0] = 99.0
    assert made.numpy().tolist() == [1.0, 2.0]


def test_the_tensor_constructor_wraps_backend_arrays_only():
    with pytest.raises(TypeError, match="not an array of any minigrad backend"):
        minigrad.Tensor([1.0, 2.0])
    array = numpy.ones(2)
    assert minigrad.Tensor(array).data is array


# --- requires_grad -----------------------------------------------------------------------------------------------

def test_only_floating_point_tensors_can_require_grad():
    assert minigrad.tensor([1.0], requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="only floating-point tensors can require gradients"):
        minigrad.tensor([1, 2], requires_grad=True)
    integers = minigrad.tensor([1, 2])
    with pytest.raises(RuntimeError, match="floating-point"):
        integers.requires_grad = True
    with pytest.raises(RuntimeError, match="floating-point"):
        minigrad.zeros(2, dtype="int64", requires_grad=True)


def test_requires_grad_cannot_be_turned_off_on_a_non_leaf():
    x = minigrad.tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False
    assert x.requires_grad_(False) is x and not x.requires_grad


# --- seeding ---------------------------------------------------------------------------------------------------

def test_manual_seed_makes_randn_and_rand_reproducible(backend):
    minigrad.manual_seed(3)
    first = (minigrad.randn(2, 3).numpy(), minigrad.rand(4).numpy())
    minigrad.manual_seed(3)
    again = (minigrad.randn(2, 3).numpy(), minigrad.rand(4).numpy())
    minigrad.manual_seed(4)
    other = minigrad.randn(2, 3).numpy()
    assert numpy.array_equal(first[0], again[0]) and numpy.array_equal(first[1], again[1])
    assert not numpy.array_equal(first[0], other)
    assert first[1].min() >= 0 and first[1].max() < 1


def test_every_backend_draws_the_same_numbers():
    minigrad.manual_seed(7)
    on_numpy = minigrad.randn(5, backend="numpy").numpy()
    minigrad.manual_seed(7)
    on_strict = minigrad.randn(5, backend="strict").numpy()
    assert numpy.array_equal(on_numpy, on_strict)


def test_manual_seed_rejects_what_is_not_a_seed():
    for seed in (-1, 1.5, "1", True):
        with pytest.raises(ValueError, match="non-negative integer"):
            minigrad.manual_seed(seed)


# --- conversions -----------------------------------------------------------------------------------------------

def test_numpy_item_detach_and_repr(backend):
    x = minigrad.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    detached = x.detach()
    assert isinstance(detached.numpy(), numpy.ndarray) and detached.numpy().tolist() == [[1.0, 2.0]]
    assert detached.is_leaf and not detached.requires_grad and detached.data is x.data   # shares the data

    total = x.sum()
    assert isinstance(total.item(), float) and total.item() == 3.0
    assert float(total) == 3.0 and int(minigrad.tensor(4)) == 4
    with pytest.raises(ValueError, match="one element"):
        x.item()

    assert repr(x) == "tensor([[1., 2.]], dtype=float32, requires_grad=True)"
    assert repr(total) == "tensor(3., dtype=float32, grad_fn=<Sum>)"
    assert repr(minigrad.tensor([1.0, 2.0], dtype="float64")) == "tensor([1., 2.])"


def test_array_facts(backend):
    x = minigrad.zeros(2, 3, 4)
    assert (x.shape, x.ndim, x.size(), x.dtype, len(x)) == ((2, 3, 4), 3, (2, 3, 4), numpy.float32, 2)
    assert (x.size(1), x.size(-1), x.numel(), x.dim()) == (3, 4, 24, 3)
    assert x.backend == backend and x.xp is minigrad.get_array_module(x)
    with pytest.raises(TypeError, match="0-d"):
        len(minigrad.tensor(1.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(minigrad.tensor([1.0, 2.0]))
    assert bool(minigrad.tensor([1.0]))


def test_astype_double_float_and_deepcopy():
    x = minigrad.tensor([1.5, 2.5], requires_grad=True)
    assert x.double().dtype == numpy.float64 and x.double().float().dtype == numpy.float32
    assert x.astype("int64").numpy().tolist() == [1, 2]
    clone = copy.deepcopy(x)
    assert clone.requires_grad and clone.is_leaf and not numpy.shares_memory(clone.data, x.data)


def test_assignment_into_elements_is_refused_with_a_way_out():
    with pytest.raises(TypeError, match="where"):
        minigrad.tensor([1.0, 2.0])[0] = 3.0


# --- operators with Python and NumPy values on either side -----------------------------------------------------------

OPERATORS = [
    ("add", lambda t, v: t + v, lambda v, t: v + t, lambda a, b: a + b),
    ("sub", lambda t, v: t - v, lambda v, t: v - t, lambda a, b: a - b),
    ("mul", lambda t, v: t * v, lambda v, t: v * t, lambda a, b: a * b),
    ("div", lambda t, v: t / v, lambda v, t: v / t, lambda a, b: a / b),
    ("pow", lambda t, v: t ** v, lambda v, t: v ** t, lambda a, b: a ** b),
]


@pytest.mark.parametrize(("name", "tensor_first", "value_first", "reference"), OPERATORS,
                         ids=[row[0] for row in OPERATORS])
@pytest.mark.parametrize("value", [2.0, 3, numpy.float64(0.5), numpy.array([1.5, 2.5, 0.5])],
                         ids=["python float", "python int", "numpy scalar", "numpy array"])
def test_operators_with_python_and_numpy_values_on_both_sides(name, tensor_first, value_first, reference, value,
                                                              backend):
    data = numpy.array([0.5, 1.0, 2.0])
    t = minigrad.tensor(data, dtype="float64", requires_grad=True)
    for result, expected in [(tensor_first(t, value), reference(data, value)),
                             (value_first(value, t), reference(value, data))]:
        assert isinstance(result, minigrad.Tensor) and result.requires_grad
        assert_close(result.detach(), numpy.broadcast_to(expected, data.shape), atol=1e-12)
    value_first(value, t).sum().backward()   # the gradient flows through the reflected form too
    assert t.grad is not None and t.grad.shape == data.shape


@pytest.mark.parametrize("value", [2.0, 3, numpy.float64(2.0), numpy.float32(2.0), numpy.array(2.0)],
                         ids=["python float", "python int", "numpy float64 scalar", "numpy float32 scalar",
                              "numpy 0-d array"])
def test_float32_stays_float32_with_python_and_numpy_scalars(value, backend):
    t = minigrad.tensor([1.0, 2.0])
    for result in (t + value, value + t, t - value, value - t, t * value, value * t, t / value, value / t,
                   t ** value, value ** t, t.maximum(value)):
        assert result.dtype == numpy.float32, result


def test_matmul_with_numpy_arrays_on_both_sides(backend):
    matrix = numpy.array([[1.0, 2.0], [3.0, 4.0]])
    t = minigrad.tensor(matrix, dtype="float64", requires_grad=True)
    assert_close(t @ matrix, matrix @ matrix)
    assert_close(matrix @ t, matrix @ matrix)
    (matrix @ t).sum().backward()
    assert_close(t.grad, matrix.T @ numpy.ones((2, 2)))


def test_unary_minus_plus_and_abs():
    t = minigrad.tensor([-1.0, 2.0], requires_grad=True)
    assert_close(-t, [1.0, -2.0])
    assert (+t) is t
    assert_close(abs(t), [1.0, 2.0])


# --- comparisons ------------------------------------------------------------------------------------------------

def test_comparisons_return_boolean_tensors_outside_the_graph(backend):
    t = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    other = minigrad.tensor([3.0, 2.0, 1.0])
    cases = [(t < 2, [True, False, False]), (t <= 2, [True, True, False]), (t > other, [False, False, True]),
             (t >= other, [False, True, True]), (t == other, [False, True, False]), (t != 2.0, [True, False, True]),
             (2 < t, [False, False, True]), (t == numpy.array([1.0, 0.0, 3.0]), [True, False, True])]
    for result, expected in cases:
        assert isinstance(result, minigrad.Tensor) and result.dtype == numpy.bool_
        assert not result.requires_grad and result.grad_fn is None
        assert host(result).tolist() == expected


def test_tensors_hash_by_identity_although_equality_is_elementwise():
    a, b = minigrad.tensor([1.0]), minigrad.tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_argmax_and_argmin_give_integer_tensors_without_grad():
    t = minigrad.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    assert t.argmax().item() == 3 and host(t.argmax(axis=1)).tolist() == [1, 0]
    assert host(t.argmin(axis=0)).tolist() == [0, 1, 0] and not t.argmax().requires_grad


def test_a_list_of_tensors_becomes_a_tensor_of_their_values(backend):
    losses = [minigrad.tensor(1.5, requires_grad=True) * 2.0, minigrad.tensor(0.5)]
    made = minigrad.tensor(losses)
    assert made.dtype == numpy.float32 and host(made).tolist() == [3.0, 0.5]
    assert made.is_leaf and not made.requires_grad
    rows = minigrad.tensor([minigrad.tensor([1, 2]), minigrad.tensor([3, 4])])
    assert rows.dtype == numpy.int64 and rows.shape == (2, 2)


def test_data_that_is_not_numeric_is_refused():
    for data in ("abc", [object()], {"a": 1}):
        with pytest.raises(TypeError, match="tensors hold numbers"):
            minigrad.tensor(data)


def test_numpy_asarray_sees_the_data_of_a_numpy_backed_tensor():
    t = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    array = numpy.asarray(t)
    assert isinstance(array, numpy.ndarray) and array.dtype == numpy.float32
    numpy.testing.assert_array_equal(array, [[1.0, 2.0], [3.0, 4.0]])
    assert numpy.asarray(t, dtype=numpy.float64).dtype == numpy.float64


def test_numpy_asarray_refuses_tensors_that_require_grad_and_device_tensors():
    with pytest.raises(RuntimeError, match="detach"):
        numpy.asarray(minigrad.tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="numpy()"):
        numpy.asarray(minigrad.tensor([1.0], backend="strict"))
