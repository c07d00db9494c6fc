"""Compiled per-row loops for LayerNorm and BatchNorm on the CPU (optional, through numba).

The formulas are those derived in :mod:`minigrad.nn.ops.layer_norm` and :mod:`minigrad.nn.ops.batch_norm`, whose
plain classes stay the readable reference and the path for every other backend; the classes that call these
loops are in :mod:`minigrad.nn.ops.fast.compiled`:

    mu = mean(x),  var = mean((x - mu)^2),  r = (var + eps)^(-1/2),  xhat = (x - mu) r,  y = gamma xhat + beta
    g = dL/dy * gamma,   dL/dx = r (g - mean(g) - xhat mean(g xhat))

Why compiled loops at all: NumPy evaluates a formula one operation at a time, and each operation is a pass over
memory (blocking the rows keeps the intermediates in cache, but every pass still costs a trip through the data and
a Python-level call per block). A loop over one row does the whole formula while the row sits in the L1 cache,
so main memory sees only the reads of x (dy and xhat) and the writes of the results, about the bandwidth bound.

Accuracy: every sum is accumulated in float64, and the variance is the two-pass mean of (x - mu)^2 with mu in
float64. For float32 data with mean 1e4 and std 1e-2 the float64 mean is exact to far below the spread, so no
correction pass is needed (the NumPy formulas, which sum in the data's dtype, need their corrected two-pass).

Forward saves xhat and r, exactly as the plain classes do, so either backward can follow either forward; reading
the saved xhat is one pass, as reading x would be, and recomputing xhat from x would only add arithmetic.

Rows (LayerNorm) are independent and run in parallel with ``prange``. BatchNorm's per-channel sums span all rows:
the rows are cut into chunks (a number fixed by the array's size, see sum_chunks), each chunk sums into its own
float64 row of partial sums in parallel, and the partials are added up in a fixed order, so the result does not
depend on the thread count.

Rows and chunks run in parallel only for large arrays (PARALLEL_MIN_ELEMENTS); smaller ones run the serial build
of the same loop, in the calling thread.

Switch: set the environment variable ``MINIGRAD_NUMBA=0`` before minigrad.nn is imported to turn these loops off
(tests set ``ENABLED`` instead); ``minigrad.set_fast_kernels(False)`` turns off every fast class. Without numba
installed (``pip install minigrad[fast]``) the loops are never used.
"""

import functools
import os
import types

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


# Each kernel is compiled twice. From this many elements on, the parallel build runs, its rows spread over
# numba's threads (``prange``); below it, the serial build runs in the calling thread. Starting the thread pool for
# a small array costs more than the work, and its idle threads keep spinning for a while and slow down whatever
# runs next: many small calls (an RNN step's 32x128 LayerNorms) become many times slower (minigrad/bench/README.md).
PARALLEL_MIN_ELEMENTS = 1 << 18


def runs_in_parallel(size):
    """Whether a kernel on an array of `size` elements runs its parallel build (else the serial one)."""
    return size >= PARALLEL_MIN_ELEMENTS

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


def suits(*arrays):
    """True when every array is a plain NumPy float32/float64 array of one dtype (contiguity is fixed by callers)."""
    dtype = arrays[0].dtype
    if dtype != np.float32 and dtype != np.float64:
        return False
    for array in arrays:
        if type(array) is not np.ndarray or array.dtype != dtype:
            return False
    return True


def _renamed(function, suffix):
    """A copy of `function` under another name. numba's on-disk cache names its entries after the function's
    module, qualified name and line, not after the compile options, so without a second name the serial and the
    parallel build of one kernel would share an entry and load each other's machine code."""
    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__ + suffix,
                              function.__defaults__, function.__closure__)
    copy.__qualname__ = function.__qualname__ + suffix
    return copy


