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
from minigrad import backends
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
def two_dims_inputs(draw, shapes=SHAPES):
    """A tensor and two of its dims (possibly negative, possibly the same; 0 and -1 for a 0-d tensor)."""
    shape = draw(shapes)
    bound = max(len(shape), 1)
    dim = st.integers(-bound, bound - 1)
    return (draw(arrays(shape)),), {"dim0": draw(dim), "dim1": draw(dim)}


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


# --- strategies for the PyTorch vocabulary -------------------------------------------------------------------------

def dim_of(ndim):
    bound = max(ndim, 1)
    return st.integers(-bound, bound - 1)


@st.composite
def one_dim(draw, elements=SMOOTH, shapes=SHAPES, unique=False, **params):
    """A tensor and one of its dims, plus any other parameters."""
    shape = draw(shapes)
    x = draw(arrays(shape, elements, unique=unique))
    return (x,), {"dim": draw(dim_of(len(shape))), **{name: draw(strategy) for name, strategy in params.items()}}


@st.composite
def prod_inputs(draw):
    (x,), params = draw(reduction(st.one_of(st.just(0.0), SMOOTH)))
    return (x,), params


@st.composite
def norm_inputs(draw, p):
    """Away from the kinks: 0 for p = 1 and 2 (each element, so no norm is 0), ties of |x| for p = inf."""
    elements = AWAY_FROM_ZERO if p in (1, 2) else st.integers(1, 60).map(lambda k: 0.1 * k)
    return draw(reduction(elements, unique=p == float("inf")))


