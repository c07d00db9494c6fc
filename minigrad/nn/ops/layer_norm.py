"""Layer normalization as one graph node with a hand-derived backward.

LayerNorm normalizes the m features x_1..x_m of one example and then applies a learned gain gamma and shift beta
per feature:

    mu     = (1/m) sum_j x_j
    c_j    = x_j - mu                          centered
    var    = (1/m) sum_j c_j^2                 biased variance, computed from c (two passes over the data)
    r      = (var + eps)^(-1/2)                inv_std
    xhat_j = c_j r                             normalized
    y_j    = gamma_j xhat_j + beta_j

Why two passes: the one-pass formula var = E[x^2] - E[x]^2 subtracts two nearly equal large numbers when the
mean is large against the spread; in float32, data with mean 100 and std 0.01 gives var = 0 (or negative).
Subtracting the mean first keeps every term small. (Forward also subtracts the small mean left in c by rounding
the mean to float32; in exact arithmetic that correction is zero, so the derivation is unchanged.)

Backward. Write g_j = dL/dxhat_j = dL/dy_j * gamma_j. Walk the forward lines backwards; x_i reaches L through
c_i, and through mu; c_k reaches L through xhat_k and through var:

    dL/dr    = sum_j g_j c_j
    dL/dvar  = dL/dr * dr/dvar = -(1/2) r^3 sum_j g_j c_j
    dL/dc_k  = g_k r + dL/dvar * dvar/dc_k = g_k r - (r^3/m) c_k sum_j g_j c_j
             = r (g_k - xhat_k * mean_j(g_j xhat_j))                       (using c = xhat / r)
    dL/dmu   = -sum_k dL/dc_k = -r (sum_k g_k - mean_j(g_j xhat_j) sum_k xhat_k) = -r sum_k g_k
                                                                           (the xhat sum to zero)
    dL/dx_i  = dL/dc_i + dL/dmu * dmu/dx_i = dL/dc_i - (r/m) sum_k g_k

which gathers into the fused formula (lesson 3's boxed one)

    dL/dx_i = (r/m) * (m g_i - sum_k g_k - xhat_i sum_k g_k xhat_k)
    dL/dgamma_j = sum over examples of dL/dy_j xhat_j,   dL/dbeta_j = sum over examples of dL/dy_j.

It is written in xhat, which forward already computed, rather than in the raw x: xhat has mean 0 and variance
about 1, so no large offset is subtracted again in backward and float32 keeps its precision. Forward saves only
xhat, r (one number per example) and gamma: one array of x's size, where the composed graph keeps two (the
centered x and xhat) and makes more temporaries (``python -m minigrad.bench.fused_vs_composed`` measures it).
(The node also holds a reference to x itself, as PyTorch's does: second derivatives rebuild the twin on it.)
The composed twin in :mod:`minigrad.nn.composed` is the same formula written step by step with primitive ops,
the reference this fused op is tested against, and what ``create_graph=True`` differentiates (``twin`` below).

Faster implementations of this class (cache-blocked NumPy, compiled loops) are subclasses in
:mod:`minigrad.nn.ops.fast`; ``minigrad.set_fast_kernels(False)`` makes every call run this one.
"""

import math

from minigrad.autograd.function import Function
from minigrad.nn import composed


class LayerNorm(Function):
    """y = LN(x) over the last `normalized_ndim` axes, then * weight + bias (weight and bias may be None).

    weight and bias have the shape of those trailing axes and are shared by every leading (batch) index, so their
    gradients are summed over the leading axes. x is viewed as rows of m = prod(normalized shape) numbers, one
    row per example, so every mean and sum below is along axis 1 (per example) or axis 0 (over the examples).
    """

    twin = staticmethod(lambda x, weight, bias, normalized_ndim, eps: composed.layer_norm(
        x, x.shape[x.ndim - normalized_ndim:], weight, bias, eps))

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim, eps):
        x_rows, weight_row, bias_row = as_rows(ctx, x, weight, bias, normalized_ndim)
        mean = x_rows.mean(axis=1, keepdims=True)
        centered = x_rows - mean
        centered = centered - centered.mean(axis=1, keepdims=True)  # the rounding offset (see above)
        variance = (centered * centered).mean(axis=1, keepdims=True)
        inv_std = (variance + eps) ** -0.5
        normalized = centered * inv_std
        output = normalized
        if weight_row is not None:
            output = output * weight_row
        if bias_row is not None:
            output = output + bias_row
        ctx.save_for_backward(normalized, inv_std, weight_row)
        return output.reshape(ctx.x_shape)

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight_row = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        m = normalized.shape[1]
        grad_rows = grad_output.reshape(normalized.shape)
        grad_x = grad_weight = grad_bias = None
        if needs_x:
            g = grad_rows if weight_row is None else grad_rows * weight_row  # dL/dxhat
            grad_x = inv_std / m * (m * g - g.sum(axis=1, keepdims=True)
                                    - normalized * (g * normalized).sum(axis=1, keepdims=True))
            grad_x = grad_x.reshape(ctx.x_shape)
        if needs_weight:
            grad_weight = (grad_rows * normalized).sum(axis=0).reshape(ctx.parameter_shape)
        if needs_bias:
            grad_bias = grad_rows.sum(axis=0).reshape(ctx.parameter_shape)
        return grad_x, grad_weight, grad_bias, None, None


def as_rows(ctx, x, weight, bias, normalized_ndim):
    """x as (rows, m), one row per example, and weight and bias as (m,) vectors (or None); `ctx` keeps the shapes
    of x and of the parameters, which backward's gradients must have."""
    split = x.ndim - normalized_ndim  # the axes before it are the examples', those from it on are normalized
    ctx.x_shape, ctx.parameter_shape = x.shape, x.shape[split:]
    rows, m = math.prod(x.shape[:split]), math.prod(x.shape[split:])
    return (x.reshape(rows, m), None if weight is None else weight.reshape(m),
            None if bias is None else bias.reshape(m))
