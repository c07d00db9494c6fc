"""Arithmetic: add, sub, mul, div, neg, pow.

Every binary op here broadcasts like NumPy, so each gradient is summed back to its input's shape with
:func:`~minigrad.autograd.broadcasting.unbroadcast`. An argument may be a plain Python number (``t * 2``); it gets
no gradient, and ``ctx.needs_input_grad`` tells backward which gradients are wanted at all. (Next to a NumPy float
tensor, ``t * 2`` hands the op the number as the 0-d array of ``t``'s dtype that NumPy would convert it to, made
once: see ``Tensor._arithmetic``.)
"""

from minigrad.autograd.broadcasting import unbroadcast
from minigrad.autograd.function import Function
from minigrad.backends import get_array_module


def _shape(value):
    return getattr(value, "shape", ())


class Add(Function):
    """y = a + b.    dL/da = dL/dy,  dL/db = dL/dy   (each summed back to its input's shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = _shape(a), _shape(b)
        return a + b

    @staticmethod
    def backward(ctx, grad_output):
        needs_a, needs_b = ctx.needs_input_grad
        return (unbroadcast(grad_output, ctx.a_shape) if needs_a else None,
                unbroadcast(grad_output, ctx.b_shape) if needs_b else None)


class Sub(Function):
    """y = a - b.    dL/da = dL/dy,  dL/db = -dL/dy."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = _shape(a), _shape(b)
        return a - b

    @staticmethod
    def backward(ctx, grad_output):
        needs_a, needs_b = ctx.needs_input_grad
        return (unbroadcast(grad_output, ctx.a_shape) if needs_a else None,
                unbroadcast(-grad_output, ctx.b_shape) if needs_b else None)


class Mul(Function):
    """y = a * b.    dL/da = dL/dy * b,  dL/db = dL/dy * a   (product rule: each factor's partial is the other)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        return (unbroadcast(grad_output * b, _shape(a)) if needs_a else None,
                unbroadcast(grad_output * a, _shape(b)) if needs_b else None)


class Div(Function):
    """y = a / b.    dL/da = dL/dy / b,  dL/db = -dL/dy * a / b**2 = -dL/dy * y / b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        return (unbroadcast(grad_output / b, _shape(a)) if needs_a else None,
                unbroadcast(-grad_output * a / (b * b), _shape(b)) if needs_b else None)


class Neg(Function):
    """y = -x.    dL/dx = -dL/dy."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad_output):
        return -grad_output


class Pow(Function):
    """y = a ** b, for a constant exponent b or a tensor b.

    dL/da = dL/dy * b * a**(b - 1)
    dL/db = dL/dy * a**b * log(a) = dL/dy * y * log(a)

    At a = 0 the second formula meets 0 * log(0) = 0 * -inf; the limit of a**b * log(a) as a -> 0+ is 0 for
    b > 0, so, as PyTorch does, the exponent's gradient is taken as 0 where a == 0 and b >= 0. Likewise where
    b == 0, a**0 = 1 is constant and dL/da = 0, though the first formula reads 0 * 0**(-1) = 0 * inf at a = 0.
    """

    @staticmethod
    def forward(ctx, a, b):
        output = a ** b
        ctx.save_for_backward(a, b, output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        a, b, output = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if needs_a:
            # Where b == 0, raise to 0 instead of -1: the factor b zeroes the term anyway, without 0 * inf.
            slope = b * a ** (b - 1 + (b == 0))
            if needs_b:  # PyTorch masks the slope there, so its derivative in b is 0 at b == 0 as well (not 1/a)
                slope = get_array_module(a, b).where(b == 0, 0, slope)
            grad_a = unbroadcast(grad_output * slope, _shape(a))
        if needs_b:
            xp = get_array_module(a, b)
            zero_base = (a == 0) & (b >= 0)
            log_a = xp.log(xp.where(zero_base, 1, a))
            grad_b = unbroadcast(grad_output * output * log_a, _shape(b))
        return grad_a, grad_b