@st.composite
def unsqueeze_inputs(draw):
    shape = draw(SHAPES)
    return (draw(arrays(shape)),), {"dim": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def squeeze_inputs(draw):
    shape = tuple(draw(st.lists(st.sampled_from([1, 1, 2, 3]), min_size=0, max_size=4)))
    dims = st.none() if not shape else st.one_of(st.none(), dim_of(len(shape)),
                                                  st.lists(dim_of(len(shape)), min_size=1, max_size=len(shape),
                                                           unique_by=lambda d: d % len(shape)).map(tuple))
    return (draw(arrays(shape)),), {"dim": draw(dims)}


@st.composite
def flatten_inputs(draw):
    shape = draw(SHAPES)
    if not shape:
        return (draw(arrays(shape)),), {"start_dim": 0, "end_dim": -1}
    start = draw(st.integers(0, len(shape) - 1))
    end = draw(st.integers(start, len(shape) - 1))
    negative = draw(st.booleans())
    return (draw(arrays(shape)),), {"start_dim": start - len(shape) if negative else start, "end_dim": end}


@st.composite
def unflatten_inputs(draw):
    shape = draw(NONSCALAR_SHAPES)
    dim = draw(st.integers(0, len(shape) - 1))
    size = shape[dim]
    sizes = draw(st.sampled_from([(size,), (1, size), (size, 1), (-1, 1), (1, -1)]))
    return (draw(arrays(shape)),), {"dim": dim, "sizes": sizes}


@st.composite
def expand_inputs(draw):
    (x,), params = draw(broadcast_to_inputs())
    sizes = list(params["shape"])
    offset = len(sizes) - x.ndim
    sizes = [-1 if d >= offset and x.shape[d - offset] == size and draw(st.booleans()) else size
             for d, size in enumerate(sizes)]
    return (x,), {"sizes": tuple(sizes)}


@st.composite
def repeat_inputs(draw):
    shape = draw(SHAPES)
    extra = draw(st.integers(0, 1))
    return (draw(arrays(shape)),), {"repeats": tuple(draw(st.integers(1, 3)) for _ in range(len(shape) + extra))}


@st.composite
def split_inputs(draw):
    shape = draw(NONSCALAR_SHAPES)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    length = shape[dim]
    if draw(st.booleans()):
        sections = draw(st.integers(1, length + 1))
    else:
        cut = sorted(draw(st.lists(st.integers(0, length), max_size=2)))
        bounds = [0] + cut + [length]
        sections = [b - a for a, b in zip(bounds, bounds[1:])]
    return (draw(arrays(shape)),), {"sections": sections, "dim": dim}


@st.composite
def movedim_inputs(draw):
    shape = draw(NONSCALAR_SHAPES)
    count = draw(st.integers(1, len(shape)))
    source = draw(st.permutations(range(len(shape))))[:count]
    destination = draw(st.permutations(range(len(shape))))[:count]
    if count == 1 and draw(st.booleans()):
        return (draw(arrays(shape)),), {"source": source[0] - len(shape), "destination": destination[0]}
    return (draw(arrays(shape)),), {"source": tuple(source), "destination": tuple(destination)}


@st.composite
def gather_inputs(draw, same_other_sizes=False):
    shape = draw(NONSCALAR_SHAPES)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(draw(st.integers(1, 4)) if d == dim % len(shape) else
                        size if same_other_sizes else draw(st.integers(1, size)) for d, size in enumerate(shape))
    index = draw(hnp.arrays(numpy.int64, index_shape, elements=st.integers(0, shape[dim] - 1)))
    return (draw(arrays(shape)),), {"dim": dim, "index": index}


@st.composite
def index_select_inputs(draw):
    shape = draw(NONSCALAR_SHAPES)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index = draw(hnp.arrays(numpy.int64, (draw(st.integers(1, 5)),), elements=st.integers(0, shape[dim] - 1)))
    return (draw(arrays(shape)),), {"dim": dim, "index": index}


@st.composite
def scatter_add_inputs(draw):
    shape = draw(NONSCALAR_SHAPES)
    dim = draw(st.integers(0, len(shape) - 1))
    src_shape = tuple(draw(st.integers(1, 3)) if d == dim else draw(st.integers(1, size))
                      for d, size in enumerate(shape))
    # the index covers all of src: where it covers less, PyTorch's own backward returns a gradient of the index's
    # shape for src and refuses it
    index = draw(hnp.arrays(numpy.int64, src_shape, elements=st.integers(0, shape[dim] - 1)))
    return (draw(arrays(shape)), draw(arrays(src_shape))), {"dim": dim, "index": index}


@st.composite
def topk_inputs(draw):
    shape = draw(NONSCALAR_SHAPES)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return (draw(arrays(shape, GRID, unique=True)),), {
        "k": draw(st.integers(0, shape[dim])), "dim": dim, "largest": draw(st.booleans())}


EINSUM_EQUATIONS = ["ij,jk->ik", "ij->ji", "ii->i", "ii->", "ij->", "ij->j", "bij,bjk->bik", "i,i->", "i,j->ij",
                    "ijk,jl->ilk", "ij,jk", "iji->j", "ij,ij,j->i", "i->"]


@st.composite
def einsum_inputs(draw):
    equation = draw(st.sampled_from(EINSUM_EQUATIONS))
    letters = sorted(set(equation) - set(",->"))
    sizes = {letter: draw(st.integers(1, 3)) for letter in letters}
    operands = equation.split("->")[0].split(",")
    return tuple(draw(arrays(tuple(sizes[letter] for letter in operand))) for operand in operands), {
        "equation": equation}


@st.composite
def linalg_inputs(draw, kind):
    n, m, p, batch = (draw(st.integers(1, 3)) for _ in range(4))
    shapes = {"dot": [(n,), (n,)], "outer": [(n,), (m,)], "mv": [(n, m), (m,)], "bmm": [(batch, n, m), (batch, m, p)]}
    return tuple(draw(arrays(shape)) for shape in shapes[kind]), {}


@st.composite
def tensordot_inputs(draw):
    count = draw(st.integers(0, 2))
    shared = tuple(draw(st.integers(1, 3)) for _ in range(count))
    a_shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))) + shared
    b_shape = shared + tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    return (draw(arrays(a_shape)), draw(arrays(b_shape))), {"dims": count}


