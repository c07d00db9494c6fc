"""Layer normalization and batch normalization, each as one graph node with a hand-derived backward.

Both normalize a group of m numbers x_1..x_m (LayerNorm: the features of one example; BatchNorm: one channel
over the batch) and then apply a learned gain gamma and shift beta:

    mu     = (1/m) sum_j x_j
    c_j    = x_j - mu                          centered
    var    = (1/m) sum_j c_j^2                 biased variance, computed from c (two passes over the data)
    r      = (var + eps)^(-1/2)                inv_std
    xhat_j = c_j r                             normalized
    y_j    = gamma xhat_j + beta

Why two passes: the one-pass formula var = E[x^2] - E[x]^2 subtracts two nearly equal large numbers when the
mean is large against the spread; in float32, data with mean 100 and std 0.01 gives var = 0 (or negative).
Subtracting the mean first keeps every term small. (The forward below also subtracts the small mean left in c
by rounding the mean to float32; in exact arithmetic that correction is zero, so the derivation is unchanged.)

Backward. Write g_j = dL/dxhat_j = dL/dy_j * gamma. Walk the forward lines backwards; x_i reaches L through
c_i, and through mu; c_k reaches L through xhat_k and through var:

    dL/dr    = sum_j g_j c_j
    dL/dvar  = dL/dr * dr/dvar = -(1/2) r^3 sum_j g_j c_j
    dL/dc_k  = g_k r + dL/dvar * dvar/dc_k = g_k r - (r^3/m) c_k sum_j g_j c_j
             = r (g_k - xhat_k * mean_j(g_j xhat_j))                       (using c = xhat / r)
    dL/dmu   = -sum_k dL/dc_k = -r (sum_k g_k - mean_j(g_j xhat_j) sum_k xhat_k) = -r sum_k g_k
                                                                           (the xhat sum to zero)
    dL/dx_i  = dL/dc_i + dL/dmu * dmu/dx_i = dL/dc_i - (r/m) sum_k g_k

which gathers into the fused formula

    dL/dx_i = (r/m) * (m g_i - sum_k g_k - xhat_i sum_k g_k xhat_k)
    dL/dgamma = sum of dL/dy * xhat over everything gamma was shared across,  dL/dbeta = sum of dL/dy.

It is written in xhat, which forward already computed, rather than in the raw x: xhat has mean 0 and variance
about 1, so no large offset is subtracted again in backward and float32 keeps its precision. Forward saves only
xhat, r (one number per group) and gamma: one array of x's size, where the composed graph keeps two (the centered
x and xhat) and both passes make more temporaries (``python -m minigrad.bench.fused_vs_composed`` measures it).
The composed twins in :mod:`minigrad.nn.composed` are the same formulas written step by step with primitive ops,
the reference these fused ops are tested against.

In BatchNorm's evaluation mode mu and var are the running averages, constants with respect to x, so only the
first term survives: dL/dx_i = g_i r.

How the code below is organized for speed (the math is unchanged). Written naively, each line of the formulas is
a pass over memory that reads and writes a fresh x-sized array: about twenty passes for forward plus backward,
each one page-faulting a newly allocated array in from the operating system. Four levers cut that down:

- Reductions of products use ``einsum`` (``sum_j g_j xhat_j`` is ``einsum("ij,ij->i", g, xhat)``), which
  multiplies and adds in one pass without materializing the product.
- LayerNorm's row means are matrix-vector products with a vector of 1/m, which BLAS computes faster than
  ``mean(axis=1)``.
- Intermediate results are written into existing arrays with ``out=`` and in-place operators.
- On NumPy the work goes through the rows in blocks of about ``BLOCK_BYTES``: every intermediate of a block then
  stays in the CPU's L2 cache, so only reading x (or dy and xhat) and writing the results touch main memory.
  A LayerNorm row is independent of the others, so each block is a complete small LayerNorm. BatchNorm's
  statistics span the whole batch, so they come first (one pass for the mean, one blocked pass for the
  variance), and then the normalization goes block by block. On other backends (CuPy) a block is the whole
  array: a GPU has no use for CPU-cache-sized pieces and would pay a kernel launch per block.

Even so NumPy makes about ten passes over memory where a compiled loop makes two, and on a small array (an RNN
step's 32x128) the cost is its 25 or so NumPy calls rather than memory. When numba is installed
(``pip install minigrad[fast]``), the backend is NumPy and the arrays are float32 or float64, forward and backward
hand the same formulas, written as plain loops over each row or channel, to :mod:`minigrad.nn.ops.cpu_kernels`.
The NumPy code below stays the reference (and the path for CuPy, "strict", other dtypes, and
``MINIGRAD_NUMBA=0``); the tests check that both paths agree.
"""

