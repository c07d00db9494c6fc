"""Compiled per-row loops for LayerNorm and BatchNorm on the CPU (optional, through numba).

The formulas are those derived in :mod:`minigrad.nn.ops.layer_norm` and :mod:`minigrad.nn.ops.batch_norm`, whose
plain classes stay the readable reference and the path for every other backend; the classes that call these
loops are in :mod:`minigrad.nn.ops.fast.compiled`:

    mu = mean(x),  var = mean((x - mu)^2),  r = (var + eps)^(-1/2),  xhat = (x - mu) r,  y = gamma xhat + beta
    g = dL/dy * gamma,   dL/dx = r (g - mean(g) - xhat mean(g xhat))

Why compiled loops at all: NumPy evaluates a formula one operation at a time, and each operation is a pass over
memory (blocking the rows keeps the intermediates in cache, but every pass still costs a trip through the data and
a Python-level call per block). A loop over one row does the whole formula while the row sits in the L1 cache,
so main memory sees only the reads of x (and dy) and the writes of the results, about the bandwidth bound.

Accuracy: the statistics of forward are accumulated in float64: LayerNorm's variance is the two-pass mean of
(x - mu)^2 with mu in float64 (the row is in L1, so the second pass costs no memory traffic), BatchNorm's a
one-pass sum of squares about a shift, with the two-pass formula where the shift is far out (see
batch_norm_statistics). For float32 data with mean 1e4 and std 1e-2 the float64 mean is exact to far below the
spread, so no correction pass is needed (the NumPy formulas, which sum in the data's dtype, need their corrected
two-pass).

Arithmetic in the data's dtype (the LayerNorm loops): the per-element work (x - mu, times r, times gamma, dy times
xhat, dL/dx) is done in x's dtype, and only forward's statistics are summed in float64. For float32 data that
doubles the elements per vector instruction and drops a conversion per element; the per-element results are
float32 anyway. Backward's sums (over a row for mean(g) and mean(g xhat), over blocks of 32 rows for dgamma and
dbeta) are in x's dtype as well, as the plain class's and PyTorch's are, and only the blocks are added in float64,
so that a tall array's dgamma does not lose digits with every row; its terms are gradients, not x, so no large
mean of x cancels in them.
The one step where float32 would lose accuracy is x - mu for data whose mean float32 cannot hold to within its
spread (mean 1e4, std 1e-2): mu is kept as two float32 numbers, high + low, and x - mu is (x - high) - low, where
x - high is exact for x near the mean (see _split_center). The compiler's reassociation freedom (below) does not
merge the two subtractions here, and a test on such data fails if it does. BatchNorm's sums keep float64
arithmetic (they go into float64 rows of partial sums element by element, and measured slower in float32); its two
per-element loops, y and dL/dx, work in x's dtype as LayerNorm's do, from per-channel constants rounded to it and
the mean split the same way: for float32 at 4096x1024, 0.96-1.0 ms against 1.06-1.35 for y, 1.37-1.52 against
1.96-2.29 for dL/dx.

What is saved for backward: x itself (the caller's array, alive anyway) and mu and r in float64, one number per
row or channel; backward recomputes xhat = (x - mu) r as it reads x, as PyTorch's kernels do. Forward then writes
only y, and the call holds one x-sized array less (y and dL/dx instead of xhat, y and dL/dx); recomputing xhat is
one subtraction and one multiplication per element, which a loop that waits for memory does for free.

Threads. A kernel works on a range of rows: ``kernel(..., chunk, chunks)`` does chunk number `chunk` of `chunks`
equal slices of the rows. Arrays of fewer than PARALLEL_MIN_ELEMENTS elements are one chunk, done in the calling
thread (starting threads for a small array costs more than the work). Larger ones are cut into a number of chunks
fixed by the size alone (see chunk_count), and :func:`parallel_for` hands them out to minigrad's own pool of
threads, each taking the next chunk when it is done with one, the calling thread among them. The kernels are
compiled with ``nogil=True``, so the threads run them at the same time. Why a pool of our own and not numba's
``prange``:

- numba's default threading layer on Linux is OpenMP, whose idle threads keep spinning on the CPU after every
  parallel loop (libgomp's default wait policy) and share out the rows in equal fixed parts. On a machine whose
  cores are busy with other work, the spinning threads take CPU time from the work and from the calling thread,
  and a fixed part waits for a thread that is not running: the parallel loop becomes several times slower than
  the serial one (minigrad/bench/README.md has the measurements). The pool's idle threads sleep, and a thread
  that does not get a core leaves its chunks to the others.
- numba's pool is one per process and its threading layer is chosen once for everyone in it (PyTorch brings a
  second OpenMP runtime of its own); the pool here affects no other library's code.
- It uses as many threads as this process may actually use: the CPUs of its affinity mask, and no more than a
  container's CPU quota (a class JupyterHub gives each student a share of a large machine through that quota,
  and os.cpu_count() would count every core of the host), or fewer if ``OMP_NUM_THREADS`` says so. See
  usable_cpus and default_thread_count.

Each chunk of BatchNorm's per-channel sums (and of LayerNorm's dgamma and dbeta) sums into its own float64 row of
partial sums, and the partials are added in a fixed order, so the result does not depend on the thread count or on
which thread did which chunk.

Switch: set the environment variable ``MINIGRAD_NUMBA=0`` before minigrad.nn is imported to turn these loops off
(tests set ``ENABLED`` instead); ``minigrad.set_fast_kernels(False)`` turns off every fast class. Without numba
installed (``pip install minigrad[fast]``) the loops are never used.
"""