@st.composite
def masked_fill_inputs(draw):
    shape = draw(SHAPES)
    mask_shape = shape[draw(st.integers(0, len(shape))):]
    return (draw(arrays(shape)),), {"mask": draw(hnp.arrays(numpy.bool_, mask_shape)), "value": draw(SMOOTH)}


@st.composite
def clamp_inputs(draw):
    x = draw(arrays(draw(SHAPES), GRID_SHIFTED))
    low, high = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    return (x,), {"min": draw(GRID) if low else None, "max": draw(GRID) if high else None}


def _torch_prod(x, axis, keepdims):
    """torch.prod reduces one dim at a time: a product over several dims is a product of products."""
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    for a in sorted((a % x.ndim for a in axes), reverse=True):
        x = x.prod(dim=a, keepdim=True)
    if not keepdims:
        x = x.reshape([size for d, size in enumerate(x.shape) if d not in {a % max(x.ndim, 1) for a in axes}])
    return x


def _all_dims(x, axis):
    return tuple(range(x.ndim)) if axis is None else axis


def _weighted_pieces(pieces, dim, concatenate):
    """The pieces, each scaled by its position + 1 and joined again, so a gradient sent to the wrong piece shows."""
    return concatenate([piece * (k + 1) for k, piece in enumerate(pieces)], dim)


def _split_sections(sections):
    return sections if isinstance(sections, int) else list(sections)


NON_FINITE = hnp.arrays(numpy.float64, st.integers(1, 6), elements=st.sampled_from(
    [numpy.nan, numpy.inf, -numpy.inf, 1.5, -0.5, 2.0]))


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
    Op("amax", reduction(GRID, unique=True), lambda x, axis, keepdims: x.amax(axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: x.amax(dim=_torch_axis(axis), keepdim=keepdims)),
    Op("amin", reduction(GRID, unique=True), lambda x, axis, keepdims: x.amin(dim=axis, keepdim=keepdims),
       lambda x, axis, keepdims: x.amin(dim=_torch_axis(axis), keepdim=keepdims)),
    # moving elements around
    Op("reshape", reshape_inputs(), lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape)),
    Op("flatten", unary(), lambda x: x.flatten(), lambda x: x.flatten()),
    Op("transpose", two_dims_inputs(), lambda x, dim0, dim1: x.transpose(dim0, dim1),
       lambda x, dim0, dim1: x.transpose(dim0, dim1)),
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

