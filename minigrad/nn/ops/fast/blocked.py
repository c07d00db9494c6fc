"""LayerNorm and BatchNorm on NumPy, organized for memory traffic: the plain classes' formulas, cache-blocked.

Written as in :mod:`minigrad.nn.ops.layer_norm`, each line of the formulas is a pass over memory that reads and
writes a fresh x-sized array: about twenty passes for forward plus backward, each one page-faulting a newly
allocated array in from the operating system. Four levers cut that down, and the math is unchanged:

- Reductions of products use ``einsum`` (``sum_j g_j xhat_j`` is ``einsum("ij,ij->i", g, xhat)``), which
  multiplies and adds in one pass without materializing the product.
- LayerNorm's row means are matrix-vector products with a vector of 1/m, which BLAS computes faster than
  ``mean(axis=1)``.
- Intermediate results are written into existing arrays with ``out=`` and in-place operators.
- The work goes through the rows in blocks of about ``BLOCK_BYTES``: every intermediate of a block then stays in
  the CPU's L2 cache, so only reading x (or dy and xhat) and writing the results touch main memory. A LayerNorm
  row is independent of the others, so each block is a complete small LayerNorm. BatchNorm's statistics span the
  whole batch, so they come first (one pass for the mean, one blocked pass for the variance), and then the
  normalization goes block by block.

These classes run on NumPy arrays only (a GPU has no use for CPU-cache-sized pieces and would pay a kernel
launch per block). They save what the plain classes save, in the same layout.
"""

from minigrad.backends import get_array_module
from minigrad.nn.ops.batch_norm import BatchNorm, channel_axes, update_running_statistics
from minigrad.nn.ops.layer_norm import LayerNorm, as_rows

BLOCK_BYTES = 256 * 1024  # a block of rows plus its few same-sized intermediates fits easily in a 1-2 MiB L2


def _row_blocks(array, rows):
    """Slices that cut range(rows) of `array` (rows along axis 0) into blocks of about BLOCK_BYTES."""
    if rows == 0:
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
    """LayerNorm's forward lines for each row of `x_rows` (n, m): writes xhat into `normalized_out`, returns r (n, 1)."""
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


class BlockedLayerNorm(LayerNorm):
    """LayerNorm on NumPy in blocks of rows that stay in the L2 cache, with einsum, BLAS means and out= buffers."""

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim, eps):
        xp = get_array_module(x)
        x_rows, weight_row, bias_row = as_rows(ctx, x, weight, bias, normalized_ndim)
        rows = x_rows.shape[0]
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
        # The parameters' gradients are sums over all rows, each one pass without an x-sized product (einsum).
        if needs_weight:
            grad_weight = xp.einsum("ij,ij->j", grad_rows, normalized).reshape(ctx.parameter_shape)
        if needs_bias:
            grad_bias = grad_rows.sum(axis=0).reshape(ctx.parameter_shape)
        if needs_x:
            grad_x = xp.empty(ctx.x_shape, dtype=normalized.dtype)
            _layer_norm_grad_blocks(grad_rows, weight_row, normalized, inv_std, grad_x.reshape(rows, m))
        return grad_x, grad_weight, grad_bias, None, None


# --- BatchNorm: one group per channel, spanning the batch (and length) axes ---------------------------------------

CHANNEL_SUM = {2: "nc,nc->c", 3: "ncl,ncl->c"}  # sum over all but the channel axis of a product, by x.ndim


class BlockedBatchNorm(BatchNorm):
    """BatchNorm on NumPy: the statistics and the normalization in blocks of the batch, with einsum and out=."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, use_batch_statistics, momentum, eps):
        xp = get_array_module(x)
        channels = x.shape[1]
        per_channel, reduced_axes = channel_axes(ctx, x, use_batch_statistics)
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
                squares_sum += xp.einsum(CHANNEL_SUM[x.ndim], centered, centered)
            offset = offset_sum / count
            variance = squares_sum.reshape(per_channel) / count - offset * offset
            if running_mean is not None:
                update_running_statistics(running_mean, running_var, (mean + offset).reshape(channels),
                                          variance.reshape(channels), count, momentum)
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
        # dL/dgamma and dL/dbeta: one pass over dy and xhat, without an x-sized product (einsum)
        sum_grad = grad_output.sum(axis=axes, keepdims=True)
        sum_grad_normalized = xp.einsum(CHANNEL_SUM[normalized.ndim], grad_output, normalized).reshape(sum_grad.shape)
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
