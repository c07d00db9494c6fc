"""Gradients accumulating into ``.grad``: the compiled LayerNorm and BatchNorm add dL/dx into ``x.grad`` in their
backward loop (engine.grad_to_add_into), and the engine adds large gradients on several threads
(fast_path.add_in_place). Each is held to the plain path, and each refusal case (a ``.grad`` the graph still
holds, autograd.grad, anomaly detection, a ``.grad`` that is a view or of another dtype) to giving the right sum.
"""

import numpy
import pytest

import minigrad
from minigrad import fast_path
from minigrad.nn import functional as F
from minigrad.nn.ops.fast import kernels
from tests.helpers import assert_close

pytestmark = pytest.mark.skipif(kernels.numba is None, reason="numba is not installed (pip install minigrad[fast])")

TOLERANCE = {numpy.float64: 1e-12, numpy.float32: 1e-5}
LAYERS = {
    "layer_norm": lambda x, weight, bias: F.layer_norm(x, (x.shape[-1],), weight, bias),
    "batch_norm": lambda x, weight, bias: F.batch_norm(x, None, None, weight, bias, training=True),
}


@pytest.fixture
def accumulate_calls(monkeypatch):
    """The `accumulate` flag of every compiled backward call, recorded in a list."""
    calls = []
    for name in ("layer_norm_backward", "batch_norm_backward"):
        original = getattr(kernels, name)

        def recording(*arguments, accumulate=False, original=original):
            calls.append(accumulate)
            return original(*arguments, accumulate=accumulate)
        monkeypatch.setattr(kernels, name, recording)
    return calls


def _arrays(dtype, shape=(6, 5), seed=0):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2 + 0.5
    weight, bias = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    upstream = [rng.standard_normal(shape) for _ in range(3)]
    return [a.astype(dtype) for a in (x, weight, bias)], [u.astype(dtype) for u in upstream]


