"""Tensor arithmetic with a Python number: + - * / pass the number to the op as a cached read-only 0-d array of the
tensor's dtype (Tensor._arithmetic), which must give exactly NumPy's bits and warnings on the raw arrays."""

import collections
import operator
import sys
import warnings

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad

tensor_module = sys.modules["minigrad.tensor"]  # the module (minigrad.tensor is also the creation function)
torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    """Each test starts with no number cached, whatever ran before it in this process."""
    monkeypatch.setattr(tensor_module, "_number_arrays", collections.defaultdict(dict))

OPERATIONS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
}
FLOAT_DTYPES = ["float16", "float32", "float64"]

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.floats(min_value=-10, max_value=10),
    st.integers(min_value=-2 ** 70, max_value=2 ** 70),
    st.integers(min_value=-1000, max_value=1000),
    st.booleans(),
    st.sampled_from([0.0, -0.0, 0, 1e-45, 5e-324, 1e6, 65520.0, 3.4e38, 1e300, 2 ** 1000, 0.1, 0.9, -0.01]),
)


def numpy_result(operation, array, number, reflected):
    """What NumPy gives on the raw array, with the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with numpy.errstate(all="warn"):
            result = operation(number, array) if reflected else operation(array, number)
    return numpy.asarray(result), [(w.category, str(w.message)) for w in caught]


def tensor_result(operation, array, number, reflected):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with numpy.errstate(all="warn"):
            tensor = minigrad.tensor(array)
            result = operation(number, tensor) if reflected else operation(tensor, number)
    return result.data, [(w.category, str(w.message)) for w in caught]


@settings(max_examples=400, deadline=None)
@given(number=numbers, name=st.sampled_from(sorted(OPERATIONS)), dtype=st.sampled_from(FLOAT_DTYPES),
       reflected=st.booleans(), zero_d=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_a_python_number_gives_numpys_bits_and_warnings(number, name, dtype, reflected, zero_d, seed):
    values = numpy.random.default_rng(seed).normal(size=7) * 10
    if seed % 2:  # the array's own special values
        values[3:] = [0.0, -0.0, numpy.inf, 1e-40]
    array = numpy.asarray(values[seed % 7] if zero_d else values, dtype=dtype)
    operation = OPERATIONS[name]
    for _ in range(2):  # the second call finds the number's array in the cache
        expected, expected_warnings = numpy_result(operation, array, number, reflected)
        result, result_warnings = tensor_result(operation, array, number, reflected)
        assert result.dtype == expected.dtype and result.shape == expected.shape, (name, number, dtype)
        assert result.tobytes() == expected.tobytes(), (name, number, dtype, result, expected)
        assert result_warnings == expected_warnings, (name, number, dtype)


@settings(max_examples=200, deadline=None)
@given(number=numbers, name=st.sampled_from(sorted(OPERATIONS)), dtype=st.sampled_from(FLOAT_DTYPES),
       reflected=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_gradients_have_the_bits_of_the_op_applied_to_the_python_number(number, name, dtype, reflected, seed):
    """``Op.apply(t, number)`` hands the op the Python number itself: the operator must give the same bits."""
    rng = numpy.random.default_rng(seed)
    values, upstream = (rng.normal(size=5) * 10).astype(dtype), rng.normal(size=5).astype(dtype)
    function = {"add": minigrad.ops.Add, "sub": minigrad.ops.Sub, "mul": minigrad.ops.Mul,
                "truediv": minigrad.ops.Div}[name]
    with warnings.catch_warnings(), numpy.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        x, reference_x = (minigrad.tensor(values.copy(), requires_grad=True) for _ in range(2))
        y = OPERATIONS[name](number, x) if reflected else OPERATIONS[name](x, number)
        reference = function.apply(number, reference_x) if reflected else function.apply(reference_x, number)
        y.backward(minigrad.tensor(upstream))
        reference.backward(minigrad.tensor(upstream))
    assert y.data.tobytes() == reference.data.tobytes(), (name, number, dtype)
    assert x.grad.data.dtype == reference_x.grad.data.dtype
    assert x.grad.data.tobytes() == reference_x.grad.data.tobytes(), (name, number, dtype)


@pytest.mark.skipif(not minigrad.set_flush_denormal(False), reason="no flush-to-zero control on this machine")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_a_number_that_is_subnormal_in_the_dtype_follows_flush_to_zero_at_each_call(dtype):
    """Flush-to-zero decides what a subnormal number converts to, so such a number is converted at each call."""
    large = float(numpy.finfo(dtype).max) ** 0.5  # large enough for number * large to be a normal number
    x = minigrad.tensor(numpy.array([large, large / 30], dtype=dtype), requires_grad=True)
    number = float(numpy.finfo(dtype).tiny) / 3
    try:
        for flush in (True, False, True, False):
            minigrad.set_flush_denormal(flush)
            with numpy.errstate(all="ignore"):
                expected = x.data * number
                result = x * number
            assert result.data.tobytes() == expected.tobytes(), (flush, result, expected)
    finally:
        minigrad.set_flush_denormal(False)


def test_an_overflowing_number_warns_on_every_call_as_numpy_does():
    half = minigrad.tensor(numpy.ones(3, dtype="float16"))
    for _ in range(3):
        with pytest.warns(RuntimeWarning, match="overflow"):
            result = half * 1e6
        assert numpy.isinf(result.data).all()


def test_the_op_receives_a_read_only_array_of_the_tensors_dtype():
    x = minigrad.tensor(numpy.linspace(0.1, 0.8, 8, dtype="float32"), requires_grad=True)
    y = x * 0.9
    a, b = y.grad_fn.saved_tensors
    assert a is x.data
    assert type(b) is numpy.ndarray and b.shape == () and b.dtype == numpy.float32 and b == numpy.float32(0.9)
    with pytest.raises(ValueError, match="read-only"):
        b[...] = 2.0
    assert (x * 0.9).grad_fn.saved_tensors[1] is b  # made once per number and dtype
    assert (x.double() * 0.9).grad_fn.saved_tensors[1].dtype == numpy.float64


def test_numbers_the_cache_leaves_out_stay_python_numbers():
    x = minigrad.tensor(numpy.ones(2, dtype="float32"), requires_grad=True)
    for number in (0.0, -0.0, 0, False, float("nan"), float("inf"), 1e300):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            saved = (x * number).grad_fn.saved_tensors[1]
        assert saved is number or saved != saved, number  # the number itself (NaN: the same object)


def test_the_cache_is_bounded_and_stays_exact_past_its_bound():
    x = minigrad.tensor(numpy.linspace(-1, 1, 5, dtype="float32"))
    for step in range(3 * tensor_module._MAX_NUMBER_ARRAYS):
        learning_rate = 0.1 * 0.999 ** step  # a new number every step, as a decaying schedule makes
        assert (x * learning_rate).data.tobytes() == (x.data * learning_rate).tobytes()
    assert len(tensor_module._number_arrays[numpy.dtype("float32")]) <= tensor_module._MAX_NUMBER_ARRAYS


def test_integer_and_boolean_tensors_still_promote_as_in_torch():
    for values in ([1, 2, 3], [True, False, True]):
        for number in (2.5, 2, True):
            expected = torch.tensor(values) * number
            result = minigrad.tensor(values) * number
            assert str(result.dtype) == str(expected.dtype).removeprefix("torch.")
            assert numpy.array_equal(result.data, expected.numpy())


def test_second_derivatives_through_python_numbers_match_torch():
    values = numpy.linspace(0.3, 2.0, 6)

    def function(x):
        return (2.5 * x ** 3 / 4.0 - 1.5 + 0.5 * (1.0 / x) + (3 - x) * 0.25).sum()

    x = minigrad.tensor(values, requires_grad=True)
    (first,) = minigrad.autograd.grad(function(x), [x], create_graph=True)
    (second,) = minigrad.autograd.grad(first.sum(), [x])
    reference = torch.tensor(values, requires_grad=True)
    (reference_first,) = torch.autograd.grad(function(reference), [reference], create_graph=True)
    (reference_second,) = torch.autograd.grad(reference_first.sum(), [reference])
    numpy.testing.assert_allclose(first.data, reference_first.detach().numpy(), rtol=1e-12, atol=1e-12)
    numpy.testing.assert_allclose(second.data, reference_second.numpy(), rtol=1e-12, atol=1e-12)
