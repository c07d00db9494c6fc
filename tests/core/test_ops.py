"""Every primitive op, checked against finite differences and against PyTorch, from ONE table.

Each row of ``OPS`` says how to draw an op's inputs (a Hypothesis strategy giving float64 NumPy arrays, the
tensors that get gradients, plus any other arguments such as ``axis`` or an index) and how to call the op in
minigrad and in PyTorch. The same rows drive every check (MiniTorch's layout):

- ``test_gradcheck``: minigrad's backward against central differences of its own forward, in float64;
- ``test_matches_torch``: the forward value and every input's gradient against PyTorch (float64, to 1e-10),
  with a random upstream gradient (with all ones, some wrong backwards agree by accident);
- ``test_explicit_cases``: both checks on hand-picked cases that must be covered on every run (1-D matmul
  operands, repeated indices, tuple axes with keepdims, ...), since a few random examples may miss them.

All three run on every backend through the ``backend`` fixture, so the strict (CuPy-like) backend catches op code
that would break on a GPU.

Inputs are drawn where the op is differentiable and well conditioned: logs and square roots of values >= 0.5,
divisors and ``abs``/``relu`` arguments away from 0, and, for max/min and maximum/minimum, values on a grid with no
ties (at a tie the function has a kink and finite differences measure neither side). The kinks themselves are
checked against PyTorch's conventions in ``test_kink_conventions_match_torch``.
"""

from dataclasses import dataclass
from math import prod
from typing import Callable

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from tests.helpers import assert_close, host

torch = pytest.importorskip("torch")

# Small shapes and few examples: the point is coverage of cases, and the whole core suite must stay fast.
# The backend fixture only switches a global setting, so reusing it across examples is safe.
EXAMPLES = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
NONSCALAR_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


# --- value strategies ------------------------------------------------------------------------------------------

def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


SMOOTH = floats(-2, 2)
POSITIVE = floats(0.5, 3)                                        # log, sqrt, the base of a power
AWAY_FROM_ZERO = st.one_of(floats(-2, -0.2), floats(0.2, 2))     # divisors; abs and relu away from their kink
GRID = st.integers(-50, 50).map(lambda k: 0.1 * k)              # distinct values are >= 0.1 apart: no near-ties
GRID_SHIFTED = GRID.map(lambda value: value + 0.05)              # never equal to a GRID value


def arrays(shape, elements=SMOOTH, unique=False):
    return hnp.arrays(numpy.float64, shape, elements=elements, unique=unique)


# --- input strategies: each draws (arrays that get gradients, other keyword arguments) -------------------------

@st.composite
def unary(draw, elements=SMOOTH, shapes=SHAPES, **params):
    x = draw(arrays(draw(shapes), elements))
    return (x,), {name: draw(strategy) for name, strategy in params.items()}


@st.composite
def binary(draw, a_elements=SMOOTH, b_elements=SMOOTH):
    """Two arrays whose shapes broadcast against each other (leading axes added, size-1 axes stretched)."""
    a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                              max_side=3)).input_shapes
    return (draw(arrays(a_shape, a_elements)), draw(arrays(b_shape, b_elements))), {}


@st.composite
def where_inputs(draw):
    condition_shape, a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=3, min_dims=0, max_dims=3, max_side=3)).input_shapes
    condition = draw(hnp.arrays(numpy.bool_, condition_shape))
    return (draw(arrays(a_shape)), draw(arrays(b_shape))), {"condition": condition}


def axes_for(ndim):
    """None, one axis (possibly negative), or a tuple of distinct axes."""
    if ndim == 0:
        return st.none()
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(one, min_size=1, max_size=ndim, unique_by=lambda axis: axis % ndim).map(tuple)
    return st.one_of(st.none(), one, several)


@st.composite
def reduction(draw, elements=SMOOTH, unique=False, with_ddof=False):
    shape = draw(SHAPES)
    x = draw(arrays(shape, elements, unique=unique))
    axis = draw(axes_for(len(shape)))
    params = {"axis": axis, "keepdims": draw(st.booleans())}
    if with_ddof:
        reduced = shape if axis is None else [shape[a] for a in (axis if isinstance(axis, tuple) else (axis,))]
        params["ddof"] = draw(st.sampled_from([0, 1])) if prod(reduced) > 1 else 0  # n - ddof must be > 0
    return (x,), params


