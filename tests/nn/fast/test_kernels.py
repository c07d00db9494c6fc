"""The compiled LayerNorm/BatchNorm loops (minigrad.nn.ops.fast.kernels) against the blocked NumPy classes.

Each case runs the same functional twice, with the kernels' switch off (``ENABLED = False``, what MINIGRAD_NUMBA=0
sets: BlockedLayerNorm or BlockedBatchNorm) and on (NumbaLayerNorm or NumbaBatchNorm), on the NumPy backend
whatever MINIGRAD_BACKEND says, and compares the output, every gradient and the running statistics: to 1e-12 in
float64 and 1e-5 in float32. Gradcheck, NaN and
infinity, and the float32 large-mean accuracy run on the compiled path. The tests that take the ``build`` fixture
run once with each build of the kernels, serial and parallel.
"""

import numpy
import pytest

import minigrad
from minigrad.nn import functional as F
from minigrad.nn.ops.fast import kernels
from tests.helpers import assert_close

pytestmark = pytest.mark.skipif(kernels.numba is None, reason="numba is not installed (pip install minigrad[fast])")

TOLERANCE = {numpy.float64: 1e-12, numpy.float32: 1e-5}


@pytest.fixture(params=["serial", "parallel"])
def build(request, monkeypatch):
    """Run a test with each build of the kernels: the parallel one normally starts at PARALLEL_MIN_ELEMENTS
    elements, and these tests reach it with small arrays by lowering that to 0."""
    if request.param == "parallel":
        monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 0)
    else:
        monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 1 << 62)
    return request.param


def _inputs(x_shape, parameter_shape, affine, dtype, seed=0):
    rng = numpy.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape) * 2 + 0.5]
    if affine in ("weight", "both"):
        arrays.append(rng.standard_normal(parameter_shape))
    if affine in ("bias", "both"):
        arrays.append(rng.standard_normal(parameter_shape))
    arrays.append(rng.standard_normal(x_shape))  # dL/dy
    return [array.astype(dtype) for array in arrays]


def _run(monkeypatch, use_numba, function, arrays, running=None):
    """Forward and backward of function(x, *parameters) with the given path; returns output, grads, running."""
    monkeypatch.setattr(kernels, "ENABLED", use_numba)
    *values, grad_output = arrays
    leaves = [minigrad.tensor(value.copy(), requires_grad=True, backend="numpy") for value in values]
    running_tensors = None if running is None else [minigrad.tensor(array.copy(), backend="numpy") for array in running]
    output = function(*leaves, running_tensors)
    assert output.grad_fn.name.startswith("Numba" if use_numba else "Blocked"), output.grad_fn.name
    output.backward(minigrad.tensor(grad_output, backend="numpy"))
    results = [output.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]
    if running_tensors is not None:
        results += [tensor.numpy() for tensor in running_tensors]
    return results


def _compare(monkeypatch, function, arrays, dtype, running=None):
    reference = _run(monkeypatch, False, function, arrays, running)
    compiled = _run(monkeypatch, True, function, arrays, running)
    for index, (actual, expected) in enumerate(zip(compiled, reference)):
        assert actual.dtype == expected.dtype, f"result {index}"
        assert_close(actual, expected, atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype], what=f"result {index}")


def _layer_norm(normalized_shape, affine):
    def call(x, *rest):
        parameters, _ = rest[:-1], rest[-1]
        weight = parameters[0] if affine in ("weight", "both") else None
        bias = parameters[-1] if affine in ("bias", "both") else None
        return F.layer_norm(x, normalized_shape, weight, bias)
    return call


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("affine", ["none", "weight", "bias", "both"])
@pytest.mark.parametrize("x_shape, normalized_shape", [((5, 7), (7,)), ((2, 3, 4, 6), (4, 6))])
def test_layer_norm_compiled_equals_numpy(build, monkeypatch, dtype, affine, x_shape, normalized_shape):
    arrays = _inputs(x_shape, normalized_shape, affine, dtype)
    _compare(monkeypatch, _layer_norm(normalized_shape, affine), arrays, dtype)


def _batch_norm(training, affine):
    def call(x, *rest):
        parameters, running = rest[:-1], rest[-1]
        weight = parameters[0] if affine in ("weight", "both") else None
        bias = parameters[-1] if affine in ("bias", "both") else None
        running_mean, running_var = (None, None) if running is None else running
        return F.batch_norm(x, running_mean, running_var, weight, bias, training=training, momentum=0.3)
    return call