from minigrad.autograd.function import Function
from minigrad.backends import find_backend, get_array_module
from minigrad.fast_path import fast_kernels_enabled
from minigrad.nn.ops import cpu_kernels

BLOCK_BYTES = 256 * 1024  # a block of rows plus its few same-sized intermediates fits easily in a 1-2 MiB L2


def _row_blocks(array, rows):
    """Slices that cut range(rows) of `array` (rows along axis 0) into blocks of about BLOCK_BYTES."""
    if find_backend(array) != "numpy" or rows == 0 or not fast_kernels_enabled():
        return [slice(0, rows)]
    bytes_per_row = max(1, array.itemsize * (array.size // rows))
    rows_per_block = max(1, BLOCK_BYTES // bytes_per_row)
    return [slice(start, min(start + rows_per_block, rows)) for start in range(0, rows, rows_per_block)]


def _scale_and_shift(normalized, weight, bias, out):
    """y = xhat * gamma + beta into `out`, gamma and beta each optional (both None is handled by the caller)."""
    xp = get_array_module(normalized)
    if weight is None:
        xp.add(normalized, bias, out=out)
    else:
        xp.multiply(normalized, weight, out=out)
        if bias is not None:
            out += bias


# --- LayerNorm: x as rows of m numbers, one group per row --------------------------------------------------------

def _row_means(rows):
    """The mean of each row of `rows` (n, m), as an (n, 1) column.

    Written as the matrix-vector product rows @ (1/m, ..., 1/m): the same sum, but done by BLAS, which reads the
    rows once with vector instructions and is several times faster than ``rows.mean(axis=1)``."""
    xp = get_array_module(rows)
    m = rows.shape[1]
    return rows @ xp.full((m, 1), 1.0 / m, dtype=rows.dtype)


def _layer_norm_rows(x_rows, eps, normalized_out):
    """The forward lines above for each row of `x_rows` (n, m): writes xhat into `normalized_out`, returns r (n, 1)."""
    xp = get_array_module(x_rows)
    m = x_rows.shape[1]
    mean = _row_means(x_rows)
    centered = xp.subtract(x_rows, mean, out=normalized_out)
    # In float32 the mean is itself rounded (the spacing of float32 numbers near 1e4 is 1e-3, a tenth of a
    # std of 1e-2), which leaves a common offset in every centered value. Those values are small and exact, so
    # their own mean measures the offset precisely: removing it is the "corrected two-pass" algorithm.
    centered -= _row_means(centered)
    variance = xp.einsum("ij,ij->i", centered, centered)[:, None] / m
    inv_std = (variance + eps) ** -0.5
    centered *= inv_std  # centered becomes xhat in place: it is not needed again
    return inv_std


def _layer_norm_grad_rows(grad_normalized, normalized, inv_std, grad_input_out):
    """dL/dx = r * (g - mean(g) - xhat * mean(g * xhat)) per row, the fused formula with 1/m folded into the
    means, written into `grad_input_out`."""
    xp = get_array_module(normalized)
    m = normalized.shape[1]
    projection = xp.einsum("ij,ij->i", grad_normalized, normalized)[:, None] / m  # mean(g * xhat), per row
    grad_input = xp.multiply(normalized, -projection, out=grad_input_out)
    grad_input += grad_normalized
    grad_input -= _row_means(grad_normalized)
    grad_input *= inv_std
    return grad_input


def _present(*arrays):
    """The arrays that are not None (optional gain and shift)."""
    return [array for array in arrays if array is not None]


def _layer_norm_forward_compiled(ctx, x_rows, weight_row, bias_row, eps):
    """LayerNormFunction.forward through the compiled per-row loop: the same xhat, r and y, the same saved arrays."""
    xp = get_array_module(x_rows)
    rows, m = x_rows.shape
    x_rows = xp.ascontiguousarray(x_rows)
    normalized = xp.empty_like(x_rows)
    inv_std = xp.empty((rows, 1), dtype=x_rows.dtype)
    affine = weight_row is not None or bias_row is not None
    output = xp.empty_like(x_rows) if affine else normalized
    weight_or_one = xp.ones(m, dtype=x_rows.dtype) if weight_row is None else weight_row
    bias_or_zero = xp.zeros(m, dtype=x_rows.dtype) if bias_row is None else bias_row
    cpu_kernels.layer_norm_forward(x_rows, weight_or_one, bias_or_zero, eps, normalized, inv_std.reshape(rows),
                                   output)
    ctx.save_for_backward(normalized, inv_std, weight_row)
    return output.reshape(ctx.x_shape)


def _layer_norm_grad_blocks(grad_rows, weight_row, normalized, inv_std, grad_x_rows):
    """dL/dx for all rows with NumPy, block by block, g = dL/dy * gamma formed per block in one reused buffer."""
    xp = get_array_module(normalized)
    rows, m = normalized.shape
    blocks = _row_blocks(normalized, rows)
    grad_normalized_buffer = None
    if weight_row is not None:
        grad_normalized_buffer = xp.empty((blocks[0].stop - blocks[0].start, m), dtype=normalized.dtype)
    for block in blocks:
        grad_normalized = grad_rows[block]
        if weight_row is not None:
            grad_normalized = xp.multiply(grad_normalized, weight_row,
                                          out=grad_normalized_buffer[:block.stop - block.start])
        _layer_norm_grad_rows(grad_normalized, normalized[block], inv_std[block], grad_x_rows[block])


class LayerNormFunction(Function):
    """y = LN(x) over the last `normalized_ndim` axes, then * weight + bias (weight and bias may be None).

    Backward (derived above), per example with m normalized elements and g = dL/dy * weight:
    dL/dx = (r/m) (m g - sum g - xhat sum(g xhat));  dL/dweight, dL/dbias = sums of dL/dy * xhat and dL/dy.

    weight and bias have the shape of those trailing axes and are shared by every leading (batch) index, so their
    gradients are summed over the leading axes. Internally x is viewed as rows of m = prod(normalized shape)
    numbers, one row per example, and processed in blocks of rows (see the module docstring).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim, eps):
        xp = get_array_module(x)
        rows, m = 1, 1
        for size in x.shape[:x.ndim - normalized_ndim]:
            rows *= size
        for size in x.shape[x.ndim - normalized_ndim:]:
            m *= size
        x_rows = x.reshape(rows, m)
        weight_row = None if weight is None else weight.reshape(m)
        bias_row = None if bias is None else bias.reshape(m)
        ctx.x_shape, ctx.parameter_shape = x.shape, x.shape[x.ndim - normalized_ndim:]
        # Dispatch: the compiled loops when they can run (NumPy arrays, float32/64, numba present), else NumPy.
        if cpu_kernels.usable(*_present(x_rows, weight_row, bias_row)):
            return _layer_norm_forward_compiled(ctx, x_rows, weight_row, bias_row, eps)
        normalized = xp.empty_like(x_rows)
        inv_std = xp.empty((rows, 1), dtype=x.dtype)
        affine = weight is not None or bias is not None
        output = xp.empty_like(x_rows) if affine else normalized  # no gamma, no beta: y is xhat itself
        for block in _row_blocks(x_rows, rows):
            inv_std[block] = _layer_norm_rows(x_rows[block], eps, normalized[block])
            if affine:
                _scale_and_shift(normalized[block], weight_row, bias_row, output[block])
        ctx.save_for_backward(normalized, inv_std, weight_row)
        return output.reshape(ctx.x_shape)

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight_row = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        xp = get_array_module(normalized)
        rows, m = normalized.shape
        grad_rows = grad_output.reshape(rows, m)
        grad_x = grad_weight = grad_bias = None
        # Dispatch as in forward: the compiled per-row loop when it can run, else the blocked NumPy formula.
        if cpu_kernels.usable(*_present(grad_rows, normalized, weight_row)):
            grad_x = xp.empty(ctx.x_shape, dtype=normalized.dtype)
            weight_or_one = xp.ones(m, dtype=normalized.dtype) if weight_row is None else weight_row
            grad_weight, grad_bias = cpu_kernels.layer_norm_backward(
                xp.ascontiguousarray(grad_rows), weight_or_one, normalized, inv_std.reshape(rows),
                grad_x.reshape(rows, m), cpu_kernels.sum_chunks(rows * m))
            return (grad_x if needs_x else None,
                    grad_weight.astype(normalized.dtype).reshape(ctx.parameter_shape) if needs_weight else None,
                    grad_bias.astype(normalized.dtype).reshape(ctx.parameter_shape) if needs_bias else None,
                    None, None)
        # The parameters' gradients are sums over all rows, each one pass without an x-sized product (einsum).
        if needs_weight:
            grad_weight = xp.einsum("ij,ij->j", grad_rows, normalized)
        if needs_bias:
            grad_bias = grad_rows.sum(axis=0)
        if needs_x:
            # dL/dx is allocated in x's shape and filled through a (rows, m) view of it: returning the array that
            # owns its memory, not a reshaped view, spares the engine a defensive copy of it
            grad_x = xp.empty(ctx.x_shape, dtype=normalized.dtype)
            _layer_norm_grad_blocks(grad_rows, weight_row, normalized, inv_std, grad_x.reshape(rows, m))
        return (grad_x,
                None if grad_weight is None else grad_weight.reshape(ctx.parameter_shape),
                None if grad_bias is None else grad_bias.reshape(ctx.parameter_shape), None, None)


# --- BatchNorm: one group per channel, spanning the batch (and length) axes ---------------------------------------

class BatchNormFunction(Function):
    """Batch normalization of x of shape (N, C) or (N, C, L), per channel C.

    ``use_batch_statistics=True`` (training, or no running statistics at all): normalize with the batch's mean
    and biased variance over the axes (0,) or (0, 2), m = N or N*L values per channel; if running_mean and
    running_var are given, forward also folds the batch statistics into them, in place, as PyTorch does:

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)   (the unbiased variance)

    That update is bookkeeping, not part of the function being differentiated: no gradient flows through it.
    Backward (derived above), per channel with g = dL/dy * weight: dL/dx = (r/m) (m g - sum g - xhat sum(g xhat)).
    Because gamma is constant within a channel, the two sums are gamma times the parameters' gradients,
    sum g = gamma dL/dbeta and sum g xhat = gamma dL/dgamma, so backward computes those first and then

        dL/dx = gamma r (dL/dy - mean(dL/dy) - xhat mean(dL/dy xhat)).

    ``use_batch_statistics=False`` (evaluation): normalize with running_mean and running_var, which are constants
    here, so dL/dx = dL/dy * gamma * r.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, use_batch_statistics, momentum, eps):
        xp = get_array_module(x)
        channels = x.shape[1]
        per_channel = (1, channels) + (1,) * (x.ndim - 2)  # a (C,) vector reshaped to broadcast against x
        reduced_axes = (0,) + tuple(range(2, x.ndim))
        ctx.use_batch_statistics, ctx.reduced_axes = use_batch_statistics, reduced_axes
        if cpu_kernels.usable(*_present(x, weight, bias, running_mean, running_var)):
            return _batch_norm_forward_compiled(ctx, x, weight, bias, running_mean, running_var,
                                                use_batch_statistics, momentum, eps)
        blocks = _row_blocks(x, x.shape[0])  # blocks along the batch axis
        if use_batch_statistics:
            count = x.size // channels
            mean = x.mean(axis=reduced_axes, keepdims=True)
            # The corrected two-pass variance of _layer_norm_rows, with the sums over the batch gathered block by
            # block: var = mean(c^2) - mean(c)^2 for c = x - mean, where mean(c) is the small rounding offset.
            centered_buffer = xp.empty_like(x[blocks[0]])
            offset_sum = xp.zeros(per_channel, dtype=x.dtype)
            squares_sum = xp.zeros(channels, dtype=x.dtype)
            for block in blocks:
                centered = xp.subtract(x[block], mean, out=centered_buffer[:block.stop - block.start])
                offset_sum += centered.sum(axis=reduced_axes, keepdims=True)
                squares_sum += xp.einsum(_CHANNEL_SUM[x.ndim], centered, centered)
            offset = offset_sum / count
            variance = squares_sum.reshape(per_channel) / count - offset * offset
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * (mean + offset).reshape(channels)
                running_var *= 1 - momentum
                running_var += momentum * variance.reshape(channels) * (count / (count - 1))
        else:
            mean, variance = running_mean.reshape(per_channel), running_var.reshape(per_channel)
            offset = None
        inv_std = 1.0 / xp.sqrt(variance + eps)
        normalized = xp.empty_like(x)
        weight_c = None if weight is None else weight.reshape(per_channel)
        bias_c = None if bias is None else bias.reshape(per_channel)
        affine = weight is not None or bias is not None
        output = xp.empty_like(x) if affine else normalized
        for block in blocks:
            normalized_block = xp.subtract(x[block], mean, out=normalized[block])
            if offset is not None:  # subtracted apart from the mean: mean + offset would round back to mean
                normalized_block -= offset
            normalized_block *= inv_std
            if affine:
                _scale_and_shift(normalized_block, weight_c, bias_c, output[block])
        ctx.save_for_backward(normalized, inv_std, weight_c)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight_c = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        xp = get_array_module(normalized)
        axes = ctx.reduced_axes
        channels = normalized.shape[1]
        grad_x = None
        if cpu_kernels.usable(*_present(grad_output, normalized, weight_c)):
            return _batch_norm_backward_compiled(ctx, grad_output, normalized, inv_std, weight_c)
        # dL/dgamma and dL/dbeta: one pass over dy and xhat, without an x-sized product (einsum)
        sum_grad = grad_output.sum(axis=axes, keepdims=True)
        sum_grad_normalized = xp.einsum(_CHANNEL_SUM[normalized.ndim], grad_output, normalized).reshape(sum_grad.shape)
        if needs_x:
            scale = inv_std if weight_c is None else weight_c * inv_std  # gamma r, per channel
            if ctx.use_batch_statistics:
                count = normalized.size // channels
                mean_grad, mean_grad_normalized = sum_grad / count, sum_grad_normalized / count
                grad_x = xp.empty_like(normalized)
                projection_buffer = None
                for block in _row_blocks(normalized, normalized.shape[0]):
                    grad_x_block = xp.subtract(grad_output[block], mean_grad, out=grad_x[block])
                    if projection_buffer is None:
                        projection_buffer = xp.empty_like(grad_x_block)
                    projection = xp.multiply(normalized[block], mean_grad_normalized,
                                             out=projection_buffer[:grad_x_block.shape[0]])
                    grad_x_block -= projection
                    grad_x_block *= scale
            else:
                grad_x = grad_output * scale
        return (grad_x,
                sum_grad_normalized.reshape(channels) if needs_weight else None,
                sum_grad.reshape(channels) if needs_bias else None, None, None, None, None, None)


_CHANNEL_SUM = {2: "nc,nc->c", 3: "ncl,ncl->c"}  # sum over all but the channel axis of a product, by x.ndim


def _as_ncl(array):
    """A C-contiguous (N, C, L) view (or copy) of an (N, C) or (N, C, L) array: the kernels' one layout."""
    xp = get_array_module(array)
    return xp.ascontiguousarray(array).reshape(array.shape[0], array.shape[1], -1)


def _batch_norm_forward_compiled(ctx, x, weight, bias, running_mean, running_var, use_batch_statistics,
                                 momentum, eps):
    """BatchNormFunction.forward through the compiled loops: the same statistics, running-average update and
    saved arrays as the NumPy path, with the sums in float64."""
    xp = get_array_module(x)
    channels = x.shape[1]
    per_channel = (1, channels) + (1,) * (x.ndim - 2)
    x_ncl = _as_ncl(x)
    if use_batch_statistics:
        mean, variance = cpu_kernels.batch_norm_statistics(x_ncl)
        if running_mean is not None:
            count = x.size // channels
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * variance * (count / (count - 1))
    else:
        mean, variance = running_mean.astype(xp.float64), running_var.astype(xp.float64)
    inv_std = 1.0 / xp.sqrt(variance + eps)
    normalized = xp.empty_like(x_ncl)
    affine = weight is not None or bias is not None
    output = xp.empty_like(x_ncl) if affine else normalized
    cpu_kernels.batch_norm_normalize(x_ncl, mean, inv_std,
                                     xp.ones(channels, x.dtype) if weight is None else weight,
                                     xp.zeros(channels, x.dtype) if bias is None else bias, normalized, output)
    ctx.save_for_backward(normalized.reshape(x.shape), inv_std.astype(x.dtype).reshape(per_channel),
                          None if weight is None else weight.reshape(per_channel))
    return output.reshape(x.shape)


def _batch_norm_backward_compiled(ctx, grad_output, normalized, inv_std, weight_c):
    """BatchNormFunction.backward through the compiled loops (the same formulas, sums in float64)."""
    xp = get_array_module(normalized)
    needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
    channels = normalized.shape[1]
    grad_ncl, normalized_ncl = _as_ncl(grad_output), _as_ncl(normalized)
    sum_grad, sum_grad_normalized = cpu_kernels.batch_norm_gradient_sums(grad_ncl, normalized_ncl)
    grad_x = None
    if needs_x:
        scale = inv_std.reshape(channels) if weight_c is None else (weight_c * inv_std).reshape(channels)
        if ctx.use_batch_statistics:
            count = normalized.size // channels
            # allocated in x's shape and filled through an (N, C, L) view: returning the array that owns its
            # memory, not a reshaped view, spares the engine a defensive copy of it
            grad_x = xp.empty_like(normalized)
            cpu_kernels.batch_norm_backward(grad_ncl, normalized_ncl, scale.astype(xp.float64), sum_grad / count,
                                            sum_grad_normalized / count, grad_x.reshape(normalized_ncl.shape))
        else:
            grad_x = grad_output * scale.reshape(inv_std.shape)
    dtype = normalized.dtype
    return (grad_x,
            sum_grad_normalized.astype(dtype) if needs_weight else None,
            sum_grad.astype(dtype) if needs_bias else None, None, None, None, None, None)
