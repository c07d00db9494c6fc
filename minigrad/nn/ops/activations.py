"""Softmax and log-softmax along one axis, each as one graph node.

Both start from the same stable form. Softmax does not change when a constant is subtracted from every input,
so subtract the maximum first: the largest exponent is then exp(0) = 1 and nothing overflows, even for inputs
of 1e4 (where exp(1e4) is inf in any float format):

    s_i = exp(x_i - max) / sum_j exp(x_j - max)
    l_i = log s_i = (x_i - max) - log sum_j exp(x_j - max)         (log-sum-exp; never log of a tiny s_i)

Softmax backward. Each s_i depends on every x_k:

    ds_i/dx_k = s_i (delta_ik - s_k)
    dL/dx_k   = sum_i g_i s_i (delta_ik - s_k) = s_k (g_k - sum_i g_i s_i)

Log-softmax backward. dl_i/dx_k = delta_ik - s_k, so

    dL/dx_k = g_k - s_k sum_i g_i

Both gradients cost two passes over the data and never build the m x m Jacobian.
"""

from minigrad.autograd.function import Function
from minigrad.backends import get_array_module


def stable_log_softmax(x, axis):
    """log softmax of the raw array `x` along `axis`, shifted by the maximum so that no exponent overflows."""
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """s = softmax(x) along `axis`.    dL/dx = s * (g - sum(g * s))   (derived above)."""

    @staticmethod
    def forward(ctx, x, axis):
        xp = get_array_module(x)
        exponentials = xp.exp(x - x.max(axis=axis, keepdims=True))
        output = exponentials / exponentials.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(output)
        ctx.axis = axis
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return output * (grad_output - (grad_output * output).sum(axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
    """l = log softmax(x) along `axis`.    dL/dx = g - softmax(x) * sum(g)   (derived above)."""

    @staticmethod
    def forward(ctx, x, axis):
        output = stable_log_softmax(x, axis)
        ctx.save_for_backward(output)
        ctx.axis = axis
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        softmax = get_array_module(output).exp(output)
        return grad_output - softmax * grad_output.sum(axis=ctx.axis, keepdims=True), None