def _jit(function):
    """Compile `function` with numba twice, serial and parallel, and return a function that runs the build that
    suits the size of its first argument (the x-sized array). Without numba the kernels are never called, so they
    are left as Python."""
    if numba is None:
        return function
    # error_model="numpy": a division by zero gives inf or nan as in NumPy (a constant row with eps = 0 is 0/0),
    # where numba's default raises ZeroDivisionError as Python would
    options = dict(cache=True, fastmath=FASTMATH, error_model="numpy")
    serial = numba.njit(**options)(_renamed(function, "_serial"))
    parallel = numba.njit(parallel=True, **options)(function)

    @functools.wraps(function)
    def run(*arguments):
        build = run.parallel if runs_in_parallel(arguments[0].size) else run.serial
        return build(*arguments)

    run.serial, run.parallel = serial, parallel
    return run


_prange = range if numba is None else numba.prange

# Partial sums over rows (BatchNorm's statistics, LayerNorm's dgamma and dbeta) in the parallel build: a fixed
# number of chunks, not one per thread, so the results do not depend on the number of threads.
SUM_CHUNKS = 16


def sum_chunks(size):
    """How many chunks of partial sums a kernel on an array of `size` elements uses: SUM_CHUNKS for the parallel
    build (one or more chunks per thread), 1 for the serial build, which has no threads to share the chunks and
    would only allocate and add up SUM_CHUNKS rows of partial sums. Both depend on the size alone, never on the
    thread count, so a given input always gives the same bits."""
    return SUM_CHUNKS if runs_in_parallel(size) else 1


# --- LayerNorm: x as (rows, m), one group per row ------------------------------------------------------------------

@_jit
def layer_norm_forward(x, weight, bias, eps, normalized, inv_std, output):
    """Per row: mu, two-pass var, r; then xhat into `normalized` and gamma xhat + beta into `output` (which may be
    `normalized` itself when there is no gain or shift, with weight = 1 and bias = 0)."""
    rows, m = x.shape
    for i in _prange(rows):
        total = 0.0  # a float64 accumulator, whatever the dtype of x
        for j in range(m):
            total += x[i, j]
        mean = total / m
        squares = 0.0
        for j in range(m):
            centered = x[i, j] - mean
            squares += centered * centered
        r = 1.0 / np.sqrt(squares / m + eps)
        inv_std[i] = r
        for j in range(m):
            xhat = (x[i, j] - mean) * r
            normalized[i, j] = xhat
            output[i, j] = xhat * weight[j] + bias[j]


@_jit
def layer_norm_backward(grad_output, weight, normalized, inv_std, grad_x, chunks):
    """Per row, with g = dL/dy * gamma: dL/dx = r (g - mean(g) - xhat mean(g xhat)), into `grad_x`.

    The same pass over dy and xhat also gathers dL/dgamma = sum over rows of dL/dy xhat and dL/dbeta = sum over
    rows of dL/dy (in float64 partial sums per chunk of rows, see _channel_sums), returned as (dgamma, dbeta):
    two passes over memory that NumPy would make separately."""
    rows, m = normalized.shape
    partial_weight = np.zeros((chunks, m))
    partial_bias = np.zeros((chunks, m))
    rows_per_chunk = (rows + chunks - 1) // chunks
    for chunk in _prange(chunks):
        for i in range(chunk * rows_per_chunk, min(rows, (chunk + 1) * rows_per_chunk)):
            sum_g = 0.0
            sum_g_xhat = 0.0
            for j in range(m):
                dy = grad_output[i, j]
                xhat = normalized[i, j]
                partial_weight[chunk, j] += dy * xhat
                partial_bias[chunk, j] += dy
                g = dy * weight[j]
                sum_g += g
                sum_g_xhat += g * xhat
            mean_g = sum_g / m
            mean_g_xhat = sum_g_xhat / m
            r = inv_std[i]
            for j in range(m):
                g = grad_output[i, j] * weight[j]
                grad_x[i, j] = r * (g - mean_g - normalized[i, j] * mean_g_xhat)
    grad_weight = np.zeros(m)
    grad_bias = np.zeros(m)
    for chunk in range(chunks):
        grad_weight += partial_weight[chunk]
        grad_bias += partial_bias[chunk]
    return grad_weight, grad_bias


# --- BatchNorm: x as (N, C, L), one group per channel spanning N and L ---------------------------------------------