@st.composite
def matmul_inputs(draw):
    """Matrices, stacks of matrices with batch axes that broadcast, and 1-D operands on either side."""
    m, n, k = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch_a, batch_b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                              max_side=3)).input_shapes
    a_shape = (n,) if draw(st.booleans()) else batch_a + (m, n)
    b_shape = (n,) if draw(st.booleans()) else batch_b + (n, k)
    return (draw(arrays(a_shape)), draw(arrays(b_shape))), {}


@st.composite
def reshape_inputs(draw):
    shape = draw(SHAPES)
    size = prod(shape)
    candidates = [(size,), (-1,), shape[::-1], (1,) + shape, shape + (1,)]
    if len(shape) >= 2:
        candidates.append((shape[0] * shape[1],) + shape[2:])
    return (draw(arrays(shape)),), {"shape": draw(st.sampled_from(candidates))}


@st.composite
def permutation_inputs(draw):
    shape = draw(SHAPES)
    return (draw(arrays(shape)),), {"axes": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def broadcast_to_inputs(draw):
    """A target shape, and an input shape that broadcasts to it: some leading axes dropped, some sizes set to 1."""
    target = draw(SHAPES)
    kept = target[draw(st.integers(0, len(target))):]
    shape = tuple(1 if draw(st.booleans()) else size for size in kept)
    return (draw(arrays(shape)),), {"shape": target}


@st.composite
def basic_index_inputs(draw):
    """Integers, slices (steps 1 or 2, bounds that may overrun), an Ellipsis or a new axis: NumPy's basic index."""
    shape = draw(NONSCALAR_SHAPES)
    index = []
    for size in shape[:draw(st.integers(1, len(shape)))]:
        bound = st.none() | st.integers(-size - 1, size + 1)
        index.append(draw(st.one_of(
            st.integers(-size, size - 1),
            st.builds(slice, bound, bound, st.sampled_from([None, 1, 2])))))
    extra = draw(st.sampled_from([None, "ellipsis", "newaxis"]))
    if extra == "ellipsis":
        index.append(Ellipsis)
    elif extra == "newaxis":
        index.insert(draw(st.integers(0, len(index))), None)
    return (draw(arrays(shape)),), {"index": tuple(index)}


@st.composite
def integer_array_index_inputs(draw):
    """Integer-array indices with repeats (x[[0, 0, 1]] uses x[0] twice), alone or mixed with slices."""
    shape = draw(NONSCALAR_SHAPES)

    def positions(size, length=None):
        length = draw(st.integers(1, 5)) if length is None else length
        return numpy.array(draw(st.lists(st.integers(-size, size - 1), min_size=length, max_size=length)),
                           dtype=numpy.int64)

    forms = ["first axis", "two-dimensional"] + (["with a slice", "second axis", "two arrays"]
                                                 if len(shape) >= 2 else [])
    form = draw(st.sampled_from(forms))
    if form == "first axis":
        index = positions(shape[0])
    elif form == "two-dimensional":
        index = positions(shape[0], length=4).reshape(2, 2)
    elif form == "with a slice":
        index = (positions(shape[0]), slice(None, None, 2))
    elif form == "second axis":
        index = (slice(None), positions(shape[1]))
    else:
        rows = positions(shape[0], length=3)
        index = (rows, positions(shape[1], length=3))
    return (draw(arrays(shape)),), {"index": index}


@st.composite
def mask_index_inputs(draw):
    shape = draw(NONSCALAR_SHAPES)
    return (draw(arrays(shape)),), {"mask": draw(hnp.arrays(numpy.bool_, shape))}


@st.composite
def concatenate_inputs(draw):
    shape = draw(NONSCALAR_SHAPES)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    count = draw(st.integers(1, 3))
    parts = []
    for _ in range(count):
        part_shape = list(shape)
        part_shape[axis] = draw(st.integers(1, 3))
        parts.append(draw(arrays(tuple(part_shape))))
    return tuple(parts), {"axis": axis}


@st.composite
def stack_inputs(draw):
    shape = draw(SHAPES)
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    return tuple(draw(arrays(shape)) for _ in range(draw(st.integers(1, 3)))), {"axis": axis}


# --- the table ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Op:
    """One row: the op's name, how to draw its inputs, and the same computation in minigrad and in PyTorch."""
    name: str
    inputs: st.SearchStrategy
    minigrad: Callable   # (*tensors, **params) -> minigrad.Tensor
    torch: Callable      # (*torch tensors, **params) -> torch.Tensor
    cases: tuple = ()    # hand-picked (arrays, params) checked on every run
    gradcheck: bool = True
    why_no_gradcheck: str = ""

    def __repr__(self):
        return self.name


def _as_torch_index(index):
    if isinstance(index, tuple):
        return tuple(_as_torch_index(item) for item in index)
    return torch.as_tensor(index) if isinstance(index, numpy.ndarray) else index


def _as_minigrad_index(index):
    """The same index with its integer arrays as minigrad tensors (on the current backend)."""
    if isinstance(index, tuple):
        return tuple(_as_minigrad_index(item) for item in index)
    return minigrad.tensor(index) if isinstance(index, numpy.ndarray) else index


def _torch_axis(axis):
    return () if axis is None else axis


def _rng_arrays(*shapes, seed=0, low=-2.0, high=2.0):
    rng = numpy.random.default_rng(seed)
    return tuple(rng.uniform(low, high, shape) for shape in shapes)


BROADCAST_CASES = tuple((_rng_arrays(a, b, seed=i), {}) for i, (a, b) in enumerate(
    [((2, 3), (3,)), ((2, 1, 3), (4, 1)), ((), (2, 2)), ((3, 1), (1, 3))]))

OPS = [
    # arithmetic, with broadcasting and with Python numbers on either side
    Op("add", binary(), lambda a, b: a + b, lambda a, b: a + b, cases=BROADCAST_CASES),
    Op("sub", binary(), lambda a, b: a - b, lambda a, b: a - b, cases=BROADCAST_CASES),
    Op("mul", binary(), lambda a, b: a * b, lambda a, b: a * b, cases=BROADCAST_CASES),
    Op("div", binary(b_elements=AWAY_FROM_ZERO), lambda a, b: a / b, lambda a, b: a / b,
       cases=tuple(((a, numpy.where(b < 0, b - 0.5, b + 0.5)), p) for (a, b), p in BROADCAST_CASES)),
    Op("neg", unary(), lambda x: -x, lambda x: -x),
    Op("add_scalar", unary(scalar=SMOOTH), lambda x, scalar: x + scalar, lambda x, scalar: x + scalar),
    Op("rsub_scalar", unary(scalar=SMOOTH), lambda x, scalar: scalar - x, lambda x, scalar: scalar - x),
    Op("mul_scalar", unary(scalar=SMOOTH), lambda x, scalar: scalar * x, lambda x, scalar: scalar * x),
    Op("rdiv_scalar", unary(AWAY_FROM_ZERO, scalar=SMOOTH), lambda x, scalar: scalar / x,
       lambda x, scalar: scalar / x),
    Op("pow_constant", unary(POSITIVE, exponent=st.sampled_from([2, 3, 0.5, -1.5, 2.5])),
       lambda x, exponent: x ** exponent, lambda x, exponent: x ** exponent),
    Op("pow_tensor", binary(POSITIVE, SMOOTH), lambda a, b: a ** b, lambda a, b: a ** b, cases=tuple(
        ((numpy.abs(a) + 0.5, b), p) for (a, b), p in BROADCAST_CASES)),
    Op("rpow_scalar", unary(base=floats(0.5, 3)), lambda x, base: base ** x, lambda x, base: base ** x),
    # elementwise
    Op("exp", unary(), lambda x: x.exp(), lambda x: x.exp()),
    Op("log", unary(POSITIVE), lambda x: x.log(), lambda x: x.log()),
    Op("sqrt", unary(POSITIVE), lambda x: x.sqrt(), lambda x: x.sqrt()),
    Op("tanh", unary(), lambda x: x.tanh(), lambda x: x.tanh()),
    Op("sigmoid", unary(floats(-30, 30)), lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    Op("relu", unary(AWAY_FROM_ZERO), lambda x: x.relu(), lambda x: x.relu()),
    Op("abs", unary(AWAY_FROM_ZERO), lambda x: x.abs(), lambda x: x.abs()),
    Op("maximum", binary(GRID, GRID_SHIFTED), lambda a, b: minigrad.maximum(a, b), torch.maximum),
    Op("minimum", binary(GRID, GRID_SHIFTED), lambda a, b: minigrad.minimum(a, b), torch.minimum),
    Op("maximum_scalar", unary(GRID, scalar=GRID_SHIFTED), lambda x, scalar: x.maximum(scalar),
       lambda x, scalar: x.clamp(min=scalar)),
    # matmul
    Op("matmul", matmul_inputs(), lambda a, b: a @ b, lambda a, b: a @ b, cases=tuple(
        (_rng_arrays(a, b, seed=i), {}) for i, (a, b) in enumerate([
            ((2, 3), (3, 4)), ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 2, 3), (3, 2)),
            ((2, 3), (4, 3, 2)), ((2, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)), ((2, 4, 3), (3,))]))),
    # reductions
    Op("sum", reduction(), lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: x.sum(dim=axis, keepdim=keepdims), cases=(
           (_rng_arrays((2, 3, 4)), {"axis": (0, 2), "keepdims": True}),
           (_rng_arrays((2, 3, 4)), {"axis": -1, "keepdims": False}),
           (_rng_arrays(()), {"axis": None, "keepdims": True}))),
    Op("mean", reduction(), lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: x.mean(dim=axis, keepdim=keepdims), cases=(
           (_rng_arrays((2, 3, 4)), {"axis": (-1, 0), "keepdims": True}),)),
    Op("var", reduction(with_ddof=True),
       lambda x, axis, keepdims, ddof: x.var(axis=axis, ddof=ddof, keepdims=keepdims),
       lambda x, axis, keepdims, ddof: x.var(dim=axis, correction=ddof, keepdim=keepdims), cases=(
           (_rng_arrays((3, 4)), {"axis": 1, "keepdims": True, "ddof": 1}),
           (_rng_arrays((2, 3, 4)), {"axis": (0, 2), "keepdims": False, "ddof": 0}))),
    Op("max", reduction(GRID, unique=True), lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: x.amax(dim=_torch_axis(axis), keepdim=keepdims)),
    Op("min", reduction(GRID, unique=True), lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: x.amin(dim=_torch_axis(axis), keepdim=keepdims)),
    # moving elements around
    Op("reshape", reshape_inputs(), lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape)),
    Op("flatten", unary(), lambda x: x.flatten(), lambda x: x.flatten()),
    Op("transpose", permutation_inputs(), lambda x, axes: x.transpose(*axes), lambda x, axes: torch.permute(x, axes)),
    Op("permute", permutation_inputs(), lambda x, axes: x.permute(axes), lambda x, axes: torch.permute(x, axes)),
    Op("T", unary(), lambda x: x.T, lambda x: torch.permute(x, tuple(reversed(range(x.ndim))))),
    Op("broadcast_to", broadcast_to_inputs(), lambda x, shape: x.broadcast_to(shape),
       lambda x, shape: torch.broadcast_to(x, shape)),
    Op("getitem_basic", basic_index_inputs(), lambda x, index: x[index], lambda x, index: x[index], cases=(
        (_rng_arrays((3, 4)), {"index": (slice(None, None, 2), -1)}),
        (_rng_arrays((3, 4)), {"index": (Ellipsis, None, slice(1, 3))}))),
    Op("getitem_integer_array", integer_array_index_inputs(), lambda x, index: x[index],
       lambda x, index: x[_as_torch_index(index)], cases=(
           (_rng_arrays((4,)), {"index": numpy.array([0, 0, 3, -1, 0])}),
           (_rng_arrays((3, 2)), {"index": (numpy.array([2, 2, 0]), numpy.array([1, 1, 0]))}),
           (_rng_arrays((3, 2)), {"index": (numpy.array([[1, 1], [2, 1]]), slice(None))}))),
    Op("getitem_tensor_index", integer_array_index_inputs(),
       lambda x, index: x[_as_minigrad_index(index)],
       lambda x, index: x[_as_torch_index(index)]),
    Op("getitem_mask", mask_index_inputs(), lambda x, mask: x[mask], lambda x, mask: x[torch.as_tensor(mask)]),
    Op("concatenate", concatenate_inputs(), lambda *xs, axis: minigrad.concatenate(xs, axis=axis),
       lambda *xs, axis: torch.cat(xs, dim=axis), cases=(
           (_rng_arrays((2, 1), (2, 3), (2, 2)), {"axis": -1}),)),
    Op("stack", stack_inputs(), lambda *xs, axis: minigrad.stack(xs, axis=axis),
       lambda *xs, axis: torch.stack(xs, dim=axis), cases=((_rng_arrays((2, 3), (2, 3)), {"axis": -1}),)),
    Op("where", where_inputs(), lambda a, b, condition: minigrad.where(minigrad.tensor(condition), a, b),
       lambda a, b, condition: torch.where(torch.as_tensor(condition), a, b), cases=(
           (_rng_arrays((2, 3), (3,)), {"condition": numpy.array([[True, False, True], [False, False, True]])}),)),
    Op("where_numpy_condition_scalar_branch", unary(condition=hnp.arrays(numpy.bool_, (3,)), shapes=st.just((2, 3))),
       lambda x, condition: minigrad.where(condition, x, 0.0),
       lambda x, condition: torch.where(torch.as_tensor(condition), x, 0.0)),
    Op("astype_float64", unary(), lambda x: x.astype("float64"), lambda x: x.to(torch.float64)),
    Op("astype_float32", unary(), lambda x: x.astype("float32"), lambda x: x.to(torch.float32), gradcheck=False,
       why_no_gradcheck="a float32 output rounds away the eps=1e-6 step of finite differences"),
]

