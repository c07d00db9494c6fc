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

In BatchNorm's evaluation mode mu and var are the running averages, constants with respect to x, so only the
first term survives: dL/dx_i = g_i r.
"""

from minigrad.autograd.function import Function
from minigrad.backends import get_array_module


def _normalize(x, axes, eps):
    """The forward lines above, over `axes`: returns xhat, r, mu and var (kept with size-1 axes, to broadcast)."""
    xp = get_array_module(x)
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    # In float32 the mean is itself rounded (the spacing of float32 numbers near 1e4 is 1e-3, a tenth of a
    # std of 1e-2), which leaves a common offset in every centered value. Those values are small and exact, so
    # their own mean measures the offset precisely: removing it is the "corrected two-pass" algorithm.
    centered -= centered.mean(axis=axes, keepdims=True)
    variance = (centered * centered).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / xp.sqrt(variance + eps)
    normalized = centered
    normalized *= inv_std  # in place (centered is not needed again): one x-sized array fewer
    return normalized, inv_std, mean, variance


def _grad_input_from_batch_statistics(grad_normalized, normalized, inv_std, axes):
    """dL/dx = r * (g - mean(g) - xhat * mean(g * xhat)), the fused formula with 1/m folded into the means."""
    projection = (grad_normalized * normalized).mean(axis=axes, keepdims=True)  # mean(g * xhat), per group
    grad_input = normalized * -projection  # the last term into a fresh array, then the others added in place:
    grad_input += grad_normalized          # no further temporaries of x's size
    grad_input -= grad_normalized.mean(axis=axes, keepdims=True)
    grad_input *= inv_std
    return grad_input


def _scale_and_shift(normalized, weight, bias):
    """y = xhat * gamma + beta, gamma and beta each optional.

    xhat is kept for backward, so y is a new array, except with neither gamma nor beta, where y is xhat itself
    (safe to share: minigrad has no in-place ops on tensors)."""
    if weight is None:
        return normalized if bias is None else normalized + bias
    output = normalized * weight
    if bias is not None:
        output += bias  # in place into the fresh product
    return output


class LayerNormFunction(Function):
    """y = LN(x) over the last `normalized_ndim` axes, then * weight + bias (weight and bias may be None).

    Backward (derived above), per example with m normalized elements and g = dL/dy * weight:
    dL/dx = (r/m) (m g - sum g - xhat sum(g xhat));  dL/dweight, dL/dbias = sums of dL/dy * xhat and dL/dy.

    weight and bias have the shape of those trailing axes and are shared by every leading (batch) index, so their
    gradients are summed over the leading axes.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim, eps):
        normalized_axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        normalized, inv_std, _, _ = _normalize(x, normalized_axes, eps)
        ctx.save_for_backward(normalized, inv_std, weight)
        ctx.normalized_axes = normalized_axes
        return _scale_and_shift(normalized, weight, bias)

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        batch_axes = tuple(range(normalized.ndim - len(ctx.normalized_axes)))
        grad_x = grad_weight = grad_bias = None
        # The parameters' gradients first: their x-sized temporary is gone before dL/dx needs two x-sized arrays.
        if needs_weight:
            grad_weight = (grad_output * normalized).sum(axis=batch_axes)
        if needs_bias:
            grad_bias = grad_output.sum(axis=batch_axes)
        if needs_x:
            grad_normalized = grad_output if weight is None else grad_output * weight
            grad_x = _grad_input_from_batch_statistics(grad_normalized, normalized, inv_std, ctx.normalized_axes)
        return grad_x, grad_weight, grad_bias, None, None


class BatchNormFunction(Function):
    """Batch normalization of x of shape (N, C) or (N, C, L), per channel C.

    ``use_batch_statistics=True`` (training, or no running statistics at all): normalize with the batch's mean
    and biased variance over the axes (0,) or (0, 2), m = N or N*L values per channel; if running_mean and
    running_var are given, forward also folds the batch statistics into them, in place, as PyTorch does:

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)   (the unbiased variance)

    That update is bookkeeping, not part of the function being differentiated: no gradient flows through it.
    Backward (derived above), per channel with g = dL/dy * weight: dL/dx = (r/m) (m g - sum g - xhat sum(g xhat)).

    ``use_batch_statistics=False`` (evaluation): normalize with running_mean and running_var, which are constants
    here, so dL/dx = dL/dy * gamma * r.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, use_batch_statistics, momentum, eps):
        channels = x.shape[1]
        per_channel = (1, channels) + (1,) * (x.ndim - 2)  # a (C,) vector reshaped to broadcast against x
        reduced_axes = (0,) + tuple(range(2, x.ndim))
        if use_batch_statistics:
            normalized, inv_std, mean, variance = _normalize(x, reduced_axes, eps)
            if running_mean is not None:
                count = x.size // channels
                running_mean *= 1 - momentum
                running_mean += momentum * mean.reshape(channels)
                running_var *= 1 - momentum
                running_var += momentum * variance.reshape(channels) * (count / (count - 1))
        else:
            xp = get_array_module(x)
            inv_std = (1.0 / xp.sqrt(running_var + eps)).reshape(per_channel)
            normalized = (x - running_mean.reshape(per_channel)) * inv_std
        ctx.save_for_backward(normalized, inv_std, weight)
        ctx.use_batch_statistics, ctx.reduced_axes, ctx.per_channel = use_batch_statistics, reduced_axes, per_channel
        return _scale_and_shift(normalized,
                                None if weight is None else weight.reshape(per_channel),
                                None if bias is None else bias.reshape(per_channel))

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        axes = ctx.reduced_axes
        grad_x = grad_weight = grad_bias = None
        if needs_weight:  # first, as in LayerNorm: lower peak memory
            grad_weight = (grad_output * normalized).sum(axis=axes)
        if needs_bias:
            grad_bias = grad_output.sum(axis=axes)
        if needs_x:
            grad_normalized = grad_output if weight is None else grad_output * weight.reshape(ctx.per_channel)
            if ctx.use_batch_statistics:
                grad_x = _grad_input_from_batch_statistics(grad_normalized, normalized, inv_std, axes)
            else:
                grad_x = grad_normalized * inv_std
        return grad_x, grad_weight, grad_bias, None, None, None, None, None
