"""The compiled LayerNorm/BatchNorm loops (minigrad.nn.ops.fast.kernels) against the blocked NumPy classes.

Each case runs the same functional twice, with the kernels' switch off (``ENABLED = False``, what MINIGRAD_NUMBA=0
sets: BlockedLayerNorm or BlockedBatchNorm) and on (NumbaLayerNorm or NumbaBatchNorm), on the NumPy backend
whatever MINIGRAD_BACKEND says, and compares the output, every gradient and the running statistics: to 1e-12 in
float64 and 1e-5 in float32. Gradcheck, NaN and
infinity, and the float32 large-mean accuracy run on the compiled path. The tests that take the ``build`` fixture
run once in the calling thread alone and once cut into chunks on the kernels' thread pool.
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
    """Run a test in the calling thread alone (one chunk) and on the thread pool: chunks normally start at
    PARALLEL_MIN_ELEMENTS elements of about ELEMENTS_PER_CHUNK each, and these tests reach them with small arrays
    by lowering both (so there are more chunks than rows, and some chunks are empty), on two threads even on a
    one-CPU machine."""
    if request.param == "parallel":
        monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 0)
        monkeypatch.setattr(kernels, "ELEMENTS_PER_CHUNK", 1)
        threads_before = kernels.get_num_threads()
        kernels.set_num_threads(2)
        yield request.param
        kernels.set_num_threads(threads_before)
    else:
        monkeypatch.setattr(kernels, "PARALLEL_MIN_ELEMENTS", 1 << 62)
        yield request.param


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
    chunk_counts = []
    real_parallel_for = kernels.parallel_for
    monkeypatch.setattr(kernels, "parallel_for",
                        lambda kernel, chunks, *args: chunk_counts.append(chunks) or real_parallel_for(kernel, chunks,
                                                                                                     *args))
    F.layer_norm(minigrad.tensor(numpy.ones((2, 3)), backend="numpy"), 3)
    assert len(chunk_counts) == 1 and (chunk_counts[0] == 1) == (build == "serial")
    monkeypatch.setattr(kernels, "ENABLED", False)
    F.layer_norm(minigrad.tensor(numpy.ones((2, 3)), backend="numpy"), 3)
    assert len(chunk_counts) == 1


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


def test_the_size_alone_picks_the_number_of_chunks():
    threshold = kernels.PARALLEL_MIN_ELEMENTS
    assert threshold == 1 << 18
    assert kernels.runs_in_parallel(threshold) and not kernels.runs_in_parallel(threshold - 1)
    assert kernels.chunk_count(threshold - 1) == 1
    assert kernels.chunk_count(threshold) == threshold // kernels.ELEMENTS_PER_CHUNK
    assert kernels.chunk_count(4096 * 1024) == kernels.MAX_CHUNKS == kernels.chunk_count(1 << 40)
    assert kernels.chunk_count(1 << 40, kernels.MAX_CHUNKS_WITH_PARTIAL_SUMS) == kernels.MAX_CHUNKS_WITH_PARTIAL_SUMS


def test_the_thread_count_follows_the_affinity_and_the_cgroup_quota(tmp_path, monkeypatch):
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")
    assert kernels._cgroup_cpu_quota(quota) == 1.5
    quota.write_text("max 100000\n")
    assert kernels._cgroup_cpu_quota(quota) is None
    assert kernels._cgroup_cpu_quota(tmp_path / "missing") is None
    monkeypatch.setattr(kernels, "_cgroup_cpu_quota", lambda: 1.5)
    monkeypatch.setattr(kernels.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7}, raising=False)
    assert kernels.usable_cpus() == 2  # 1.5 CPUs' worth of time: two threads, not eight
    monkeypatch.setattr(kernels, "_cgroup_cpu_quota", lambda: None)
    assert kernels.usable_cpus() == 8
    monkeypatch.setattr(kernels.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert kernels.usable_cpus() == 1
    with pytest.raises(ValueError):
        kernels.set_num_threads(0)
    monkeypatch.setattr(kernels.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    for value, expected in (("1", 1), ("3", 3), ("16", 4), ("", 4), ("0", 4), ("many", 4), ("2,1", 2)):
        monkeypatch.setenv("OMP_NUM_THREADS", value)
        assert kernels.default_thread_count() == expected, value


def _large_layer_and_batch_norms(seed=4):
    """LayerNorm and BatchNorm forward + backward at 512x512 float32 (the size where chunks start): outputs and
    the gradients of x and gamma."""
    rng = numpy.random.default_rng(seed)
    x, grad_output = (rng.standard_normal((512, 512)).astype(numpy.float32) for _ in range(2))
    weight = rng.standard_normal(512).astype(numpy.float32)
    results = []
    for function in (lambda x, w: F.layer_norm(x, 512, w),
                     lambda x, w: F.batch_norm(x, None, None, w, training=True)):
        leaves = [minigrad.tensor(a, requires_grad=True, backend="numpy") for a in (x, weight)]
        output = function(*leaves)
        output.backward(minigrad.tensor(grad_output, backend="numpy"))
        results.append([output.detach().numpy(), leaves[0].grad.numpy(), leaves[1].grad.numpy()])
    return results


def test_the_pool_gives_the_same_bits_on_any_number_of_threads(monkeypatch):
    monkeypatch.setattr(kernels, "ENABLED", True)
    threads_before = kernels.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            kernels.set_num_threads(threads)
            results.append(_large_layer_and_batch_norms())
    finally:
        kernels.set_num_threads(threads_before)
    for other in results[1:]:
        for expected_arrays, actual_arrays in zip(results[0], other):
            for expected, actual in zip(expected_arrays, actual_arrays):
                assert numpy.array_equal(expected, actual)


def test_calls_from_several_python_threads_at_once_each_get_their_own_result(monkeypatch):
    import threading
    monkeypatch.setattr(kernels, "ENABLED", True)
    expected = _large_layer_and_batch_norms(seed=7)
    results, errors = [None] * 4, []

    def run(index):
        try:
            results[index] = _large_layer_and_batch_norms(seed=7)
        except Exception as error:  # reported below, in the test's own thread
            errors.append(error)
    threads = [threading.Thread(target=run, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    for result in results:
        for expected_arrays, actual_arrays in zip(expected, result):
            for a, b in zip(expected_arrays, actual_arrays):
                assert numpy.array_equal(a, b)


def _thread_cpu_seconds(native_id):
    """CPU time (user + system) of one thread of this process so far, from /proc (Linux)."""
    import os
    with open(f"/proc/self/task/{native_id}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_pools_idle_threads_sleep_instead_of_spinning(monkeypatch):
    """After a parallel kernel, the pool's threads wait without using the CPU (an OpenMP pool's threads spin for a
    while, which on a busy machine takes CPU time from everyone)."""
    import os
    import threading
    import time
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("needs Linux's /proc")
    threads_before = kernels.get_num_threads()
    kernels.set_num_threads(3)
    try:
        monkeypatch.setattr(kernels, "ENABLED", True)
        _large_layer_and_batch_norms()
        executor = kernels._pool.executor()
        worker_ids = {executor.submit(threading.get_native_id).result() for _ in range(8)}
        _large_layer_and_batch_norms()
        before = {tid: _thread_cpu_seconds(tid) for tid in worker_ids}
        time.sleep(0.5)
        used = sum(_thread_cpu_seconds(tid) - before[tid] for tid in worker_ids)
    finally:
        kernels.set_num_threads(threads_before)
    assert worker_ids and used < 0.05  # a spinning thread would use about 0.5 s here


def test_the_pool_works_in_a_child_process_after_fork(monkeypatch):
    import os
    import signal
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(kernels, "ENABLED", True)
    expected = _large_layer_and_batch_norms()  # the parent's pool has started its threads
    pid = os.fork()
    if pid == 0:  # the child: threads do not survive fork, so the pool must start new ones
        signal.alarm(60)  # a hang ends the child instead of the test run
        same = False
        try:
            actual = _large_layer_and_batch_norms()
            same = all(numpy.array_equal(a, b) for e, r in zip(expected, actual) for a, b in zip(e, r))
        finally:
            os._exit(0 if same else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


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


@pytest.mark.parametrize("layer", ["layer_norm", "batch_norm"])
def test_float32_large_mean_backward_matches_float64(build, monkeypatch, layer):
    """The compiled LayerNorm and BatchNorm do their per-element arithmetic in float32; for mean 1e4 and std 1e-2
    the float32 mean alone is off by up to half a spacing (5e-4, a twentieth of the spread), so y, xhat and dL/dx
    would be off by about 5%: the kernels must keep the mean's low part (y and dL/dx within 1e-5 of the float64
    plain class here)."""
    monkeypatch.setattr(kernels, "ENABLED", True)
    rng = numpy.random.default_rng(1)
    x = (1e4 + 1e-2 * rng.standard_normal((64, 1024))).astype(numpy.float32)
    dy = rng.standard_normal(x.shape).astype(numpy.float32)
    results = []
    for data, upstream in ((x, dy), (x.astype(numpy.float64), dy.astype(numpy.float64))):
        leaf = minigrad.tensor(data, backend="numpy", requires_grad=True)
        if layer == "layer_norm":
            output = F.layer_norm(leaf, 1024, eps=1e-12)
        else:
            output = F.batch_norm(leaf, None, None, training=True, eps=1e-12)
        assert output.grad_fn.name.startswith("Numba") == (data.dtype == numpy.float32)
        output.backward(minigrad.tensor(upstream, backend="numpy"))
        results.append([output.detach().numpy().astype(numpy.float64), leaf.grad.numpy().astype(numpy.float64)])
        monkeypatch.setattr(minigrad.fast_path, "_enabled", False)  # the float64 reference: the plain class
    for compiled, plain in zip(*results):
        assert numpy.abs(compiled - plain).max() < 1e-5 * numpy.abs(plain).max()


def test_float32_dgamma_and_dbeta_of_a_tall_array_keep_their_digits(build, monkeypatch):
    """65536 rows summed into one dL/dgamma and dL/dbeta per feature: a float32 running sum would lose about a
    digit every few thousand rows, so the compiled backward sums only blocks of rows in float32 and the blocks in
    float64 (within 1e-6 of the float64 plain class here; a single float32 sum per chunk misses that)."""
    monkeypatch.setattr(kernels, "ENABLED", True)
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal((65536, 8)).astype(numpy.float32)
    dy = (0.3 + rng.standard_normal(x.shape)).astype(numpy.float32)
    weight = (1 + 0.1 * rng.standard_normal(8)).astype(numpy.float32)
    results = []
    for dtype in (numpy.float32, numpy.float64):
        leaves = [minigrad.tensor(a.astype(dtype), backend="numpy", requires_grad=True) for a in (x, weight, weight)]
        output = F.layer_norm(leaves[0], 8, leaves[1], leaves[2])
        assert output.grad_fn.name.startswith("Numba") == (dtype == numpy.float32)
        output.backward(minigrad.tensor(dy.astype(dtype), backend="numpy"))
        results.append([leaf.grad.numpy().astype(numpy.float64) for leaf in leaves[1:]])
        monkeypatch.setattr(minigrad.fast_path, "_enabled", False)  # the float64 reference: the plain class
    for compiled, plain in zip(*results):
        assert numpy.abs(compiled - plain).max() < 1e-6 * numpy.abs(plain).max()


@pytest.mark.parametrize("first_row", ["typical", "far out"])
def test_batch_norm_statistics_in_one_pass_keep_float64_digits(build, monkeypatch, first_row):
    """The compiled statistics sum x - p and (x - p)^2 with p the first row; a first row 1e7 standard deviations
    away (here 4095 variances: 1e-11 of the variance lost) takes the two-pass variance instead (the running variance
    and the output within 1e-12 of the plain class either way)."""
    monkeypatch.setattr(kernels, "ENABLED", True)
    rng = numpy.random.default_rng(4)
    x = 3.0 + rng.standard_normal((4096, 2))
    if first_row == "far out":
        x[0] = 1e7
    results = []
    for fast in (True, False):
        monkeypatch.setattr(minigrad.fast_path, "_enabled", fast)
        running_mean, running_var = minigrad.zeros(2, dtype=minigrad.float64), minigrad.ones(2, dtype=minigrad.float64)
        output = F.batch_norm(minigrad.tensor(x, backend="numpy"), running_mean, running_var, training=True,
                              momentum=1.0)
        assert output.grad_fn is None or output.grad_fn.name.startswith("Numba") == fast
        results.append([output.numpy(), running_mean.numpy(), running_var.numpy()])
    for actual, expected in zip(*results):
        assert_close(actual, expected, atol=1e-12, rtol=1e-12)


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