GRADCHECKED = [op for op in OPS if op.gradcheck]


# --- the checks, shared by the Hypothesis tests and the explicit cases -------------------------------------------

def _leaves(arrays):
    return [minigrad.tensor(array, dtype="float64", requires_grad=True) for array in arrays]


def check_gradcheck(op, arrays, params):
    assert minigrad.gradcheck(lambda *tensors: op.minigrad(*tensors, **params), _leaves(arrays))


def check_against_torch(op, arrays, params, seed):
    leaves = _leaves(arrays)
    output = op.minigrad(*leaves, **params)
    torch_leaves = [torch.tensor(array, requires_grad=True) for array in arrays]
    expected = op.torch(*torch_leaves, **params)
    assert output.dtype == numpy.dtype(str(expected.dtype).removeprefix("torch.")), op.name
    assert_close(output.detach(), expected, what=f"{op.name} forward")

    # A random upstream gradient: with all ones, a backward that e.g. forgets a sign can agree by accident.
    upstream = numpy.random.default_rng(seed).standard_normal(expected.shape).astype(output.dtype)
    output.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for k, (leaf, torch_leaf) in enumerate(zip(leaves, torch_leaves)):
        assert leaf.grad is not None and leaf.grad.dtype == numpy.float64, f"{op.name}: no float64 grad for {k}"
        assert_close(leaf.grad, torch_leaf.grad, atol=1e-10, rtol=1e-10, what=f"{op.name}: gradient of input {k}")