# The PyTorch vocabulary: each row calls minigrad and torch under the same name and signature.
OPS += [
    # elementwise
    Op("sin", unary(), lambda x: x.sin(), lambda x: x.sin()),
    Op("cos", unary(), lambda x: x.cos(), lambda x: x.cos()),
    Op("square", unary(), lambda x: x.square(), lambda x: x.square()),
    Op("rsqrt", unary(POSITIVE), lambda x: x.rsqrt(), lambda x: x.rsqrt()),
    Op("reciprocal", unary(AWAY_FROM_ZERO), lambda x: x.reciprocal(), lambda x: x.reciprocal()),
    Op("log1p", unary(floats(-0.5, 3)), lambda x: x.log1p(), lambda x: x.log1p()),
    Op("expm1", unary(), lambda x: x.expm1(), lambda x: x.expm1()),
    Op("log2", unary(POSITIVE), lambda x: x.log2(), lambda x: x.log2()),
    Op("log10", unary(POSITIVE), lambda x: x.log10(), lambda x: x.log10()),
    Op("exp2", unary(), lambda x: x.exp2(), lambda x: x.exp2()),
    Op("sign", unary(AWAY_FROM_ZERO), lambda x: x.sign(), lambda x: x.sign()),
    Op("floor", unary(GRID_SHIFTED), lambda x: x.floor(), lambda x: x.floor()),
    Op("ceil", unary(GRID_SHIFTED), lambda x: x.ceil(), lambda x: x.ceil()),
    Op("round", unary(GRID_SHIFTED), lambda x: x.round(), lambda x: x.round()),
    Op("trunc", unary(GRID_SHIFTED), lambda x: x.trunc(), lambda x: x.trunc()),
    Op("clamp", clamp_inputs(), lambda x, min, max: x.clamp(min, max), lambda x, min, max: x.clamp(min, max),
       cases=(((numpy.array([-1.05, 0.55, 2.05]),), {"min": 1.0, "max": 0.0}),)),  # min > max: max wins
    Op("clip", clamp_inputs(), lambda x, min, max: minigrad.clip(x, min=min, max=max),
       lambda x, min, max: torch.clip(x, min=min, max=max)),
    Op("nan_to_num", unary(), lambda x: x.nan_to_num(), lambda x: x.nan_to_num()),
    Op("nan_to_num_non_finite", NON_FINITE.map(lambda x: ((x,), {})),
       lambda x: x.nan_to_num(nan=0.5, posinf=3.0), lambda x: x.nan_to_num(nan=0.5, posinf=3.0), gradcheck=False,
       why_no_gradcheck="finite differences of inf and nan are not numbers; PyTorch checks the gradient"),
    Op("masked_fill", masked_fill_inputs(), lambda x, mask, value: x.masked_fill(minigrad.tensor(mask), value),
       lambda x, mask, value: x.masked_fill(torch.as_tensor(mask), value)),
    Op("where_method", where_inputs(), lambda a, b, condition: a.where(minigrad.tensor(condition), b),
       lambda a, b, condition: a.where(torch.as_tensor(condition), b)),
    # reductions
    Op("std", reduction(GRID, unique=True, with_ddof=True),  # distinct values: std > 0 wherever n > 1
       lambda x, axis, keepdims, ddof: x.std(dim=axis, correction=ddof, keepdim=keepdims),
       lambda x, axis, keepdims, ddof: x.std(dim=axis, correction=ddof, keepdim=keepdims), cases=(
           (_rng_arrays((3, 4)), {"axis": 1, "keepdims": False, "ddof": 1}),
           ((numpy.array([[2.0, 2.0], [1.0, 3.0]]),), {"axis": 1, "keepdims": False, "ddof": 1}))),  # std 0
    Op("var_default_unbiased", one_dim(shapes=NONSCALAR_SHAPES.filter(lambda shape: max(shape) > 1)),
       lambda x, dim: x.var(), lambda x, dim: x.var()),
    Op("prod", prod_inputs(), lambda x, axis, keepdims: x.prod(axis=axis, keepdims=keepdims), _torch_prod, cases=(
        ((numpy.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, -1.0]]),), {"axis": 1, "keepdims": False}),
        ((numpy.array([0.0, 2.0, 3.0]),), {"axis": None, "keepdims": True}))),
    Op("cumsum", one_dim(), lambda x, dim: x.cumsum(dim), lambda x, dim: x.cumsum(dim)),
    Op("logsumexp", reduction(floats(-30, 30)), lambda x, axis, keepdims: x.logsumexp(_all_dims(x, axis), keepdims),
       lambda x, axis, keepdims: x.logsumexp(_all_dims(x, axis), keepdims)),
    Op("norm_2", norm_inputs(2), lambda x, axis, keepdims: x.norm(2, axis, keepdims),
       lambda x, axis, keepdims: torch.linalg.vector_norm(x, 2, axis, keepdims)),
    Op("norm_1", norm_inputs(1), lambda x, axis, keepdims: x.norm(1, axis, keepdims),
       lambda x, axis, keepdims: torch.linalg.vector_norm(x, 1, axis, keepdims)),
    Op("norm_inf", norm_inputs(float("inf")), lambda x, axis, keepdims: x.norm(float("inf"), axis, keepdims),
       lambda x, axis, keepdims: torch.linalg.vector_norm(x, float("inf"), axis, keepdims)),
    Op("max_dim", one_dim(GRID, unique=True, keepdim=st.booleans()),
       lambda x, dim, keepdim: x.max(dim, keepdim).values, lambda x, dim, keepdim: x.max(dim, keepdim).values),
    Op("min_dim", one_dim(GRID, unique=True, keepdim=st.booleans()),
       lambda x, dim, keepdim: x.min(dim=dim, keepdim=keepdim)[0], lambda x, dim, keepdim: x.min(dim, keepdim)[0]),
    Op("max_all", one_dim(GRID, unique=True), lambda x, dim: x.max(), lambda x, dim: x.max()),  # no ties
    Op("min_all", one_dim(GRID, unique=True), lambda x, dim: x.min(), lambda x, dim: x.min()),
    # shapes
    Op("unsqueeze", unsqueeze_inputs(), lambda x, dim: x.unsqueeze(dim), lambda x, dim: x.unsqueeze(dim)),
    Op("squeeze", squeeze_inputs(), lambda x, dim: x.squeeze(dim),
       lambda x, dim: x.squeeze() if dim is None else x.squeeze(dim)),
    Op("view", reshape_inputs(), lambda x, shape: x.view(*shape), lambda x, shape: x.view(shape)),
    Op("flatten_dims", flatten_inputs(), lambda x, start_dim, end_dim: x.flatten(start_dim, end_dim),
       lambda x, start_dim, end_dim: x.flatten(start_dim, end_dim)),
    Op("unflatten", unflatten_inputs(), lambda x, dim, sizes: x.unflatten(dim, sizes),
       lambda x, dim, sizes: x.unflatten(dim, sizes)),
    Op("expand", expand_inputs(), lambda x, sizes: x.expand(*sizes), lambda x, sizes: x.expand(sizes)),
    Op("repeat", repeat_inputs(), lambda x, repeats: x.repeat(*repeats), lambda x, repeats: x.repeat(repeats)),
    Op("clone", unary(), lambda x: x.clone() * 1.0, lambda x: x.clone() * 1.0),
    Op("split", split_inputs(),
       lambda x, sections, dim: _weighted_pieces(x.split(_split_sections(sections), dim), dim, minigrad.concatenate),
       lambda x, sections, dim: _weighted_pieces(x.split(_split_sections(sections), dim), dim, torch.cat)),
    Op("chunk", split_inputs().filter(lambda inputs: isinstance(inputs[1]["sections"], int)),
       lambda x, sections, dim: _weighted_pieces(x.chunk(sections, dim), dim, minigrad.concatenate),
       lambda x, sections, dim: _weighted_pieces(x.chunk(sections, dim), dim, torch.cat)),
    Op("movedim", movedim_inputs(), lambda x, source, destination: x.movedim(source, destination),
       lambda x, source, destination: x.movedim(source, destination)),
    Op("mT", unary(shapes=hnp.array_shapes(min_dims=2, max_dims=4, max_side=3)), lambda x: x.mT, lambda x: x.mT),
    Op("permute_negative", permutation_inputs(), lambda x, axes: x.permute(*(a - x.ndim for a in axes)),
       lambda x, axes: x.permute(tuple(a - x.ndim for a in axes))),
    # indexing
    Op("gather", gather_inputs(), lambda x, dim, index: x.gather(dim, minigrad.tensor(index)),
       lambda x, dim, index: x.gather(dim, torch.as_tensor(index))),
    Op("take_along_dim", gather_inputs(same_other_sizes=True),
       lambda x, dim, index: minigrad.take_along_dim(x, minigrad.tensor(index), dim),
       lambda x, dim, index: torch.take_along_dim(x, torch.as_tensor(index), dim)),
    Op("index_select", index_select_inputs(), lambda x, dim, index: x.index_select(dim, minigrad.tensor(index)),
       lambda x, dim, index: x.index_select(dim, torch.as_tensor(index))),
    Op("scatter_add", scatter_add_inputs(),
       lambda x, src, dim, index: x.scatter_add(dim, minigrad.tensor(index), src),
       lambda x, src, dim, index: x.scatter_add(dim, torch.as_tensor(index), src)),
    Op("sort", one_dim(GRID, unique=True, descending=st.booleans()),
       lambda x, dim, descending: x.sort(dim, descending).values,
       lambda x, dim, descending: x.sort(dim=dim, descending=descending).values),
    Op("topk", topk_inputs(), lambda x, k, dim, largest: x.topk(k, dim, largest).values,
       lambda x, k, dim, largest: x.topk(k, dim, largest).values),
    Op("getitem_int_slice_array", unary(shapes=st.just((2, 3, 4))),
       lambda x: x[1, :, minigrad.tensor([0, 3, 3])], lambda x: x[1, :, torch.tensor([0, 3, 3])]),
    # linear algebra
    Op("einsum", einsum_inputs(), lambda *xs, equation: minigrad.einsum(equation, *xs),
       lambda *xs, equation: torch.einsum(equation, *xs)),
    Op("dot", linalg_inputs("dot"), minigrad.dot, torch.dot),
    Op("outer", linalg_inputs("outer"), minigrad.outer, torch.outer),
    Op("mv", linalg_inputs("mv"), minigrad.mv, torch.mv),
    Op("bmm", linalg_inputs("bmm"), minigrad.bmm, torch.bmm),
    Op("tensordot", tensordot_inputs(), lambda a, b, dims: minigrad.tensordot(a, b, dims),
       lambda a, b, dims: torch.tensordot(a, b, dims)),
]

