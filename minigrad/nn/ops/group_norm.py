"""Group normalization (Wu and He, 2018) as one graph node with a hand-derived backward.

GroupNorm splits the C channels of each example into G groups of C/G consecutive channels and normalizes each
group over its channels and positions: LayerNorm (:mod:`minigrad.nn.ops.layer_norm`) on rows of m = (C/G) H W
numbers, one row per (example, group). Then a gain and a shift per channel:

    x viewed as (N, G, m):  mu = mean of a row,  var = mean of (x - mu)^2 over the row,  r = (var + eps)^(-1/2)
    xhat = (x - mu) r,      y[n, c, ...] = gamma_c xhat[n, c, ...] + beta_c

G = 1 is LayerNorm over (C, H, W) (with one gain per channel instead of one per element); G = C normalizes every
channel of every example alone, which is InstanceNorm. None of them looks at the other examples of the batch, so
training and evaluation compute the same thing and the batch size does not matter.

Backward. Within a row the normalization is LayerNorm's, so its derivation carries over word for word with
g = dL/dxhat = dL/dy gamma_c (gamma now varies along the row, channel by channel, which the derivation allows:
it never assumed gamma constant):

    dL/dx = (r/m) (m g - sum_row g - xhat sum_row(g xhat))

and the parameters' gradients sum over everything a channel's gain touched, every example and position:

    dL/dgamma_c = sum_{n, positions} dL/dy xhat,     dL/dbeta_c = sum_{n, positions} dL/dy.
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed


class GroupNorm(Function):
    """y = GN(x) in `num_groups` groups of channels, then * weight + bias per channel (both may be None), for x
    of shape (N, C, *)."""

    twin = staticmethod(lambda x, weight, bias, num_groups, eps: composed.group_norm(x, num_groups, weight, bias, eps))

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps):
        n, channels = x.shape[:2]
        rows = x.reshape(n, num_groups, -1)                       # (N, G, m): one row per example and group
        centered = rows - rows.mean(axis=2, keepdims=True)
        centered = centered - centered.mean(axis=2, keepdims=True)  # the rounding offset, as in LayerNorm
        inv_std = ((centered * centered).mean(axis=2, keepdims=True) + eps) ** -0.5
        normalized = (centered * inv_std).reshape(x.shape)
        per_channel = (1, channels) + (1,) * (x.ndim - 2)
        weight_c = None if weight is None else weight.reshape(per_channel)
        output = normalized if weight_c is None else normalized * weight_c
        if bias is not None:
            output = output + bias.reshape(per_channel)
        ctx.num_groups = num_groups
        ctx.save_for_backward(normalized, inv_std, weight_c)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight_c = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        n, channels = normalized.shape[:2]
        not_channel = (0,) + tuple(range(2, normalized.ndim))
        grad_x = grad_weight = grad_bias = None
        if needs_x:
            g = grad_output if weight_c is None else grad_output * weight_c  # dL/dxhat
            g_rows = g.reshape(n, ctx.num_groups, -1)
            normalized_rows = normalized.reshape(g_rows.shape)
            m = g_rows.shape[2]
            grad_x = inv_std / m * (m * g_rows - g_rows.sum(axis=2, keepdims=True)
                                    - normalized_rows * (g_rows * normalized_rows).sum(axis=2, keepdims=True))
            grad_x = grad_x.reshape(normalized.shape)
        if needs_weight:
            grad_weight = (grad_output * normalized).sum(axis=not_channel)
        if needs_bias:
            grad_bias = grad_output.sum(axis=not_channel)
        return grad_x, grad_weight, grad_bias, None, None
