"""Second derivatives: every primitive op of the ops table, against PyTorch and against finite differences.

For an op f with inputs x and a random upstream vector v, the first derivatives are g(x, v) = v^T df/dx, taken with
``create_graph=True``; then the second walk gives, for another random u, d<u, g>/dx (vector-Hessian products) and
d<u, g>/dv. Both must equal ``torch.autograd.grad``'s to 1e-10 in float64, and ``gradgradcheck`` (finite
differences of g) must pass. The inputs come from the same Hypothesis strategies as ``test_ops.py``, on NumPy.
"""

import numpy
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad
from tests.core.test_ops import EXAMPLES, OPS
from tests.helpers import assert_close, host

torch = pytest.importorskip("torch")

FEW = EXAMPLES.__class__(parent=EXAMPLES, max_examples=3)


def second_derivatives_minigrad(function, arrays, v, u):
    leaves = [minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    output = function(*leaves)
    upstream = minigrad.tensor(v, dtype="float64", requires_grad=True)
    firsts = minigrad.autograd.grad(output, leaves, upstream, create_graph=True, allow_unused=True)
    pairs = [(g, w) for g, w in zip(firsts, u) if g is not None and g.requires_grad]
    if not pairs:
        return [None] * (len(leaves) + 1)
    inner = sum(((g * minigrad.tensor(w)).sum() for g, w in pairs), minigrad.tensor(0.0))
    return minigrad.autograd.grad(inner, leaves + [upstream], allow_unused=True)


def second_derivatives_torch(function, arrays, v, u):
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    output = function(*leaves)
    upstream = torch.tensor(v, requires_grad=True)
    firsts = torch.autograd.grad(output, leaves, upstream, create_graph=True, allow_unused=True)
    pairs = [(g, w) for g, w in zip(firsts, u) if g is not None and g.requires_grad]
    if not pairs:
        return [None] * (len(leaves) + 1)
    inner = sum((g * torch.tensor(w)).sum() for g, w in pairs)
    return torch.autograd.grad(inner, leaves + [upstream], allow_unused=True)


def check_second_derivatives(name, minigrad_function, torch_function, arrays, seed=0):
    rng = numpy.random.default_rng(seed)
    with torch.no_grad():
        shape = tuple(torch_function(*[torch.tensor(a) for a in arrays]).shape)
    v = rng.standard_normal(shape)
    u = [rng.standard_normal(numpy.shape(a)) for a in arrays]
    ours = second_derivatives_minigrad(minigrad_function, arrays, v, u)
    theirs = second_derivatives_torch(torch_function, arrays, v, u)
    for k, (mine, expected) in enumerate(zip(ours, theirs)):
        shape = numpy.shape(arrays[k]) if k < len(arrays) else v.shape
        mine = numpy.zeros(shape) if mine is None else host(mine)
        expected = numpy.zeros(shape) if expected is None or expected._is_zerotensor() else host(expected)
        tolerance = 1e-6 if "float32" in name else 1e-10  # a float32 cast inside: its rounding, in any order
        assert_close(mine, expected, atol=tolerance, rtol=tolerance, what=f"{name}: second derivative in input {k}")


def check_gradgradcheck(minigrad_function, arrays):
    leaves = [minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    assert minigrad.gradgradcheck(minigrad_function, leaves)


@pytest.mark.parametrize("op", OPS, ids=repr)
@FEW
@given(data=st.data())
def test_second_derivatives_match_torch(op, data):
    arrays, params = data.draw(op.inputs, label="inputs")
    if op.name == "prod":  # the derivative of y / x_i divides by x_i^2, which underflows for factors below 1e-154
        assume(bool((numpy.abs(arrays[0])[arrays[0] != 0] > 1e-100).all()))
    if op.name == "std":  # at std 0 the first derivative is 0 by convention, and PyTorch's derivative of it is nan
        assume(bool((op.torch(*[torch.tensor(a) for a in arrays], **params) != 0).all()))
    check_second_derivatives(op.name, lambda *t: op.minigrad(*t, **params), lambda *t: op.torch(*t, **params),
                             arrays, seed=data.draw(st.integers(0, 2**32 - 1), label="seed"))
    # At an exponent of exactly 0 PyTorch masks the slope of a ** b in a, and so its derivative in b (1/a in
    # exact arithmetic): minigrad follows PyTorch there, and finite differences see the exact value.
    at_masked_exponent = op.name == "pow_tensor" and (numpy.asarray(arrays[1]) == 0).any()
    if op.gradcheck and not at_masked_exponent:
        check_gradgradcheck(lambda *t: op.minigrad(*t, **params), arrays)


EXPLICIT = [pytest.param(op, arrays, params, id=f"{op.name}-{k}")
            for op in OPS for k, (arrays, params) in enumerate(op.cases)]


@pytest.mark.parametrize(("op", "arrays", "params"), EXPLICIT)
def test_second_derivatives_explicit_cases(op, arrays, params):
    if op.name == "std" and (numpy.diff(arrays[0], axis=1) == 0).all(axis=1).any():
        pytest.skip("std 0: the first derivative is 0 by convention, and PyTorch's derivative of it is nan")
    check_second_derivatives(op.name, lambda *t: op.minigrad(*t, **params), lambda *t: op.torch(*t, **params),
                             arrays)