import itertools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from minigrad.fast_path import fast_kernels_enabled

try:
    import numba
except ImportError:  # the optional extra is not installed: the NumPy path is used
    numba = None


# The switch, read once when this module is imported (with minigrad.nn): reading the environment on every call
# would cost a sizeable part of a small LayerNorm kernel. Tests set this attribute to compare the paths.
ENABLED = os.environ.get("MINIGRAD_NUMBA", "1") != "0"


def enabled():
    """True when the compiled kernels may be used: numba imports, MINIGRAD_NUMBA was not "0" and the fast path is
    on (:func:`minigrad.set_fast_kernels`)."""
    return numba is not None and ENABLED and fast_kernels_enabled()


# From this many elements on, a kernel's rows are cut into several chunks that run on the thread pool; below it,
# the kernel runs as one chunk in the calling thread. For a small array, waking threads costs more than the work:
# an RNN step makes many 32x128 LayerNorm calls.
PARALLEL_MIN_ELEMENTS = 1 << 18

# Elements per chunk on the pool: a chunk is one call into compiled code (a few microseconds to start), and small
# enough that a thread that loses its core for a while holds up only a little of the work. A kernel that sums
# over rows (LayerNorm's dgamma and dbeta, BatchNorm's statistics) keeps a float64 row of partial sums per chunk
# and takes fewer, larger chunks: 64 chunks of partials for two 1024-wide sums are 1 MiB, more than the rest of a
# 4096x1024 call adds to PyTorch's peak memory.
ELEMENTS_PER_CHUNK = 1 << 16
MAX_CHUNKS = 64
MAX_CHUNKS_WITH_PARTIAL_SUMS = 16
ADD_MAX_CHUNKS = 16  # add_in_place's chunks: NumPy additions called from Python, not compiled loops


def runs_in_parallel(size):
    """Whether a kernel on an array of `size` elements is cut into chunks for the thread pool."""
    return size >= PARALLEL_MIN_ELEMENTS