@_jit
def _channel_sums(a, a_center, b, b_center, chunks):
    """Per channel c, two float64 sums over n and l: sum(a - a_center[c]) and sum((a - a_center[c]) (b - b_center[c])).

    With b = a and b_center = a_center the second is the sum of squares of the centered values; with b_center = 0
    it is the sum of a product. Each of `chunks` slices of the rows sums into its own row of partials (in
    parallel), then the partials are added in order. The rows are read in memory order, so the data is streamed
    once, not once per channel; with L = 1 the innermost loop runs over the channels, which vectorizes."""
    n, channels, length = a.shape
    partial_first = np.zeros((chunks, channels))
    partial_second = np.zeros((chunks, channels))
    rows_per_chunk = (n + chunks - 1) // chunks
    for chunk in _prange(chunks):
        first_row = partial_first[chunk]
        second_row = partial_second[chunk]
        for i in range(chunk * rows_per_chunk, min(n, (chunk + 1) * rows_per_chunk)):
            if length == 1:
                for c in range(channels):
                    value = a[i, c, 0] - a_center[c]
                    first_row[c] += value
                    second_row[c] += value * (b[i, c, 0] - b_center[c])
            else:
                for c in range(channels):
                    first = 0.0
                    second = 0.0
                    for l in range(length):
                        value = a[i, c, l] - a_center[c]
                        first += value
                        second += value * (b[i, c, l] - b_center[c])
                    first_row[c] += first
                    second_row[c] += second
    first_sum = np.zeros(channels)
    second_sum = np.zeros(channels)
    for chunk in range(chunks):
        first_sum += partial_first[chunk]
        second_sum += partial_second[chunk]
    return first_sum, second_sum


def batch_norm_statistics(x):
    """mean and biased variance per channel of x (N, C, L), both float64: one pass for the mean, then the
    two-pass variance mean((x - mu)^2), every sum in float64."""
    channels = x.shape[1]
    count = x.shape[0] * x.shape[2]
    zero = np.zeros(channels)
    total, _ = _channel_sums(x, zero, x, zero, sum_chunks(x.size))
    mean = total / count
    _, squares = _channel_sums(x, mean, x, mean, sum_chunks(x.size))
    return mean, squares / count


def batch_norm_gradient_sums(grad_output, normalized):
    """sum(dL/dy) and sum(dL/dy xhat) per channel (float64): dL/dbeta and dL/dgamma, and the two sums of backward."""
    zero = np.zeros(normalized.shape[1])
    return _channel_sums(grad_output, zero, normalized, zero, sum_chunks(normalized.size))


@_jit
def batch_norm_normalize(x, mean, inv_std, weight, bias, normalized, output):
    """xhat = (x - mu) r and y = gamma xhat + beta, per channel constants, rows in parallel."""
    n, channels, length = x.shape
    for i in _prange(n):
        if length == 1:  # (N, C): the channel loop innermost, so it vectorizes
            for c in range(channels):
                xhat = (x[i, c, 0] - mean[c]) * inv_std[c]
                normalized[i, c, 0] = xhat
                output[i, c, 0] = xhat * weight[c] + bias[c]
        else:
            for c in range(channels):
                mu, r, gamma, beta = mean[c], inv_std[c], weight[c], bias[c]
                for l in range(length):
                    xhat = (x[i, c, l] - mu) * r
                    normalized[i, c, l] = xhat
                    output[i, c, l] = xhat * gamma + beta


@_jit
def batch_norm_backward(grad_output, normalized, scale, mean_grad, mean_grad_xhat, grad_x):
    """dL/dx = gamma r (dL/dy - mean(dL/dy) - xhat mean(dL/dy xhat)), with scale = gamma r, rows in parallel."""
    n, channels, length = normalized.shape
    for i in _prange(n):
        if length == 1:  # (N, C): the channel loop innermost, so it vectorizes
            for c in range(channels):
                grad_x[i, c, 0] = scale[c] * (grad_output[i, c, 0] - mean_grad[c]
                                              - normalized[i, c, 0] * mean_grad_xhat[c])
        else:
            for c in range(channels):
                s, mg, mgx = scale[c], mean_grad[c], mean_grad_xhat[c]
                for l in range(length):
                    grad_x[i, c, l] = s * (grad_output[i, c, l] - mg - normalized[i, c, l] * mgx)
