"""Every fast subclass against the plain class it replaces, and the one line that chooses between them.

The plain LayerNorm and BatchNorm are the ops a student reads; each class in minigrad.nn.ops.fast must compute
the same function: the output, every gradient and the running statistics to 1e-12 in float64 and 1e-5 in
float32, and pass gradcheck itself.
"""

import numpy
import pytest

import minigrad
from minigrad.nn import functional as F
from minigrad.nn.ops import BatchNorm, LayerNorm, fast
from minigrad.nn.ops.fast import blocked, kernels
from tests.helpers import assert_close

TOLERANCE = {numpy.float64: 1e-12, numpy.float32: 1e-5}
needs_numba = pytest.mark.skipif(kernels.numba is None, reason="numba is not installed (pip install minigrad[fast])")
LAYER_NORMS = [fast.BlockedLayerNorm, pytest.param(fast.NumbaLayerNorm, marks=needs_numba)]
BATCH_NORMS = [fast.BlockedBatchNorm, pytest.param(fast.NumbaBatchNorm, marks=needs_numba)]


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that the blocked classes cut even these small inputs into many blocks."""
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 1024)


def _tensor(array, requires_grad=False):
    return minigrad.tensor(array.copy(), requires_grad=requires_grad, backend="numpy")


def _run(op, x, weight, bias, arguments, grad_output, running=()):
    """Apply `op` to copies of the arrays; the output, each gradient (x, weight, bias) and the running stats."""
    leaves = [None if array is None else _tensor(array, requires_grad=True) for array in (x, weight, bias)]
    running_tensors = [None if array is None else _tensor(array) for array in running]
    output = op.apply(*leaves, *running_tensors, *arguments)
    assert output.grad_fn.function is op
    output.backward(_tensor(grad_output))
    results = [output.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves if leaf is not None]
    return results + [tensor.numpy() for tensor in running_tensors if tensor is not None]


def _compare(fast_op, plain_op, dtype, *arguments, **keywords):
    expected = _run(plain_op, *arguments, **keywords)
    actual = _run(fast_op, *arguments, **keywords)
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == e.dtype == dtype, f"result {index}"
        assert_close(a, e, atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype], what=f"{fast_op.__name__} result {index}")


def _arrays(x_shape, parameter_shape, affine, dtype, seed=0):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal(x_shape) * 2 + 0.5
    weight = rng.standard_normal(parameter_shape) if affine in ("weight", "both") else None
    bias = rng.standard_normal(parameter_shape) if affine in ("bias", "both") else None
    grad_output = rng.standard_normal(x_shape)
    return [None if a is None else a.astype(dtype) for a in (x, weight, bias, grad_output)]


@pytest.mark.parametrize("fast_op", LAYER_NORMS)
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("affine", ["none", "weight", "bias", "both"])
@pytest.mark.parametrize("x_shape, normalized_ndim", [((5, 7), 1), ((2, 3, 4, 6), 2), ((300, 40), 1)])
def test_fast_layer_norm_equals_the_plain_class(fast_op, dtype, affine, x_shape, normalized_ndim):
    x, weight, bias, grad_output = _arrays(x_shape, x_shape[len(x_shape) - normalized_ndim:], affine, dtype)
    _compare(fast_op, LayerNorm, dtype, x, weight, bias, (normalized_ndim, 1e-5), grad_output)


@pytest.mark.parametrize("fast_op", BATCH_NORMS)
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@pytest.mark.parametrize("training, with_running", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("x_shape", [(9, 4), (5, 4, 3), (300, 4)])
def test_fast_batch_norm_equals_the_plain_class(fast_op, dtype, affine, training, with_running, x_shape):
    x, weight, bias, grad_output = _arrays(x_shape, (4,), affine, dtype)
    running = (numpy.array([0.3, -0.2, 0.1, 0.5], dtype), numpy.array([0.8, 1.5, 0.6, 2.0], dtype))
    _compare(fast_op, BatchNorm, dtype, x, weight, bias, (training, 0.3, 1e-5), grad_output,
             running=running if with_running else (None, None))


def _leaf(rng, shape):
    return minigrad.tensor(rng.standard_normal(shape), requires_grad=True, backend="numpy")


@pytest.mark.parametrize("op", [LayerNorm] + LAYER_NORMS)
def test_every_layer_norm_class_passes_gradcheck(op):
    rng = numpy.random.default_rng(3)
    assert minigrad.gradcheck(lambda x, w, b: op.apply(x, w, b, 2, 1e-5),
                              [_leaf(rng, (2, 3, 4)), _leaf(rng, (3, 4)), _leaf(rng, (3, 4))])


@pytest.mark.parametrize("op", [BatchNorm] + BATCH_NORMS)
@pytest.mark.parametrize("x_shape", [(7, 3), (6, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_every_batch_norm_class_passes_gradcheck(op, x_shape, training):
    rng = numpy.random.default_rng(4)
    running_mean = minigrad.tensor(rng.standard_normal(3), backend="numpy")
    running_var = minigrad.tensor(1 + rng.random(3), backend="numpy")
    assert minigrad.gradcheck(
        lambda x, w, b: op.apply(x, w, b, running_mean, running_var, training, 0.0, 1e-5),
        [_leaf(rng, x_shape), _leaf(rng, (3,)), _leaf(rng, (3,))])


def _node_names(**tensor_options):
    x = minigrad.tensor(numpy.ones((4, 3)) + numpy.arange(3), requires_grad=True, **tensor_options)
    return (F.layer_norm(x, 3).grad_fn.name,
            F.batch_norm(x, None, None, training=True).grad_fn.name)


def test_the_node_is_named_after_the_class_that_ran(monkeypatch):
    if kernels.numba is not None:
        assert _node_names(backend="numpy") == ("NumbaLayerNorm", "NumbaBatchNorm")
    assert _node_names(backend="numpy", dtype="float16") == ("BlockedLayerNorm", "BlockedBatchNorm")
    monkeypatch.setattr(kernels, "ENABLED", False)  # what MINIGRAD_NUMBA=0 sets
    assert _node_names(backend="numpy") == ("BlockedLayerNorm", "BlockedBatchNorm")
    minigrad.set_fast_kernels(False)
    assert _node_names(backend="numpy") == ("LayerNorm", "BatchNorm")


def test_the_strict_backend_runs_the_plain_classes():
    assert _node_names(backend="strict") == ("LayerNorm", "BatchNorm")


def test_with_the_switch_off_no_fast_code_runs(monkeypatch):
    """set_fast_kernels(False): forward and backward of the functionals run the plain classes only."""
    def refuse(*args, **kwargs):
        raise AssertionError("a fast class ran with the switch off")

    for op in (fast.NumbaLayerNorm, fast.BlockedLayerNorm, fast.NumbaBatchNorm, fast.BlockedBatchNorm):
        monkeypatch.setattr(op, "forward", staticmethod(refuse))
        monkeypatch.setattr(op, "backward", staticmethod(refuse))
    minigrad.set_fast_kernels(False)
    x = minigrad.tensor(numpy.random.default_rng(0).standard_normal((6, 5)), requires_grad=True, backend="numpy")
    (F.layer_norm(x, 5).sum() + F.batch_norm(x, None, None, training=True).sum()).backward()
    assert x.grad is not None


@pytest.mark.parametrize("op", [LayerNorm, BatchNorm])
def test_the_plain_classes_are_the_formula_only(op):
    """What a student reads: no compiled kernels, no blocking, no out= buffers, no einsum in the plain classes."""
    import inspect
    source = inspect.getsource(op)
    for word in ("numba", "kernels", "block", "out=", "einsum", "prange"):
        assert word not in source, f"{op.__name__} mentions {word!r}"
