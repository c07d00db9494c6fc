"""LayerNorm and BatchNorm through compiled loops (numba): the plain classes' formulas, one pass per row.

Even blocked, NumPy makes about ten passes over memory where a compiled loop makes two, and on a small array (an
RNN step's 32x128) the cost is its 25 or so NumPy calls rather than memory. These classes hand the same formulas,
written as plain loops over each row or channel, to :mod:`minigrad.nn.ops.fast.kernels` (which says how each
sum is accumulated). They run on NumPy float32 and float64 arrays when numba is installed (``pip install
minigrad[fast]``) and ``MINIGRAD_NUMBA`` is not "0".

What they save differs from the plain classes: x and the float64 mean and 1/std (one number per row or channel)
instead of xhat, and backward recomputes xhat = (x - mu) r from them, as PyTorch does. Forward then writes y
alone, and the call needs one x-sized array less: at 4096x1024 float32, 16 MiB.

Gradient accumulation: where x is a leaf whose ``.grad`` holds a gradient from an earlier backward, backward
adds dL/dx into that array in the loop that computes it, where the engine would add a new dL/dx array into it
afterwards (:func:`minigrad.autograd.engine.grad_to_add_into` says when that is allowed): one pass over memory
less, and no dL/dx array at all.

A vanishing gradient (one in or near the subnormal range, as over a long sequence) is lifted by a power of two
before LayerNorm's backward kernel and its results lowered after it (:mod:`minigrad.nn.ops.fast.subnormal`): the
same results, without the CPU's slow path for subnormal floats. That call writes dL/dx into a new array, which the
engine adds to ``.grad``.

Backward falls back to the plain class's formula if the arrays it receives do not suit the kernels (another
dtype or array type than forward's), so a node chosen for its forward never fails in backward.
"""

import types

import numpy

from minigrad.autograd.engine import ADDED_INTO_GRAD, grad_to_add_into
from minigrad.backends import get_array_module
from minigrad.nn.ops.batch_norm import BatchNorm, channel_axes, update_running_statistics
from minigrad.nn.ops.fast import kernels, subnormal
from minigrad.nn.ops.layer_norm import LayerNorm, as_rows


def _grad_to_add_into(ctx, needs_x, *inputs):
    """x's ``.grad`` array, where backward may add dL/dx into it in the same pass that computes it (the engine's
    grad_to_add_into, for an input that is a leaf with a gradient from an earlier backward) and it is C-contiguous
    and shares no memory with the arrays the kernel reads; else None, and dL/dx goes into a new array."""
    target = grad_to_add_into(ctx, 0) if needs_x else None
    if target is None or not target.flags.c_contiguous:
        return None
    if any(numpy.may_share_memory(target, array) for array in inputs):
        return None
    return target


def _plain_context(ctx, normalized, inv_std, weight):
    """A stand-in ctx holding what the plain class's backward reads: its saved arrays (xhat in x's dtype, r, gamma)
    and ctx's other attributes. For the fallback of backward; ctx itself is left as forward made it."""
    plain = types.SimpleNamespace(**vars(ctx))
    plain.needs_input_grad, plain.saved_tensors = ctx.needs_input_grad, (normalized, inv_std, weight)
    return plain


class NumbaLayerNorm(LayerNorm):
    """LayerNorm as one compiled loop per row for forward and one for backward (dgamma and dbeta in the same pass),
    xhat recomputed in backward from the saved x, mean and 1/std."""

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim, eps):
        xp = get_array_module(x)
        x_rows, weight_row, bias_row = as_rows(ctx, x, weight, bias, normalized_ndim)
        rows, m = x_rows.shape
        x_rows = xp.ascontiguousarray(x_rows)
        mean, inv_std = xp.empty(rows), xp.empty(rows)  # float64, as the kernels compute them
        output = xp.empty_like(x_rows)
        weight_or_one = xp.ones(m, dtype=x_rows.dtype) if weight_row is None else weight_row
        bias_or_zero = xp.zeros(m, dtype=x_rows.dtype) if bias_row is None else bias_row
        kernels.layer_norm_forward(x_rows, weight_or_one, bias_or_zero, eps, mean, inv_std, output)
        ctx.save_for_backward(x_rows, mean, inv_std, weight_row)
        return output.reshape(ctx.x_shape)

    @staticmethod
    def backward(ctx, grad_output):
        x_rows, mean, inv_std, weight_row = ctx.saved_tensors
        rows, m = x_rows.shape
        if not kernels.suits(grad_output, x_rows, weight_row):
            normalized = ((x_rows - mean[:, None]) * inv_std[:, None]).astype(x_rows.dtype)
            plain = _plain_context(ctx, normalized, inv_std[:, None].astype(x_rows.dtype), weight_row)
            return LayerNorm.backward(plain, grad_output)
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        xp = get_array_module(x_rows)
        grad_rows = xp.ascontiguousarray(grad_output.reshape(rows, m))
        weight_or_one = xp.ones(m, dtype=x_rows.dtype) if weight_row is None else weight_row
        factor = subnormal.lift(grad_rows)
        if factor is not None:  # on the lifted gradient, into new arrays, then lowered
            grad_x = xp.empty(ctx.x_shape, dtype=x_rows.dtype)
            with subnormal.quiet():  # an overflow here is found below and recomputed, not reported
                sums = kernels.layer_norm_backward(subnormal.scaled(grad_rows, factor), weight_or_one, x_rows,
                                                   mean, inv_std, grad_x.reshape(rows, m))
                lowered = subnormal.lowered((grad_x, *sums), factor)  # the float64 sums rounded once, below
            if lowered is None:  # a lifted result overflowed: computed unlifted below
                factor = None
            else:
                grad_x, grad_weight, grad_bias = lowered
        if factor is None:
            accumulate_into = _grad_to_add_into(ctx, needs_x, grad_rows, x_rows, weight_or_one)
            grad_x = xp.empty(ctx.x_shape, dtype=x_rows.dtype) if accumulate_into is None else accumulate_into
            grad_weight, grad_bias = kernels.layer_norm_backward(
                grad_rows, weight_or_one, x_rows, mean, inv_std, grad_x.reshape(rows, m),
                accumulate=accumulate_into is not None)
            if accumulate_into is not None:
                grad_x = ADDED_INTO_GRAD
        return (grad_x if needs_x else None,
                grad_weight.astype(x_rows.dtype).reshape(ctx.parameter_shape) if needs_weight else None,
                grad_bias.astype(x_rows.dtype).reshape(ctx.parameter_shape) if needs_bias else None,
                None, None)