def chunk_count(size, most=None):
    """How many chunks a kernel on an array of `size` elements cuts its rows into: 1 below PARALLEL_MIN_ELEMENTS,
    else about one per ELEMENTS_PER_CHUNK elements, at most `most` (MAX_CHUNKS by default). The count depends on
    the size alone, never on the number of threads, so a given input always gives the same bits."""
    if not runs_in_parallel(size):
        return 1
    return max(2, min(MAX_CHUNKS if most is None else most, size // ELEMENTS_PER_CHUNK))


# Floating-point freedoms given to the compiler: "reassoc" lets it split a sum such as sum_j x_j into several
# running partial sums (the vector lanes of the CPU) added at the end, and "contract" lets it fuse a * b + c into
# one instruction. Without them each sum is one long chain of dependent additions, which the CPU cannot overlap
# (minigrad/bench/README.md has the timing). The sums are still accumulated in float64, so the result moves
# only in the last bits, as any change of summation order does (BLAS and NumPy's pairwise sums change it too).
# The other fast-math flags (no NaN, no infinity) are not given: a NaN in x must still come out as a NaN.
FASTMATH = {"reassoc", "contract"}


def usable(*arrays):
    """True when the compiled kernels may run on these arrays: they are enabled (see enabled) and the arrays
    suit them (see suits)."""
    return enabled() and suits(*arrays)


# The dtypes the kernels are compiled for. suits() runs on every layer call: a dtype compared with a dtype (`in`
# tests identity first) costs a third of one compared with a type such as np.float32, which NumPy converts first.
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def suits(*arrays):
    """True when every array is a plain NumPy float32/float64 array of one dtype (contiguity is fixed by callers).
    None entries after the first (a layer without a gain or a shift) are skipped."""
    dtype = arrays[0].dtype
    if dtype not in KERNEL_DTYPES:
        return False
    for array in arrays:
        if array is not None and (type(array) is not np.ndarray or array.dtype is not dtype and array.dtype != dtype):
            return False
    return True


def _jit(function):
    """Compile `function` with numba: cached on disk, the floating-point freedoms above, NumPy's error model (a
    division by zero gives inf or nan as in NumPy: a constant row with eps = 0 is 0/0, where numba's default raises
    ZeroDivisionError as Python would), and without the GIL, so that the pool's threads run it at the same time.
    Without numba the kernels are never called, so they are left as Python."""
    if numba is None:
        return function
    return numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy", nogil=True)(function)


@_jit
def _chunk_range(total, chunk, chunks):
    """The slice (start, stop) of range(total) that chunk number `chunk` of `chunks` equal parts covers."""
    per_chunk = (total + chunks - 1) // chunks
    return min(total, chunk * per_chunk), min(total, (chunk + 1) * per_chunk)


@_jit
def _split_center(x, mu):
    """The float64 center mu as two numbers of x's dtype, high + low, so that (x - high) - low is x - mu rounded
    about once in x's dtype (x - high is exact for x near mu), even where float32 cannot hold mu itself: for data
    with mean 1e4 and std 1e-2, float32(mu) alone is off by up to 5e-4, a twentieth of the spread."""
    high = x.dtype.type(mu)
    return high, x.dtype.type(mu - high)


# --- the thread pool -------------------------------------------------------------------------------------------

def usable_cpus():
    """The number of CPUs this process may use: those in its affinity mask (``taskset``, a batch scheduler), and
    no more than its cgroup's CPU quota rounded up (``docker --cpus``, Kubernetes limits, JupyterHub's
    ``cpu_limit``: the cores are all visible, but the process only gets that much time on them)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cpus, math.ceil(quota))) if quota else cpus


def _cgroup_cpu_quota(path="/sys/fs/cgroup/cpu.max"):
    """CPUs' worth of time allowed by the cgroup v2 quota ("quota period" in cpu.max), or None if unlimited."""
    try:
        with open(path) as handle:
            quota, period = handle.read().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def default_thread_count():
    """usable_cpus(), or fewer where ``OMP_NUM_THREADS`` asks for fewer: the variable that PyTorch's and the BLAS
    libraries' pools read, set to share a machine between processes (a test runner's workers, a batch job)."""
    requested = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    cpus = usable_cpus()
    return min(cpus, int(requested)) if requested.isdigit() and int(requested) > 0 else cpus


class _ThreadPool:
    """Worker threads that sleep while idle, started on first use and again in a child after ``fork`` (threads do
    not survive a fork)."""

    def __init__(self):
        self.threads = default_thread_count()
        self._executor = None
        self._pid = None
        self._lock = threading.Lock()

    def executor(self):
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                self._executor = ThreadPoolExecutor(max(1, self.threads - 1), thread_name_prefix="minigrad-kernel")
                self._pid = os.getpid()
            return self._executor


_pool = _ThreadPool()


def get_num_threads():
    """How many threads a large kernel runs on (the calling thread included)."""
    return _pool.threads


def set_num_threads(count):
    """Run large kernels on `count` threads (the calling thread included); the default is default_thread_count()."""
    if count < 1:
        raise ValueError(f"the number of threads must be at least 1, not {count}")
    with _pool._lock:
        if _pool._executor is not None:
            _pool._executor.shutdown(wait=False)
        _pool.threads, _pool._executor = int(count), None


def parallel_for(kernel, chunks, *arguments):
    """Run ``kernel(*arguments, chunk, chunks)`` for every chunk in range(chunks), spread over the pool.

    The chunks are handed out one at a time from a shared counter (``next`` on an ``itertools.count`` is atomic
    under the GIL): each thread, the calling one included, takes the next chunk when it has finished one. A
    worker that does not get a CPU for a while (the machine is busy) takes fewer chunks and the others take more;
    no thread waits for a share that was set aside for another."""
    if chunks == 1:  # a small array: the common case of a small model, kept short
        kernel(*arguments, 0, 1)
        return
    helpers = min(_pool.threads, chunks) - 1
    if helpers <= 0:
        for chunk in range(chunks):
            kernel(*arguments, chunk, chunks)
        return
    next_chunks = itertools.count()

    def work():
        for chunk in next_chunks:
            if chunk >= chunks:
                return
            kernel(*arguments, chunk, chunks)

    executor = _pool.executor()
    started = [executor.submit(work) for _ in range(helpers)]
    work()
    for future in started:
        # every chunk has been taken: a helper that has not started yet (its thread is still waiting for a CPU)
        # is cancelled, not waited for; one that has is waited for, and its exception, if any, re-raised here
        if not future.cancel():
            future.result()


def add_in_place(target, addend):
    """target += addend for C-contiguous NumPy arrays of one shape and dtype, in chunks of elements on the pool
    (each chunk one NumPy addition, which runs without the GIL); for minigrad.fast_path.add_in_place. Fewer, larger
    chunks than a kernel's: each costs a few microseconds of Python around an addition that takes a few tens."""
    parallel_for(_add_chunk, chunk_count(target.size, ADD_MAX_CHUNKS), target.reshape(-1), addend.reshape(-1))


def _add_chunk(target, addend, chunk, chunks):
    start, stop = _chunk_range(target.size, chunk, chunks)
    part = target[start:stop]
    np.add(part, addend[start:stop], out=part)


@_jit
def times_through_float64(values, factor, out):
    """out = values * factor for 1-D arrays of one dtype, each product taken in float64 and rounded once to the
    dtype (for minigrad.nn.ops.fast.subnormal: float32 subnormals are normal in float64); returns whether every
    entry of out is finite."""
    finite = True
    for i in range(values.size):
        product = out.dtype.type(np.float64(values[i]) * factor)
        out[i] = product
        finite &= np.isfinite(product)
    return finite


# --- LayerNorm: x as (rows, m), one group per row ------------------------------------------------------------------

@_jit
def _layer_norm_forward(x, weight, bias, eps, mean, inv_std, output, chunk, chunks):
    rows, m = x.shape
    start, stop = _chunk_range(rows, chunk, chunks)
    for i in range(start, stop):
        total = 0.0  # a float64 accumulator, whatever the dtype of x
        for j in range(m):
            total += x[i, j]
        mu = total / m
        squares = 0.0
        for j in range(m):
            centered = x[i, j] - mu
            squares += centered * centered
        r = 1.0 / np.sqrt(squares / m + eps)
        mean[i] = mu
        inv_std[i] = r
        mu_high, mu_low = _split_center(x, mu)
        r_x = x.dtype.type(r)
        for j in range(m):
            output[i, j] = ((x[i, j] - mu_high) - mu_low) * r_x * weight[j] + bias[j]


def layer_norm_forward(x, weight, bias, eps, mean, inv_std, output):
    """Per row: mu, the two-pass var and r, into `mean` and `inv_std` (float64); y = gamma xhat + beta into
    `output` (weight = 1 and bias = 0 where the layer has none)."""
    parallel_for(_layer_norm_forward, chunk_count(x.size), x, weight, bias, eps, mean, inv_std, output)


# Rows of LayerNorm's backward whose dL/dgamma and dL/dbeta terms are summed in x's dtype before they are added
# to the chunk's float64 partial sums (see _layer_norm_backward).
BACKWARD_ROWS_PER_BLOCK = 32


@_jit
def _layer_norm_backward(grad_output, weight, x, mean, inv_std, grad_x, accumulate, partials, chunk, chunks):
    rows, m = x.shape
    start, stop = _chunk_range(rows, chunk, chunks)
    partial_weight, partial_bias = partials[0, chunk], partials[1, chunk]
    # dgamma and dbeta over a block of rows, in x's dtype: a float64 row of partials updated for every element
    # costs a conversion and a float64 operation each, most of this kernel's time for float32 data
    block_weight, block_bias = np.zeros(m, x.dtype), np.zeros(m, x.dtype)
    count_m = x.dtype.type(m)
    for block_start in range(start, stop, BACKWARD_ROWS_PER_BLOCK):
        for i in range(block_start, min(stop, block_start + BACKWARD_ROWS_PER_BLOCK)):
            mu_high, mu_low = _split_center(x, mean[i])
            r = x.dtype.type(inv_std[i])
            sum_g = x.dtype.type(0.0)  # the row's sums in x's dtype too, as in the plain class
            sum_g_xhat = x.dtype.type(0.0)
            for j in range(m):
                dy = grad_output[i, j]
                xhat = ((x[i, j] - mu_high) - mu_low) * r
                block_weight[j] += dy * xhat
                block_bias[j] += dy
                g = dy * weight[j]
                sum_g += g
                sum_g_xhat += g * xhat
            mean_g, mean_g_xhat = sum_g / count_m, sum_g_xhat / count_m
            for j in range(m):
                xhat = ((x[i, j] - mu_high) - mu_low) * r
                value = r * (grad_output[i, j] * weight[j] - mean_g - xhat * mean_g_xhat)
                if accumulate:  # the same for the whole loop: the compiler makes two loops of it
                    grad_x[i, j] += value
                else:
                    grad_x[i, j] = value
        for j in range(m):
            partial_weight[j] += block_weight[j]
            partial_bias[j] += block_bias[j]
            block_weight[j] = 0.0
            block_bias[j] = 0.0


def layer_norm_backward(grad_output, weight, x, mean, inv_std, grad_x, accumulate=False):
    """Per row, with xhat = (x - mu) r recomputed and g = dL/dy * gamma: dL/dx = r (g - mean(g) - xhat mean(g xhat)),
    into `grad_x` (added to it with `accumulate`).

    The same pass over dy and x also gathers dL/dgamma = sum over rows of dL/dy xhat and dL/dbeta = sum over rows
    of dL/dy, returned as (dgamma, dbeta): two passes over memory that NumPy would make separately. They are summed
    in x's dtype over blocks of BACKWARD_ROWS_PER_BLOCK rows, the blocks in float64 per chunk of rows, and the
    chunks in order."""
    chunks = chunk_count(x.size, MAX_CHUNKS_WITH_PARTIAL_SUMS)
    partials = np.zeros((2, chunks, x.shape[1]))  # [0]: of dgamma, [1]: of dbeta (one allocation, for small calls)
    parallel_for(_layer_norm_backward, chunks, grad_output, weight, x, mean, inv_std, grad_x, accumulate, partials)
    return _sum_rows_in_order(partials[0]), _sum_rows_in_order(partials[1])


def _sum_rows_in_order(partials):
    """partials[0] + partials[1] + ..., in that order (a fixed order gives the same bits on any thread count)."""
    total = partials[0]
    if len(partials) > 1:  # one chunk (a small array, every call of an RNN step): its row is the sum
        total = total.copy()
        for row in partials[1:]:
            total += row
    return total


# --- BatchNorm: x as (N, C, L), one group per channel spanning N and L ---------------------------------------------
# Each sum over N and L is gathered per chunk of rows into that chunk's float64 row of partial sums, and the rows
# are added in order. The data is read in memory order, so it is streamed once, not once per channel; with L = 1
# the innermost loop runs over the channels, which vectorizes, and takes four rows at a time: updating a row of
# partial sums (a load and a store per channel) for every element was most of the loop's time, more than reading
# x. Each kernel computes only the sums its caller needs.

@_jit
def _channel_shifted_sums(x, pivot, partial_sum, partial_squares, chunk, chunks):
    n, channels, length = x.shape
    start, stop = _chunk_range(n, chunk, chunks)
    sum_row, squares_row = partial_sum[chunk], partial_squares[chunk]
    if length == 1:
        i = start
        while i + 4 <= stop:  # four rows at a time: one update of the partial sums per four elements
            for c in range(channels):
                p = pivot[c]
                d0, d1, d2, d3 = x[i, c, 0] - p, x[i + 1, c, 0] - p, x[i + 2, c, 0] - p, x[i + 3, c, 0] - p
                sum_row[c] += (d0 + d1) + (d2 + d3)
                squares_row[c] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
            i += 4
        start = i  # the last rows, fewer than four, one at a time below
    for i in range(start, stop):
        if length == 1:
            for c in range(channels):
                shifted = x[i, c, 0] - pivot[c]
                sum_row[c] += shifted
                squares_row[c] += shifted * shifted
        else:
            for c in range(channels):
                p = pivot[c]
                total = 0.0
                squares = 0.0
                for l in range(length):
                    shifted = x[i, c, l] - p
                    total += shifted
                    squares += shifted * shifted
                sum_row[c] += total
                squares_row[c] += squares


@_jit
def _channel_totals(x, partial, chunk, chunks):
    n, channels, length = x.shape
    start, stop = _chunk_range(n, chunk, chunks)
    row = partial[chunk]
    for i in range(start, stop):
        if length == 1:
            for c in range(channels):
                row[c] += x[i, c, 0]
        else:
            for c in range(channels):
                total = 0.0
                for l in range(length):
                    total += x[i, c, l]
                row[c] += total


@_jit
def _channel_squares(x, mean, partial, chunk, chunks):
    n, channels, length = x.shape
    start, stop = _chunk_range(n, chunk, chunks)
    row = partial[chunk]
    for i in range(start, stop):
        if length == 1:
            for c in range(channels):
                centered = x[i, c, 0] - mean[c]
                row[c] += centered * centered
        else:
            for c in range(channels):
                mu = mean[c]
                total = 0.0
                for l in range(length):
                    centered = x[i, c, l] - mu
                    total += centered * centered
                row[c] += total


@_jit
def _channel_gradient_sums(grad_output, x, mean, inv_std, partial_grad, partial_grad_xhat, chunk, chunks):
    n, channels, length = x.shape
    start, stop = _chunk_range(n, chunk, chunks)
    grad_row, grad_xhat_row = partial_grad[chunk], partial_grad_xhat[chunk]
    if length == 1:
        i = start
        while i + 4 <= stop:  # four rows at a time, as in _channel_shifted_sums
            for c in range(channels):
                mu, r = mean[c], inv_std[c]
                dy0, dy1, dy2, dy3 = (grad_output[i, c, 0], grad_output[i + 1, c, 0], grad_output[i + 2, c, 0],
                                      grad_output[i + 3, c, 0])
                grad_row[c] += (dy0 + dy1) + (dy2 + dy3)
                grad_xhat_row[c] += ((dy0 * ((x[i, c, 0] - mu) * r) + dy1 * ((x[i + 1, c, 0] - mu) * r))
                                     + (dy2 * ((x[i + 2, c, 0] - mu) * r) + dy3 * ((x[i + 3, c, 0] - mu) * r)))
            i += 4
        start = i
    for i in range(start, stop):
        if length == 1:
            for c in range(channels):
                dy = grad_output[i, c, 0]
                grad_row[c] += dy
                grad_xhat_row[c] += dy * ((x[i, c, 0] - mean[c]) * inv_std[c])
        else:
            for c in range(channels):
                mu, r = mean[c], inv_std[c]
                total = 0.0
                total_xhat = 0.0
                for l in range(length):
                    dy = grad_output[i, c, l]
                    total += dy
                    total_xhat += dy * ((x[i, c, l] - mu) * r)
                grad_row[c] += total
                grad_xhat_row[c] += total_xhat


def _channel_partials(kernel, x, *arguments, sums=1):
    """Run a per-channel sum `kernel` over chunks of x's rows; its `sums` sums per channel, as float64 arrays."""
    chunks = chunk_count(x.size, MAX_CHUNKS_WITH_PARTIAL_SUMS)
    partials = [np.zeros((chunks, x.shape[1])) for _ in range(sums)]
    parallel_for(kernel, chunks, *arguments, *partials)
    return [_sum_rows_in_order(partial) for partial in partials]


# batch_norm_statistics takes the two-pass variance for every channel if, in any, the squared distance between the
# mean and the shift exceeds this many variances: the one-pass formula then loses more than two digits of var.
SHIFTED_VARIANCE_LIMIT = 100.0


def batch_norm_statistics(x):
    """mean and biased variance per channel of x (N, C, L), both float64, in one pass over x.

    With a shift p per channel (the channel's first element), the pass sums d = x - p and d^2 in float64, and
    mean = p + mean(d), var = mean(d^2) - mean(d)^2. The subtraction cancels digits in proportion to
    mean(d)^2 / var, which is of order 1 when p is a value of the data: p lies within a few standard deviations of
    the mean. Where the first element is far out (more than SHIFTED_VARIANCE_LIMIT variances; then p + mean(d)
    cancels digits of the mean as well), two more passes compute mean(x) and the two-pass variance
    mean((x - mu)^2), as the plain class does. The one pass reads x once: for a large batch, the two passes were
    half of forward's time, waiting for memory."""
    count = x.shape[0] * x.shape[2]
    pivot = x[0, :, 0].astype(np.float64)
    shifted_sum, shifted_squares = _channel_partials(_channel_shifted_sums, x, x, pivot, sums=2)
    shift = shifted_sum / count
    variance = np.maximum(shifted_squares / count - shift * shift, 0.0)
    mean = pivot + shift
    if np.any(shift * shift > SHIFTED_VARIANCE_LIMIT * variance):
        (total,) = _channel_partials(_channel_totals, x, x)
        mean = total / count
        (squares,) = _channel_partials(_channel_squares, x, x, mean)
        variance = squares / count
    return mean, variance


def batch_norm_gradient_sums(grad_output, x, mean, inv_std):
    """sum(dL/dy) and sum(dL/dy xhat) per channel (float64), xhat = (x - mu) r recomputed: dL/dbeta and
    dL/dgamma, and the two sums of backward."""
    sum_grad, sum_grad_xhat = _channel_partials(_channel_gradient_sums, x, grad_output, x, mean, inv_std, sums=2)
    return sum_grad, sum_grad_xhat


@_jit
def _batch_norm_normalize(x, mu_high, mu_low, inv_std, weight, bias, output, chunk, chunks):
    n, channels, length = x.shape
    start, stop = _chunk_range(n, chunk, chunks)
    for i in range(start, stop):
        if length == 1:  # (N, C): the channel loop innermost, so it vectorizes
            for c in range(channels):
                output[i, c, 0] = ((x[i, c, 0] - mu_high[c]) - mu_low[c]) * inv_std[c] * weight[c] + bias[c]
        else:
            for c in range(channels):
                high, low, r, gamma, beta = mu_high[c], mu_low[c], inv_std[c], weight[c], bias[c]
                for l in range(length):
                    output[i, c, l] = ((x[i, c, l] - high) - low) * r * gamma + beta


def _per_channel(x, mean, *constants):
    """The float64 per-channel mean split into high + low parts of x's dtype (see _split_center), and the other
    per-channel constants rounded to x's dtype: what the per-element loops of BatchNorm compute with."""
    high = mean.astype(x.dtype)
    return (high, (mean - high).astype(x.dtype)) + tuple(constant.astype(x.dtype) for constant in constants)


def batch_norm_normalize(x, mean, inv_std, weight, bias, output):
    """y = gamma (x - mu) r + beta into `output`, from float64 per-channel mu and r, in x's dtype."""
    mu_high, mu_low, r = _per_channel(x, mean, inv_std)
    parallel_for(_batch_norm_normalize, chunk_count(x.size), x, mu_high, mu_low, r, weight, bias, output)


@_jit
def _batch_norm_backward(grad_output, x, mu_high, mu_low, inv_std, scale, mean_grad, mean_grad_xhat, grad_x,
                         accumulate, chunk, chunks):
    n, channels, length = x.shape
    start, stop = _chunk_range(n, chunk, chunks)
    for i in range(start, stop):
        if length == 1:  # (N, C): the channel loop innermost, so it vectorizes
            for c in range(channels):
                xhat = ((x[i, c, 0] - mu_high[c]) - mu_low[c]) * inv_std[c]
                value = scale[c] * (grad_output[i, c, 0] - mean_grad[c] - xhat * mean_grad_xhat[c])
                if accumulate:  # the same for the whole loop: the compiler makes two loops of it
                    grad_x[i, c, 0] += value
                else:
                    grad_x[i, c, 0] = value
        else:
            for c in range(channels):
                high, low, r = mu_high[c], mu_low[c], inv_std[c]
                s, mg, mgx = scale[c], mean_grad[c], mean_grad_xhat[c]
                for l in range(length):
                    value = s * (grad_output[i, c, l] - mg - ((x[i, c, l] - high) - low) * r * mgx)
                    if accumulate:
                        grad_x[i, c, l] += value
                    else:
                        grad_x[i, c, l] = value


def batch_norm_backward(grad_output, x, mean, inv_std, scale, mean_grad, mean_grad_xhat, grad_x, accumulate=False):
    """dL/dx = gamma r (dL/dy - mean(dL/dy) - xhat mean(dL/dy xhat)), with scale = gamma r and xhat = (x - mu) r
    recomputed, into `grad_x` (added to it with `accumulate`); from float64 per-channel constants, in x's dtype."""
    constants = _per_channel(x, mean, inv_std, scale, mean_grad, mean_grad_xhat)
    parallel_for(_batch_norm_backward, chunk_count(x.size), grad_output, x, *constants, grad_x, accumulate)