@pytest.mark.parametrize("op", GRADCHECKED, ids=repr)
@EXAMPLES
@given(data=st.data())
def test_gradcheck(op, backend, data):
    arrays, params = data.draw(op.inputs, label="inputs")
    check_gradcheck(op, arrays, params)


@pytest.mark.parametrize("op", OPS, ids=repr)
@EXAMPLES
@given(data=st.data())
def test_matches_torch(op, backend, data):
    arrays, params = data.draw(op.inputs, label="inputs")
    check_against_torch(op, arrays, params, seed=data.draw(st.integers(0, 2**32 - 1), label="upstream seed"))


EXPLICIT = [pytest.param(op, arrays, params, id=f"{op.name}-{k}")
            for op in OPS for k, (arrays, params) in enumerate(op.cases)]


@pytest.mark.parametrize(("op", "arrays", "params"), EXPLICIT)
def test_explicit_cases(op, arrays, params, backend):
    if op.gradcheck:
        check_gradcheck(op, arrays, params)
    check_against_torch(op, arrays, params, seed=1)


def test_every_op_is_gradchecked_or_says_why():
    for op in OPS:
        assert op.gradcheck or op.why_no_gradcheck, op.name


# --- at the kinks: the conventions PyTorch uses ------------------------------------------------------------------