GRADCHECKED = [op for op in OPS if op.gradcheck]


# --- the checks, shared by the Hypothesis tests and the explicit cases -------------------------------------------

def _leaves(arrays):
    return [minigrad.tensor(array, dtype="float64", requires_grad=True) for array in arrays]


def is_current_backend_array(value):
    """0-d results included: an array of the backend the test runs on, never a NumPy scalar."""
    return backends.is_array(value) and backends.backend_of(value) == minigrad.get_backend()


def check_gradcheck(op, arrays, params):
    assert minigrad.gradcheck(lambda *tensors: op.minigrad(*tensors, **params), _leaves(arrays))


def check_against_torch(op, arrays, params, seed):
    leaves = _leaves(arrays)
    output = op.minigrad(*leaves, **params)
    torch_leaves = [torch.tensor(array, requires_grad=True) for array in arrays]
    expected = op.torch(*torch_leaves, **params)
    assert output.dtype == numpy.dtype(str(expected.dtype).removeprefix("torch.")), op.name
    assert is_current_backend_array(output.data), f"{op.name}: {type(output.data).__name__} is not a backend array"
    assert_close(output.detach(), expected, what=f"{op.name} forward")

    # A random upstream gradient: with all ones, a backward that e.g. forgets a sign can agree by accident.
    upstream = numpy.random.default_rng(seed).standard_normal(expected.shape).astype(output.dtype)
    output.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for k, (leaf, torch_leaf) in enumerate(zip(leaves, torch_leaves)):
        assert leaf.grad is not None and leaf.grad.dtype == numpy.float64, f"{op.name}: no float64 grad for {k}"
        assert is_current_backend_array(leaf.grad.data), f"{op.name}: the gradient of input {k} is no backend array"
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
    ("amax", (numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]),), {"axis": 1, "keepdims": False}),  # ties share
    ("amax", (numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]),), {"axis": None, "keepdims": False}),
    ("amin", (numpy.array([[1.0, 0.0, 0.0], [2.0, 2.0, 5.0]]),), {"axis": 0, "keepdims": True}),
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
             (minigrad.std(x, 1, correction=0), x.std(dim=1, unbiased=False)),
             (minigrad.reshape(x, (3, 2)), x.reshape(3, 2)), (minigrad.transpose(x, 0, 1), x.T),
             (minigrad.permute(x, (1, 0)), x.mT), (minigrad.amax(x, 1), x.max(1).values),
             (minigrad.clamp(x, 1.0, 2.0), x.clip(1.0, 2.0)), (minigrad.sigmoid(x), x.sigmoid()),
             (minigrad.broadcast_to(x, (2, 2, 3)), x.broadcast_to((2, 2, 3)))]
    for module_level, method in pairs:
        assert_close(module_level, method)
