"""Batch normalization as one graph node with a hand-derived backward.

BatchNorm is LayerNorm's computation (:mod:`minigrad.nn.ops.layer_norm`) turned on its side: the m numbers
normalized together are one channel c over the batch (and length, or height and width) axes, m = N, N L or N H W,
instead of the features of one example; gamma and beta have one value per channel:

    mu_c = mean of x[:, c],  var_c = mean of (x[:, c] - mu_c)^2,  r_c = (var_c + eps)^(-1/2)
    xhat = (x - mu_c) r_c,   y = gamma_c xhat + beta_c

The derivation of the LayerNorm file carries over word for word, per channel, and gives, with g = dL/dy gamma_c:

    dL/dx = (r/m) (m g - sum g - xhat sum(g xhat))

Because gamma is a constant within a channel, the two sums are gamma times the parameters' gradients,
sum g = gamma dL/dbeta and sum g xhat = gamma dL/dgamma, so backward computes those first and then

    dL/dx = gamma r (dL/dy - mean(dL/dy) - xhat mean(dL/dy xhat)).

Evaluation mode normalizes with the running averages instead of the batch's statistics. Those are constants with
respect to x, so only the first term survives: dL/dx = dL/dy gamma r.

Faster implementations of this class (cache-blocked NumPy, compiled loops) are subclasses in
:mod:`minigrad.nn.ops.fast`; ``minigrad.set_fast_kernels(False)`` makes every call run this one.
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.backends import get_array_module


class BatchNorm(Function):
    """Batch normalization of x of shape (N, C), (N, C, L) or (N, C, H, W), per channel C.

    ``use_batch_statistics=True`` (training, or no running statistics at all): normalize with the batch's mean
    and biased variance over every axis but 1, (0,), (0, 2) or (0, 2, 3); if running_mean and running_var are
    given, forward also folds the batch statistics into them, in place, as PyTorch does (see
    update_running_statistics).
    ``use_batch_statistics=False`` (evaluation): normalize with running_mean and running_var.
    """

    # the running statistics are left out where forward already folded this batch into them
    twin = staticmethod(lambda x, weight, bias, mean, var, batch_statistics, momentum, eps: composed.batch_norm(
        x, None if batch_statistics else mean, None if batch_statistics else var, weight, bias, batch_statistics,
        momentum, eps))

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, use_batch_statistics, momentum, eps):
        xp = get_array_module(x)
        channels = x.shape[1]
        per_channel, reduced_axes = channel_axes(ctx, x, use_batch_statistics)
        if use_batch_statistics:
            mean = x.mean(axis=reduced_axes, keepdims=True)
            centered = x - mean
            offset = centered.mean(axis=reduced_axes, keepdims=True)  # the rounding offset, as in LayerNorm
            centered = centered - offset
            variance = (centered * centered).mean(axis=reduced_axes, keepdims=True)
            if running_mean is not None:
                update_running_statistics(running_mean, running_var, (mean + offset).reshape(channels),
                                          variance.reshape(channels), x.size // channels, momentum)
        else:
            centered = x - running_mean.reshape(per_channel)
            variance = running_var.reshape(per_channel)
        inv_std = 1.0 / xp.sqrt(variance + eps)
        normalized = centered * inv_std
        weight_c = None if weight is None else weight.reshape(per_channel)
        output = normalized
        if weight is not None:
            output = output * weight_c
        if bias is not None:
            output = output + bias.reshape(per_channel)
        ctx.save_for_backward(normalized, inv_std, weight_c)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight_c = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        channels = normalized.shape[1]
        grad_bias = grad_output.sum(axis=ctx.reduced_axes, keepdims=True)                  # sum of dL/dy
        grad_weight = (grad_output * normalized).sum(axis=ctx.reduced_axes, keepdims=True)  # sum of dL/dy xhat
        grad_x = None
        if needs_x:
            scale = inv_std if weight_c is None else weight_c * inv_std  # gamma r, per channel
            if ctx.use_batch_statistics:
                count = normalized.size // channels
                grad_x = scale * (grad_output - grad_bias / count - normalized * (grad_weight / count))
            else:
                grad_x = grad_output * scale
        return (grad_x, grad_weight.reshape(channels) if needs_weight else None,
                grad_bias.reshape(channels) if needs_bias else None, None, None, None, None, None)


def channel_axes(ctx, x, use_batch_statistics):
    """The shape that broadcasts a (C,) vector against x, (1, C), (1, C, 1) or (1, C, 1, 1), and the axes each
    channel's statistics run over, every axis but 1; `ctx` keeps the mode and the axes for backward."""
    per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    reduced_axes = (0,) + tuple(range(2, x.ndim))
    ctx.use_batch_statistics, ctx.reduced_axes = use_batch_statistics, reduced_axes
    return per_channel, reduced_axes


def update_running_statistics(running_mean, running_var, mean, variance, count, momentum):
    """Fold a batch's per-channel mean and biased variance ((C,) each) into the running averages, in place:

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * variance * m / (m - 1)   (unbiased)

    with m = `count` values per channel. That update is bookkeeping, not part of the function being
    differentiated: no gradient flows through it."""
    running_mean *= 1 - momentum
    running_mean += momentum * mean
    running_var *= 1 - momentum
    running_var += momentum * variance * (count / (count - 1))
