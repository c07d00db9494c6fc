"""LayerNorm and BatchNorm through compiled loops (numba): the plain classes' formulas, one pass per row.

Even blocked, NumPy makes about ten passes over memory where a compiled loop makes two, and on a small array (an
RNN step's 32x128) the cost is its 25 or so NumPy calls rather than memory. These classes hand the same formulas,
written as plain loops over each row or channel, to :mod:`minigrad.nn.ops.fast.kernels`, with every sum in
float64. They save what the plain classes save, in the same layout, and run on NumPy float32 and float64 arrays
when numba is installed (``pip install minigrad[fast]``) and ``MINIGRAD_NUMBA`` is not "0".

Backward falls back to the plain class's formula if the arrays it receives do not suit the kernels (another
dtype or array type than forward's), so a node chosen for its forward never fails in backward.
"""

from minigrad.backends import get_array_module
from minigrad.nn.ops.batch_norm import BatchNorm, channel_axes, update_running_statistics
from minigrad.nn.ops.fast import kernels
from minigrad.nn.ops.layer_norm import LayerNorm, as_rows


def _present(*arrays):
    """The arrays that are not None (optional gain and shift)."""
    return [array for array in arrays if array is not None]


class NumbaLayerNorm(LayerNorm):
    """LayerNorm as one compiled loop per row for forward and one for backward (dgamma and dbeta in the same pass)."""

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim, eps):
        xp = get_array_module(x)
        x_rows, weight_row, bias_row = as_rows(ctx, x, weight, bias, normalized_ndim)
        rows, m = x_rows.shape
        x_rows = xp.ascontiguousarray(x_rows)
        normalized = xp.empty_like(x_rows)
        inv_std = xp.empty((rows, 1), dtype=x_rows.dtype)
        affine = weight_row is not None or bias_row is not None
        output = xp.empty_like(x_rows) if affine else normalized
        weight_or_one = xp.ones(m, dtype=x_rows.dtype) if weight_row is None else weight_row
        bias_or_zero = xp.zeros(m, dtype=x_rows.dtype) if bias_row is None else bias_row
        kernels.layer_norm_forward(x_rows, weight_or_one, bias_or_zero, eps, normalized, inv_std.reshape(rows),
                                   output)
        ctx.save_for_backward(normalized, inv_std, weight_row)
        return output.reshape(ctx.x_shape)

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight_row = ctx.saved_tensors
        if not kernels.suits(*_present(grad_output, normalized, weight_row)):
            return LayerNorm.backward(ctx, grad_output)
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        xp = get_array_module(normalized)
        rows, m = normalized.shape
        grad_rows = grad_output.reshape(rows, m)
        grad_x = xp.empty(ctx.x_shape, dtype=normalized.dtype)
        weight_or_one = xp.ones(m, dtype=normalized.dtype) if weight_row is None else weight_row
        grad_weight, grad_bias = kernels.layer_norm_backward(
            xp.ascontiguousarray(grad_rows), weight_or_one, normalized, inv_std.reshape(rows),
            grad_x.reshape(rows, m), kernels.sum_chunks(rows * m))
        return (grad_x if needs_x else None,
                grad_weight.astype(normalized.dtype).reshape(ctx.parameter_shape) if needs_weight else None,
                grad_bias.astype(normalized.dtype).reshape(ctx.parameter_shape) if needs_bias else None,
                None, None)


def _as_ncl(array):
    """A C-contiguous (N, C, L) view (or copy) of an (N, C) or (N, C, L) array: the kernels' one layout."""
    xp = get_array_module(array)
    return xp.ascontiguousarray(array).reshape(array.shape[0], array.shape[1], -1)


class NumbaBatchNorm(BatchNorm):
    """BatchNorm with compiled loops: float64 per-channel sums in fixed chunks of rows, then one normalizing pass."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, use_batch_statistics, momentum, eps):
        xp = get_array_module(x)
        channels = x.shape[1]
        per_channel, _ = channel_axes(ctx, x, use_batch_statistics)
        x_ncl = _as_ncl(x)
        if use_batch_statistics:
            mean, variance = kernels.batch_norm_statistics(x_ncl)
            if running_mean is not None:
                update_running_statistics(running_mean, running_var, mean, variance, x.size // channels, momentum)
        else:
            mean, variance = running_mean.astype(xp.float64), running_var.astype(xp.float64)
        inv_std = 1.0 / xp.sqrt(variance + eps)
        normalized = xp.empty_like(x_ncl)
        affine = weight is not None or bias is not None
        output = xp.empty_like(x_ncl) if affine else normalized
        kernels.batch_norm_normalize(x_ncl, mean, inv_std,
                                     xp.ones(channels, x.dtype) if weight is None else weight,
                                     xp.zeros(channels, x.dtype) if bias is None else bias, normalized, output)
        ctx.save_for_backward(normalized.reshape(x.shape), inv_std.astype(x.dtype).reshape(per_channel),
                              None if weight is None else weight.reshape(per_channel))
        return output.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight_c = ctx.saved_tensors
        if not kernels.suits(*_present(grad_output, normalized, weight_c)):
            return BatchNorm.backward(ctx, grad_output)
        xp = get_array_module(normalized)
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        channels = normalized.shape[1]
        grad_ncl, normalized_ncl = _as_ncl(grad_output), _as_ncl(normalized)
        sum_grad, sum_grad_normalized = kernels.batch_norm_gradient_sums(grad_ncl, normalized_ncl)
        grad_x = None
        if needs_x:
            scale = inv_std.reshape(channels) if weight_c is None else (weight_c * inv_std).reshape(channels)
            if ctx.use_batch_statistics:
                count = normalized.size // channels
                grad_x = xp.empty_like(normalized)
                kernels.batch_norm_backward(grad_ncl, normalized_ncl, scale.astype(xp.float64), sum_grad / count,
                                            sum_grad_normalized / count, grad_x.reshape(normalized_ncl.shape))
            else:
                grad_x = grad_output * scale.reshape(inv_std.shape)
        dtype = normalized.dtype
        return (grad_x,
                sum_grad_normalized.astype(dtype) if needs_weight else None,
                sum_grad.astype(dtype) if needs_bias else None, None, None, None, None, None)
