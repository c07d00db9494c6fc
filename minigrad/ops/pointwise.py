"""More elementwise functions, each y = f(x) with dL/dx = dL/dy * f'(x):

    sin:        f' = cos x                      cos:        f' = -sin x
    square:     f' = 2x                         reciprocal: y = 1/x,     f' = -1/x^2 = -y^2
    rsqrt:      y = x^(-1/2), f' = -x^(-3/2)/2 = -y^3/2
    log1p:      y = log(1 + x), f' = 1/(1 + x)  (accurate for tiny x, where 1 + x rounds to 1)
    expm1:      y = exp(x) - 1, f' = exp(x) = y + 1
    log2:       f' = 1/(x ln 2)                 log10:      f' = 1/(x ln 10)
    exp2:       y = 2^x, f' = 2^x ln 2 = y ln 2
    clamp:      y = min(max(x, low), high), f' = 1 where low <= x <= high, else 0 (PyTorch passes the gradient
                at the bounds themselves, where the function has a kink)
    nan_to_num: NaN and infinities replaced by numbers; f' = 1 where x is finite, 0 where it was replaced

and the piecewise-constant ones, sign, floor, ceil, round and trunc, whose derivative is 0 wherever it exists:
as PyTorch, their gradient is zero (not undefined), so they can sit inside a graph.
"""

import math

from minigrad.autograd.function import Function
from minigrad.backends import get_array_module


class Sin(Function):
    """y = sin(x).    dy/dx = cos(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).sin(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * get_array_module(x).cos(x)


class Cos(Function):
    """y = cos(x).    dy/dx = -sin(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).cos(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return -grad_output * get_array_module(x).sin(x)


class Square(Function):
    """y = x^2.    dy/dx = 2x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 2 * x


class Reciprocal(Function):
    """y = 1/x.    dy/dx = -1/x^2 = -y^2."""

    @staticmethod
    def forward(ctx, x):
        output = 1 / x
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return -grad_output * output * output


class Rsqrt(Function):
    """y = 1/sqrt(x).    dy/dx = -x^(-3/2) / 2 = -y^3 / 2."""

    @staticmethod
    def forward(ctx, x):
        output = 1 / get_array_module(x).sqrt(x)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return -0.5 * grad_output * output * output * output


class Log1p(Function):
    """y = log(1 + x).    dy/dx = 1 / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log1p(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + x)


class Expm1(Function):
    """y = exp(x) - 1.    dy/dx = exp(x) = y + 1."""

    @staticmethod
    def forward(ctx, x):
        output = get_array_module(x).expm1(x)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return grad_output * (output + 1)


class Log2(Function):
    """y = log2(x) = ln(x) / ln 2.    dy/dx = 1 / (x ln 2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log2(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (x * math.log(2))


class Log10(Function):
    """y = log10(x) = ln(x) / ln 10.    dy/dx = 1 / (x ln 10)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log10(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (x * math.log(10))


class Exp2(Function):
    """y = 2^x = exp(x ln 2).    dy/dx = 2^x ln 2 = y ln 2."""

    @staticmethod
    def forward(ctx, x):
        output = get_array_module(x).exp2(x)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return grad_output * output * math.log(2)


class Clamp(Function):
    """y = min(max(x, low), high) for numbers low and high (either may be None).

    dy/dx = 1 where low <= x <= high, 0 outside. At x == low or x == high the function has a kink; PyTorch lets
    the gradient through there (the inclusive comparison), and so does this op.
    """

    @staticmethod
    def forward(ctx, x, low, high):
        xp = get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        output = x
        if low is not None:
            inside &= x >= low
            output = xp.maximum(output, low)
        if high is not None:
            inside &= x <= high
            output = xp.minimum(output, high)  # after the maximum: high wins where low > high, as in PyTorch
        ctx.save_for_backward(inside)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (inside,) = ctx.saved_tensors
        return grad_output * inside, None, None


class NanToNum(Function):
    """y = x with NaN -> `nan`, +inf -> `posinf`, -inf -> `neginf` (None: the dtype's largest / smallest number).

    dy/dx = 1 where x is finite, 0 where it was replaced (a replaced element is a constant).
    """

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xp = get_array_module(x)
        ctx.save_for_backward(xp.isfinite(x))
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad_output):
        (finite,) = ctx.saved_tensors
        return grad_output * finite, None, None, None


class _PiecewiseConstant(Function):
    """Shared backward of sign, floor, ceil, round and trunc: dy/dx = 0 wherever it exists."""

    @staticmethod
    def backward(ctx, grad_output):
        return get_array_module(grad_output).zeros_like(grad_output)


class Sign(_PiecewiseConstant):
    """y = -1, 0 or 1 as x < 0, x == 0, x > 0.    dy/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).sign(x)


class Floor(_PiecewiseConstant):
    """y = the largest integer <= x.    dy/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).floor(x)


class Ceil(_PiecewiseConstant):
    """y = the smallest integer >= x.    dy/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).ceil(x)


class Round(_PiecewiseConstant):
    """y = x rounded to the nearest integer, halves to even (as PyTorch and NumPy).    dy/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).round(x)


class Trunc(_PiecewiseConstant):
    """y = x rounded toward zero.    dy/dx = 0."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).trunc(x)


class FloorDivide(Function):
    """y = floor(a / b), as Python's and PyTorch's ``//``. Integer-valued: no gradient (see ``Remainder``)."""

    @staticmethod
    def forward(ctx, a, b):
        return a // b


class Remainder(Function):
    """y = a - floor(a / b) * b, with the sign of b (Python's and PyTorch's ``%``).

    Without gradient: the Tensor operators take it outside the graph (PyTorch differentiates it as 1 with respect
    to a; that derivative breaks at every multiple of b, and ``%`` in a model is almost always index arithmetic).
    """

    @staticmethod
    def forward(ctx, a, b):
        return a % b


class Clone(Function):
    """y = a copy of x (its own memory).    dL/dx = dL/dy."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output
