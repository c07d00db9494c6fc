"""Root-mean-square normalization (Zhang and Sennrich, 2019) as one graph node with a hand-derived backward.

RMSNorm keeps LayerNorm's division by a spread and drops its subtraction of the mean: the m features x_1..x_m of
one example are divided by their root mean square, then scaled by a learned gain w per feature (no shift):

    s      = (1/m) sum_j x_j^2                 mean square
    r      = (s + eps)^(-1/2)                  inv_rms
    xhat_j = x_j r                             normalized
    y_j    = w_j xhat_j

Without the mean, y is unchanged when x is multiplied by a positive number (up to eps) but not when a constant
is added to x: the invariance to re-scaling survives, the one to re-centering is gone (lesson 16 computes the
paper's Table 1 for it). One pass over the data suffices, as there is no mean to subtract first.

Backward. Write g_j = dL/dxhat_j = dL/dy_j * w_j. x_i reaches L directly through xhat_i and, like every x_k,
through r, which the whole example shares:

    dL/dr   = sum_j g_j x_j
    dL/ds   = dL/dr * dr/ds = -(1/2) r^3 sum_j g_j x_j
    ds/dx_i = 2 x_i / m
    dL/dx_i = g_i r + dL/ds * ds/dx_i = g_i r - (r^3 / m) x_i sum_j g_j x_j
            = r (g_i - xhat_i * mean_j(g_j xhat_j))                         (using x = xhat / r)

which is LayerNorm's formula without its -(r/m) sum_k g_k term: that term was the path through the mean, and
here there is no mean. The gain's gradient sums over the examples, as it is shared by all of them:

    dL/dw_j = sum over examples of dL/dy_j xhat_j.

Forward saves xhat, r (one number per example) and w. The composed twin in :mod:`minigrad.nn.composed` is the
same forward written with primitive ops, the reference this op is tested against.
"""

import numpy

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.nn.ops.layer_norm import as_rows


def default_eps(dtype, eps):
    """eps as given, or, for None, the machine epsilon of the input's dtype (``torch.nn.functional.rms_norm``'s
    default: 1.19e-7 in float32, 2.2e-16 in float64, far below LayerNorm's 1e-5)."""
    return float(numpy.finfo(dtype).eps) if eps is None else eps


class RMSNorm(Function):
    """y = x / RMS(x) over the last `normalized_ndim` axes, then * weight (weight may be None).

    weight has the shape of those trailing axes and is shared by every leading (batch) index. As in LayerNorm, x
    is viewed as rows of m = prod(normalized shape) numbers, one row per example: means along axis 1, the
    weight's gradient summed along axis 0.
    """

    twin = staticmethod(lambda x, weight, normalized_ndim, eps: composed.rms_norm(
        x, x.shape[x.ndim - normalized_ndim:], weight, eps))

    @staticmethod
    def forward(ctx, x, weight, normalized_ndim, eps):
        x_rows, weight_row, _ = as_rows(ctx, x, weight, None, normalized_ndim)
        mean_square = (x_rows * x_rows).mean(axis=1, keepdims=True)
        inv_rms = (mean_square + eps) ** -0.5
        normalized = x_rows * inv_rms
        output = normalized if weight_row is None else normalized * weight_row
        ctx.save_for_backward(normalized, inv_rms, weight_row)
        return output.reshape(ctx.x_shape)

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_rms, weight_row = ctx.saved_tensors
        needs_x, needs_weight = ctx.needs_input_grad[:2]
        grad_rows = grad_output.reshape(normalized.shape)
        grad_x = grad_weight = None
        if needs_x:
            g = grad_rows if weight_row is None else grad_rows * weight_row  # dL/dxhat
            grad_x = inv_rms * (g - normalized * (g * normalized).mean(axis=1, keepdims=True))
            grad_x = grad_x.reshape(ctx.x_shape)
        if needs_weight:
            grad_weight = (grad_rows * normalized).sum(axis=0).reshape(ctx.parameter_shape)
        return grad_x, grad_weight, None, None