def _three_backwards(layer, arrays, upstream, fast):
    minigrad.set_fast_kernels(fast)
    leaves = [minigrad.tensor(a.copy(), requires_grad=True, backend="numpy") for a in arrays]
    grad_arrays = []
    for gradient in upstream:
        LAYERS[layer](*leaves).backward(minigrad.tensor(gradient, backend="numpy"))
        grad_arrays.append(leaves[0].grad.data)
    minigrad.set_fast_kernels(True)
    return [leaf.grad.numpy() for leaf in leaves], grad_arrays


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_three_accumulating_backwards_equal_the_plain_classes(layer, dtype, accumulate_calls):
    arrays, upstream = _arrays(dtype)
    expected, _ = _three_backwards(layer, arrays, upstream, fast=False)
    actual, grad_arrays = _three_backwards(layer, arrays, upstream, fast=True)
    for a, e in zip(actual, expected):
        assert_close(a, e, atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype])
    assert accumulate_calls == [False, True, True]  # the first backward has no .grad to add into
    assert grad_arrays[1] is grad_arrays[2]  # added in place: the same array from the second call on


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_the_sum_matches_pytorch(layer):
    torch = pytest.importorskip("torch")
    arrays, upstream = _arrays(numpy.float64)
    actual, _ = _three_backwards(layer, arrays, upstream, fast=True)
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    for gradient in upstream:
        if layer == "layer_norm":
            output = torch.nn.functional.layer_norm(leaves[0], (5,), leaves[1], leaves[2])
        else:
            output = torch.nn.functional.batch_norm(leaves[0], None, None, leaves[1], leaves[2], training=True)
        output.backward(torch.tensor(gradient))
    for a, leaf in zip(actual, leaves):
        assert_close(a, leaf.grad.numpy(), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_grad_array_the_graph_still_holds_is_not_added_into(layer, accumulate_calls):
    """In (norm(x) + x) * 2, Add hands one array to the layer and to the leaf x. With x.grad empty, x.grad takes
    that very array (no copy); the layer then receives it as its dL/dy, and adding into x.grad would change the
    dL/dy it is reading."""
    arrays, upstream = _arrays(numpy.float64)
    results = []
    for fast in (False, True):
        minigrad.set_fast_kernels(fast)
        leaves = [minigrad.tensor(a.copy(), requires_grad=True, backend="numpy") for a in arrays]
        ((LAYERS[layer](*leaves) + leaves[0]) * 2).backward(minigrad.tensor(upstream[0], backend="numpy"))
        results.append(leaves[0].grad.numpy())
    assert accumulate_calls == [False]
    assert_close(results[1], results[0], atol=1e-12, rtol=1e-12)


def test_autograd_grad_leaves_dot_grad_alone(accumulate_calls):
    arrays, upstream = _arrays(numpy.float64)
    x, weight, bias = [minigrad.tensor(a, requires_grad=True, backend="numpy") for a in arrays]
    x.grad = minigrad.tensor(numpy.ones_like(arrays[0]))
    (gradient,) = minigrad.autograd.grad(LAYERS["layer_norm"](x, weight, bias), x,
                                         grad_outputs=minigrad.tensor(upstream[0]))
    assert numpy.array_equal(x.grad.numpy(), numpy.ones_like(arrays[0]))
    assert accumulate_calls == [False]
    minigrad.set_fast_kernels(False)
    (expected,) = minigrad.autograd.grad(LAYERS["layer_norm"](x, weight, bias), x,
                                         grad_outputs=minigrad.tensor(upstream[0]))
    assert_close(gradient.numpy(), expected.numpy(), atol=1e-12, rtol=1e-12)


def test_anomaly_detection_checks_the_gradient_itself(accumulate_calls):
    arrays, upstream = _arrays(numpy.float64)
    with minigrad.detect_anomaly():
        _three_backwards("layer_norm", arrays, upstream, fast=True)
    assert accumulate_calls == [False, False, False]


@pytest.mark.parametrize("replace", ["view", "fortran", "other dtype", "read-only"])
def test_a_grad_set_by_hand_that_cannot_take_the_sum_in_place_still_gets_it(replace, accumulate_calls):
    arrays, upstream = _arrays(numpy.float64)
    x, weight, bias = [minigrad.tensor(a, requires_grad=True, backend="numpy") for a in arrays]
    start = numpy.arange(30.0).reshape(6, 5)
    if replace == "view":
        given = numpy.arange(60.0).reshape(6, 10)[:, ::2]
    elif replace == "fortran":
        given = numpy.asfortranarray(start)
    elif replace == "other dtype":
        given = start.astype(numpy.float32)
    else:
        given = start.copy()
        given.flags.writeable = False
    before = given.copy()
    x.grad = minigrad.Tensor(given)  # wraps the array itself, no copy
    LAYERS["layer_norm"](x, weight, bias).backward(minigrad.tensor(upstream[0]))
    assert accumulate_calls == [False]
    if replace == "fortran":  # an array of its own: the engine adds into it, after the kernel wrote dL/dx apart
        assert x.grad.data is given
    else:  # the engine makes a new array of the sum, and the one set by hand is not written
        assert numpy.array_equal(given, before)
    minigrad.set_fast_kernels(False)
    plain = minigrad.tensor(arrays[0], requires_grad=True, backend="numpy")
    LAYERS["layer_norm"](plain, weight, bias).backward(minigrad.tensor(upstream[0]))
    assert_close(x.grad.numpy(), before + plain.grad.numpy(), atol=1e-6, rtol=1e-6)


def test_add_in_place_gives_the_bits_of_plus_equals_on_the_pool(monkeypatch):
    monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(fast_path, "PARALLEL_MIN_ELEMENTS", 0)
    chunks = []
    original = kernels.parallel_for
    monkeypatch.setattr(kernels, "parallel_for", lambda kernel, count, *a: (chunks.append(count),
                                                                            original(kernel, count, *a)))
    rng = numpy.random.default_rng(3)
    for dtype in (numpy.float32, numpy.float64):
        target, addend = rng.standard_normal((33, 17)).astype(dtype), rng.standard_normal((33, 17)).astype(dtype)
        expected = target.copy()
        expected += addend
        fast_path.add_in_place(target, addend)
        assert numpy.array_equal(target, expected)
    assert chunks and all(count > 1 for count in chunks)


def test_add_in_place_is_plain_plus_equals_with_the_switch_off(monkeypatch):
    monkeypatch.setattr(fast_path, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(kernels, "add_in_place", lambda *a: pytest.fail("the pool ran with the switch off"))
    minigrad.set_fast_kernels(False)
    target = numpy.ones((4, 4))
    fast_path.add_in_place(target, numpy.ones((4, 4)))
    assert numpy.array_equal(target, numpy.full((4, 4), 2.0))


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_parameter_as_the_input_accumulates_like_any_leaf(layer):
    """nn.Parameter is a Tensor subclass: the engine must take the fused op's ADDED_INTO_GRAD for it too."""
    arrays, upstream = _arrays(numpy.float64)
    results = []
    for fast in (False, True):
        minigrad.set_fast_kernels(fast)
        x = minigrad.nn.Parameter(minigrad.tensor(arrays[0].copy(), backend="numpy"))
        for gradient in upstream:
            LAYERS[layer](x, None, None).backward(minigrad.tensor(gradient, backend="numpy"))
        results.append(x.grad.numpy())
    assert_close(results[1], results[0], atol=1e-12, rtol=1e-12)


def test_anomaly_detection_ending_during_a_walk_changes_nothing_in_it(accumulate_calls):
    """The mode is the process's: another thread's ``detect_anomaly()`` block may end while this backward runs.
    The walk decides once, at its start, whether fused ops may add into .grad."""
    from minigrad.autograd.function import Function
    from minigrad.autograd.mode import state

    class EndsAnomalyDetection(Function):
        @staticmethod
        def forward(ctx, a):
            return a.copy()

        @staticmethod
        def backward(ctx, grad_output):
            state.anomaly = False  # what the end of another thread's detect_anomaly() block does
            return grad_output

    arrays, upstream = _arrays(numpy.float64)
    x = minigrad.tensor(arrays[0], requires_grad=True, backend="numpy")
    x.grad = minigrad.tensor(numpy.ones_like(arrays[0]))
    with minigrad.detect_anomaly():
        EndsAnomalyDetection.apply(LAYERS["layer_norm"](x, None, None)).backward(minigrad.tensor(upstream[0]))
    assert accumulate_calls == [False]
    minigrad.set_fast_kernels(False)
    plain = minigrad.tensor(arrays[0], requires_grad=True, backend="numpy")
    LAYERS["layer_norm"](plain, None, None).backward(minigrad.tensor(upstream[0]))
    assert_close(x.grad.numpy(), 1 + plain.grad.numpy(), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("fast", [False, True])
def test_a_backward_inside_a_backward_does_not_add_into_an_array_the_outer_one_holds(fast):
    """In (Nested(x * 1) + x) * 2, x.grad takes over the array Add hands to x and to Nested's branch; Nested's
    backward runs LN(x).backward(g0), which must not add into that array (the plain engine did, as the fused op
    would): x.grad = 4 g + LN's dL/dx for g0, as PyTorch gives."""
    from minigrad.autograd.function import Function
    arrays, upstream = _arrays(numpy.float64)
    minigrad.set_fast_kernels(fast)
    x = minigrad.tensor(arrays[0], requires_grad=True, backend="numpy")

    class Nested(Function):
        @staticmethod
        def forward(ctx, a):
            return a.copy()

        @staticmethod
        def backward(ctx, grad_output):
            LAYERS["layer_norm"](x, None, None).backward(minigrad.tensor(upstream[1]))
            return grad_output

    ((Nested.apply(x * 1) + x) * 2).backward(minigrad.tensor(upstream[0]))
    minigrad.set_fast_kernels(False)
    alone = minigrad.tensor(arrays[0], requires_grad=True, backend="numpy")
    LAYERS["layer_norm"](alone, None, None).backward(minigrad.tensor(upstream[1]))
    assert_close(x.grad.numpy(), 4 * upstream[0] + alone.grad.numpy(), atol=1e-12, rtol=1e-12)