@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
@pytest.mark.parametrize("affine", ["none", "both", "weight"])
@pytest.mark.parametrize("training, with_running", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("x_shape", [(9, 4), (5, 4, 3)])
def test_batch_norm_compiled_equals_numpy(build, monkeypatch, dtype, affine, training, with_running, x_shape):
    arrays = _inputs(x_shape, (4,), affine, dtype)
    running = None
    if with_running:
        running = [numpy.array([0.3, -0.2, 0.1, 0.5], dtype), numpy.array([0.8, 1.5, 0.6, 2.0], dtype)]
    _compare(monkeypatch, _batch_norm(training, affine), arrays, dtype, running)


def test_a_non_contiguous_input_takes_the_compiled_path_correctly(build, monkeypatch):
    x = numpy.random.default_rng(1).standard_normal((6, 5)).T  # a transposed view, not C-contiguous
    grad_output = numpy.random.default_rng(2).standard_normal((5, 6))
    for function in (_layer_norm((6,), "none"), _batch_norm(True, "none")):
        reference = _run(monkeypatch, False, function, [x, grad_output])
        compiled = _run(monkeypatch, True, function, [x, grad_output])
        for actual, expected in zip(compiled, reference):
            assert_close(actual, expected, atol=1e-12)


def test_the_switch_selects_the_path(monkeypatch, build):
    """The switch (MINIGRAD_NUMBA=0 at start-up) turns the compiled path off; the kernels are used by default (so
    the tests above compare two different paths, not one path with itself), in the build the size selects."""
    monkeypatch.setattr(kernels, "ENABLED", False)
    assert not kernels.enabled()
    monkeypatch.setattr(kernels, "ENABLED", True)
    assert kernels.enabled()
    monkeypatch.setattr(minigrad.fast_path, "_enabled", False)  # minigrad.set_fast_kernels(False)
    assert not kernels.enabled()
    monkeypatch.setattr(minigrad.fast_path, "_enabled", True)
    calls = []
    kernel = kernels.layer_norm_forward
    for name in ("serial", "parallel"):
        original = getattr(kernel, name)
        monkeypatch.setattr(kernel, name,
                            lambda *args, name=name, original=original: calls.append(name) or original(*args))
    F.layer_norm(minigrad.tensor(numpy.ones((2, 3)), backend="numpy"), 3)
    assert calls == [build]
    monkeypatch.setattr(kernels, "ENABLED", False)
    F.layer_norm(minigrad.tensor(numpy.ones((2, 3)), backend="numpy"), 3)
    assert calls == [build]


def test_only_plain_float32_or_float64_arrays_of_one_dtype_take_the_kernels(monkeypatch):
    monkeypatch.setattr(kernels, "ENABLED", True)

    class Subclass(numpy.ndarray):
        pass

    assert kernels.usable(numpy.ones(4, numpy.float32), numpy.ones(4, numpy.float32))
    assert kernels.usable(numpy.ones(4, numpy.float64))
    assert not kernels.usable(numpy.ones(4, numpy.float16))
    assert not kernels.usable(numpy.ones(4, numpy.int64))
    assert not kernels.usable(numpy.ones(4, numpy.float32), numpy.ones(4, numpy.float64))
    assert not kernels.usable(numpy.ones(4).view(Subclass))
    monkeypatch.setattr(kernels, "ENABLED", False)
    assert not kernels.usable(numpy.ones(4, numpy.float32))


def test_the_size_picks_the_build_and_the_number_of_partial_sums():
    threshold = kernels.PARALLEL_MIN_ELEMENTS
    assert threshold == 1 << 18
    assert kernels.runs_in_parallel(threshold) and not kernels.runs_in_parallel(threshold - 1)
    assert kernels.sum_chunks(threshold) == kernels.SUM_CHUNKS and kernels.sum_chunks(threshold - 1) == 1


def test_the_two_builds_are_separate_compilations():
    """Different names, so that numba's on-disk cache keeps them apart, and only one of them parallel."""
    for kernel in (kernels.layer_norm_forward, kernels.layer_norm_backward, kernels.batch_norm_backward):
        assert kernel.serial.py_func.__qualname__ != kernel.parallel.py_func.__qualname__
        assert kernel.parallel.targetoptions.get("parallel")
        assert not kernel.serial.targetoptions.get("parallel")


def test_the_parallel_build_gives_the_same_bits_on_any_number_of_threads(monkeypatch):
    numba = kernels.numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread on this machine")
    monkeypatch.setattr(kernels, "ENABLED", True)
    rng = numpy.random.default_rng(4)
    x, grad_output = (rng.standard_normal((512, 512)).astype(numpy.float32) for _ in range(2))
    weight = rng.standard_normal(512).astype(numpy.float32)
    results = []
    threads_before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            for function in (lambda x, w: F.layer_norm(x, 512, w), lambda x, w: F.batch_norm(x, None, None, w,
                                                                                               training=True)):
                leaves = [minigrad.tensor(a, requires_grad=True, backend="numpy") for a in (x, weight)]
                output = function(*leaves)
                output.backward(minigrad.tensor(grad_output, backend="numpy"))
                results.append([output.detach().numpy(), leaves[0].grad.numpy(), leaves[1].grad.numpy()])
    finally:
        numba.set_num_threads(threads_before)
    half = len(results) // 2
    for one_thread, two_threads in zip(results[:half], results[half:]):
        for a, b in zip(one_thread, two_threads):
            assert numpy.array_equal(a, b)


def test_gradcheck_through_the_compiled_path(build, monkeypatch):
    monkeypatch.setattr(kernels, "ENABLED", True)
    rng = numpy.random.default_rng(3)

    def leaf(shape):
        return minigrad.tensor(rng.standard_normal(shape), requires_grad=True, backend="numpy")

    assert minigrad.gradcheck(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), [leaf((2, 3, 4)), leaf((3, 4)),
                                                                             leaf((3, 4))])
    assert minigrad.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                              [leaf((6, 3, 2)), leaf((3,)), leaf((3,))])
    assert minigrad.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                              [leaf((7, 3)), leaf((3,)), leaf((3,))])