def _as_ncl(array):
    """A C-contiguous (N, C, L) view (or copy) of an (N, C) or (N, C, L) array: the kernels' one layout."""
    xp = get_array_module(array)
    return xp.ascontiguousarray(array).reshape(array.shape[0], array.shape[1], -1)


class NumbaBatchNorm(BatchNorm):
    """BatchNorm with compiled loops: float64 per-channel sums in fixed chunks of rows, then one normalizing pass;
    xhat recomputed in backward from the saved x, mean and 1/std."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, use_batch_statistics, momentum, eps):
        xp = get_array_module(x)
        channels = x.shape[1]
        channel_axes(ctx, x, use_batch_statistics)
        x_ncl = _as_ncl(x)
        if use_batch_statistics:
            mean, variance = kernels.batch_norm_statistics(x_ncl)
            if running_mean is not None:
                update_running_statistics(running_mean, running_var, mean, variance, x.size // channels, momentum)
        else:
            mean, variance = running_mean.astype(xp.float64), running_var.astype(xp.float64)
        inv_std = 1.0 / xp.sqrt(variance + eps)
        output = xp.empty_like(x_ncl)
        kernels.batch_norm_normalize(x_ncl, mean, inv_std,
                                     xp.ones(channels, x.dtype) if weight is None else weight,
                                     xp.zeros(channels, x.dtype) if bias is None else bias, output)
        ctx.save_for_backward(x_ncl, mean, inv_std, weight)
        return output.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_output):
        x_ncl, mean, inv_std, weight = ctx.saved_tensors
        xp = get_array_module(x_ncl)
        channels, dtype = x_ncl.shape[1], x_ncl.dtype
        if not kernels.suits(grad_output, x_ncl, weight):
            per_channel = (1, channels) + (1,) * (grad_output.ndim - 2)
            normalized = ((x_ncl - mean[:, None]) * inv_std[:, None]).astype(dtype).reshape(grad_output.shape)
            plain = _plain_context(ctx, normalized, inv_std.astype(dtype).reshape(per_channel),
                                   None if weight is None else weight.reshape(per_channel))
            return BatchNorm.backward(plain, grad_output)
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        grad_ncl = _as_ncl(grad_output)
        sum_grad, sum_grad_normalized = kernels.batch_norm_gradient_sums(grad_ncl, x_ncl, mean, inv_std)
        grad_x = None
        if needs_x:
            scale = inv_std if weight is None else weight * inv_std  # gamma r, float64
            if ctx.use_batch_statistics:
                count = x_ncl.size // channels
                accumulate_into = _grad_to_add_into(ctx, needs_x, grad_ncl, x_ncl)
                grad_x = xp.empty(grad_output.shape, dtype=dtype) if accumulate_into is None else accumulate_into
                kernels.batch_norm_backward(grad_ncl, x_ncl, mean, inv_std, scale, sum_grad / count,
                                            sum_grad_normalized / count, grad_x.reshape(x_ncl.shape),
                                            accumulate=accumulate_into is not None)
                if accumulate_into is not None:
                    grad_x = ADDED_INTO_GRAD
            else:
                per_channel = (1, channels) + (1,) * (grad_output.ndim - 2)
                grad_x = grad_output * scale.astype(dtype).reshape(per_channel)
        return (grad_x,
                sum_grad_normalized.astype(dtype) if needs_weight else None,
                sum_grad.astype(dtype) if needs_bias else None, None, None, None, None, None)
