"""Elementwise nonlinearities of ``torch.nn.functional``, each y = f(x) with dL/dx = dL/dy * f'(x):

    gelu:        y = x Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2 the standard normal CDF
                 f' = Phi(x) + x phi(x),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)   (product rule; Phi' = phi)
    gelu tanh:   y = x (1 + tanh(u)) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3)
                 f' = (1 + tanh u) / 2 + x (1 - tanh^2 u) / 2 * sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    silu:        y = x s(x),  s the sigmoid;  f' = s + x s (1 - s) = s (1 + x (1 - s))
    leaky_relu:  y = x for x > 0, a x otherwise;  f' = 1 or a (a at 0, as PyTorch)
    elu:         y = x for x > 0, alpha (exp(x) - 1) otherwise;  f' = 1 or alpha exp(x) = y + alpha (a at 0:
                 alpha, as PyTorch)
    softplus:    y = log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's switch to
                 the linear asymptote);  f' = s(beta x), 1 above the threshold
    logsigmoid:  y = log s(x) = -softplus(-x) = min(x, 0) - log(1 + exp(-|x|))   (never exp of a large number)
                 f' = 1 - s(x) = s(-x)
"""

import math

from minigrad.autograd.function import Function, call
from minigrad.backends import get_array_module
from minigrad.nn import composed
from minigrad.ops import Sigmoid


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow (ops.elementwise.Sigmoid), on arrays or, in a backward that records its
    graph, on Tensors with Sigmoid's own derivative."""
    return call(Sigmoid, x)


def erf(x):
    """The error function, on arrays or, in a backward that records its graph, on Tensors (see Erf)."""
    return call(Erf, x)


class Erf(Function):
    """y = erf(x) = (2 / sqrt(pi)) int_0^x exp(-t^2) dt.    dy/dx = (2 / sqrt(pi)) exp(-x^2).

    SciPy's ufunc on the host (and the strict backend), CuPy's on the GPU.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        if get_array_module(x).__name__ == "cupy":
            from cupyx.scipy.special import erf as device_erf
            return device_erf(x)
        from scipy.special import erf as host_erf
        return host_erf(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (2 / math.sqrt(math.pi)) * get_array_module(x).exp(-x * x)


class Gelu(Function):
    """y = x Phi(x) (approximate="none") or its tanh approximation (approximate="tanh"); derived above."""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        xp = get_array_module(x)
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        xp = get_array_module(x)
        if ctx.approximate == "tanh":
            tanh_u = xp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))
            slope = 0.5 * (1 + tanh_u) + 0.5 * x * (1 - tanh_u * tanh_u) * math.sqrt(2 / math.pi) * (
                1 + 3 * 0.044715 * x * x)
        else:
            cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
            density = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            slope = cdf + x * density
        return grad_output * slope, None


class Silu(Function):
    """y = x sigmoid(x).    dy/dx = s (1 + x (1 - s))."""

    twin = staticmethod(lambda *arguments: composed.silu(*arguments))

    @staticmethod
    def forward(ctx, x):
        s = sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_output):
        x, s = ctx.saved_tensors
        return grad_output * s * (1 + x * (1 - s))


class LeakyRelu(Function):
    """y = x where x > 0, negative_slope * x elsewhere.    dy/dx = 1 or negative_slope."""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        xp = get_array_module(x)
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.negative_slope = negative_slope
        return xp.where(positive, x, negative_slope * x)

    @staticmethod
    def backward(ctx, grad_output):
        (positive,) = ctx.saved_tensors
        return get_array_module(grad_output).where(positive, grad_output, ctx.negative_slope * grad_output), None


class Elu(Function):
    """y = x where x > 0, alpha (exp(x) - 1) elsewhere.    dy/dx = 1 or alpha exp(x)."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        xp = get_array_module(x)
        positive = x > 0
        ctx.save_for_backward(x, positive)
        ctx.alpha = alpha
        return xp.where(positive, x, alpha * xp.expm1(xp.minimum(x, 0)))  # min: no overflow in the unused branch

    @staticmethod
    def backward(ctx, grad_output):
        x, positive = ctx.saved_tensors
        xp = get_array_module(x)
        return grad_output * xp.where(positive, 1, ctx.alpha * xp.exp(xp.minimum(x, 0))), None


class Softplus(Function):
    """y = log(1 + exp(beta x)) / beta (x where beta x > threshold).    dy/dx = sigmoid(beta x) (1 there)."""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        xp = get_array_module(x)
        scaled = beta * x
        linear = scaled > threshold
        ctx.save_for_backward(x, linear)
        ctx.beta = beta
        # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): no overflow for large z
        smooth = (xp.maximum(scaled, 0) + xp.log1p(xp.exp(-xp.abs(scaled)))) / beta
        return xp.where(linear, x, smooth)

    @staticmethod
    def backward(ctx, grad_output):
        x, linear = ctx.saved_tensors
        return grad_output * get_array_module(x).where(linear, 1, sigmoid(ctx.beta * x)), None, None


class LogSigmoid(Function):
    """y = log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|)).    dy/dx = sigmoid(-x)."""

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        ctx.save_for_backward(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * sigmoid(-x)