@pytest.mark.parametrize("layer", ["layer_norm", "batch_norm"])
def test_float32_large_mean_normalizes_to_unit_variance(build, monkeypatch, layer):
    """Mean 1e4 and std 1e-2 in float32 (float32's spacing near 1e4 is 1e-3): the float64 sums keep it exact."""
    monkeypatch.setattr(kernels, "ENABLED", True)
    rng = numpy.random.default_rng(0)
    x = (1e4 + 1e-2 * rng.standard_normal((64, 1024))).astype(numpy.float32)
    if layer == "layer_norm":
        output, axis = F.layer_norm(minigrad.tensor(x, backend="numpy"), 1024, eps=1e-12), 1
    else:
        output, axis = F.batch_norm(minigrad.tensor(x, backend="numpy"), None, None, training=True, eps=1e-12), 0
    output = output.detach().numpy().astype(numpy.float64)
    assert numpy.all(numpy.abs(output.var(axis=axis) - 1) < 1e-4)
    assert numpy.all(numpy.abs(output.mean(axis=axis)) < 1e-4)


def test_a_constant_row_with_eps_zero_gives_nan_as_numpy_does(build, monkeypatch):
    """0/0 in the compiled loop is a NaN, as in NumPy, and not a Python ZeroDivisionError."""
    x = minigrad.tensor(numpy.zeros((3, 4)), backend="numpy")
    with numpy.errstate(divide="ignore", invalid="ignore"):
        monkeypatch.setattr(kernels, "ENABLED", False)
        expected = F.layer_norm(x, 4, eps=0.0).numpy()
        monkeypatch.setattr(kernels, "ENABLED", True)
        actual = F.layer_norm(x, 4, eps=0.0).numpy()
    assert numpy.isnan(expected).all() and numpy.isnan(actual).all()


def test_the_environment_variable_turns_the_kernels_off_in_a_new_process():
    import os
    import subprocess
    import sys
    code = "from minigrad.nn.ops.fast import kernels; print(kernels.enabled())"
    for value, expected in (("0", "False"), ("1", "True")):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env={**os.environ, "MINIGRAD_NUMBA": value, "MINIGRAD_FAST": "1"})
        assert result.stdout.strip() == expected


@pytest.mark.parametrize("layer", ["layer_norm", "batch_norm"])
def test_nan_and_infinity_come_out_where_the_numpy_path_puts_them(build, monkeypatch, layer):
    """The fast-math flags given to the compiler allow reordering sums, not assuming finite numbers: a NaN or an
    infinity in x spreads to the same outputs and gradients as in NumPy."""
    rng = numpy.random.default_rng(5)
    x = rng.standard_normal((6, 5))
    x[1, 2] = numpy.nan
    x[3, 0] = numpy.inf
    grad_output = rng.standard_normal((6, 5))

    def function(x, running):
        if layer == "layer_norm":
            return F.layer_norm(x, 5)
        return F.batch_norm(x, None, None, training=True)

    with numpy.errstate(invalid="ignore", over="ignore"):
        reference = _run(monkeypatch, False, function, [x, grad_output])
        compiled = _run(monkeypatch, True, function, [x, grad_output])
    for actual, expected in zip(compiled, reference):
        assert numpy.isnan(expected).any()
        assert numpy.array_equal(numpy.isnan(actual), numpy.isnan(expected))
        assert numpy.array_equal(numpy.isinf(actual), numpy.isinf(expected))
        finite = numpy.isfinite(expected)
        assert_close(actual[finite], expected[finite], atol=1e-12)