OPS_BY_NAME = {op.name: op for op in OPS}

KINKS = [
    ("relu", (numpy.array([-1.0, 0.0, 2.0]),), {}),                              # relu'(0) = 0
    ("abs", (numpy.array([-1.0, 0.0, 2.0]),), {}),                               # abs'(0) = sign(0) = 0
    ("maximum", (numpy.array([1.0, 2.0, 3.0]), numpy.array([1.0, 1.0, 4.0])), {}),  # a tie splits the gradient
    ("minimum", (numpy.array([1.0, 2.0, 3.0]), numpy.array([1.0, 1.0, 4.0])), {}),
    ("max", (numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]),), {"axis": 1, "keepdims": False}),  # ties share
    ("max", (numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]),), {"axis": None, "keepdims": False}),
    ("min", (numpy.array([[1.0, 0.0, 0.0], [2.0, 2.0, 5.0]]),), {"axis": 0, "keepdims": True}),
    ("pow_tensor", (numpy.array([0.0, 0.0, 1.0, 2.0]), numpy.array([0.0, 2.0, 0.0, 0.5])), {}),  # 0 ** b
    ("pow_constant", (numpy.array([0.0, 1.0]),), {"exponent": 0}),                # d(x ** 0)/dx = 0, also at 0
]


@pytest.mark.parametrize(("name", "arrays", "params"), KINKS, ids=[f"{kink[0]}-{k}" for k, kink in enumerate(KINKS)])
def test_kink_conventions_match_torch(name, arrays, params, backend):
    check_against_torch(OPS_BY_NAME[name], arrays, params, seed=2)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sigmoid_keeps_its_relative_precision_far_from_zero(dtype, backend):
    values = numpy.array([-700.0, -80.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0], dtype=dtype)
    output = minigrad.tensor(values).sigmoid()
    expected = torch.sigmoid(torch.tensor(values))
    assert output.dtype == numpy.dtype(dtype)
    numpy.testing.assert_allclose(host(output), expected.numpy(), rtol=1e-6 if dtype == "float32" else 1e-14,
                                  atol=0)
    representable = numpy.abs(values) <= 80   # sigmoid(-700) = 1e-304 underflows in float32 whatever the formula
    with numpy.errstate(divide="ignore"):
        assert numpy.isfinite(host(output.log())[representable]).all()


def test_module_level_functions_match_the_methods():
    x = minigrad.tensor([[0.5, 1.5, 2.5], [1.0, 2.0, 3.0]], dtype="float64")
    pairs = [(minigrad.exp(x), x.exp()), (minigrad.log(x), x.log()), (minigrad.sqrt(x), x.sqrt()),
             (minigrad.tanh(x), x.tanh()), (minigrad.abs(-x), x), (minigrad.sum(x, axis=0), x.sum(axis=0)),
             (minigrad.mean(x, axis=1, keepdims=True), x.mean(axis=1, keepdims=True)),
             (minigrad.var(x, axis=0, ddof=1), x.var(axis=0, ddof=1)), (minigrad.matmul(x, x.T), x @ x.T),
             (minigrad.reshape(x, (3, 2)), x.reshape(3, 2)), (minigrad.transpose(x), x.T),
             (minigrad.broadcast_to(x, (2, 2, 3)), x.broadcast_to((2, 2, 3)))]
    for module_level, method in pairs:
        assert_close(module_level, method)
