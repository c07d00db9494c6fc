"""Elementwise functions: exp, log, sqrt, tanh, sigmoid, relu, abs, maximum, minimum, and dtype casts.

For y = f(x) applied elementwise, the Jacobian is diagonal, so the chain rule is a product per element:
dL/dx = dL/dy * f'(x). Where f'(x) can be written with y, saving y instead of x spares recomputing f.
"""

from minigrad.autograd.broadcasting import unbroadcast
from minigrad.autograd.function import Function
from minigrad.backends import get_array_module


class Exp(Function):
    """y = exp(x).    dy/dx = exp(x) = y."""

    @staticmethod
    def forward(ctx, x):
        output = get_array_module(x).exp(x)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return grad_output * output


class Log(Function):
    """y = log(x).    dy/dx = 1 / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / x


class Sqrt(Function):
    """y = sqrt(x) = x ** (1/2).    dy/dx = 1 / (2 sqrt(x)) = 1 / (2 y)."""

    @staticmethod
    def forward(ctx, x):
        output = get_array_module(x).sqrt(x)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return grad_output / (2 * output)


class Tanh(Function):
    """y = tanh(x).    dy/dx = 1 - tanh(x)**2 = 1 - y**2."""

    @staticmethod
    def forward(ctx, x):
        output = get_array_module(x).tanh(x)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return grad_output * (1 - output * output)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)).    dy/dx = y * (1 - y).

    With e = exp(-|x|), which lies in (0, 1] and cannot overflow, the same function reads
        x >= 0:  y = 1 / (1 + e)
        x <  0:  y = e / (1 + e)      (1 / (1 + exp(-x)) with top and bottom multiplied by exp(x)).
    The second form keeps full relative precision for very negative x, where a form like (1 + tanh(x/2)) / 2
    cancels to 0: log(sigmoid(-40)) is -40 this way, not -inf.
    """

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        exp_minus_abs = xp.exp(-xp.abs(x))
        output = xp.where(x >= 0, 1 / (1 + exp_minus_abs), exp_minus_abs / (1 + exp_minus_abs))
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (output,) = ctx.saved_tensors
        return grad_output * output * (1 - output)


class Relu(Function):
    """y = max(x, 0).    dy/dx = 1 where x > 0, else 0 (at x = 0 the subgradient 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x > 0)
        return get_array_module(x).maximum(x, 0)

    @staticmethod
    def backward(ctx, grad_output):
        (positive,) = ctx.saved_tensors
        return grad_output * positive


class Abs(Function):
    """y = |x|.    dy/dx = sign(x) (0 at x = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).abs(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * get_array_module(x).sign(x)


class Maximum(Function):
    """y = maximum(a, b), elementwise and broadcasting.

    The gradient goes to whichever argument is larger; where they tie, each gets half (PyTorch's convention, and
    the average of the two one-sided derivatives).
    """

    @staticmethod
    def forward(ctx, a, b):
        xp = get_array_module(a, b)
        ctx.save_for_backward(a, b)
        return xp.maximum(a, b)

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        return _split_by_winner(ctx, grad_output, a > b, a == b, a, b)


class Minimum(Function):
    """y = minimum(a, b), elementwise and broadcasting; ties share the gradient equally, as in Maximum."""

    @staticmethod
    def forward(ctx, a, b):
        xp = get_array_module(a, b)
        ctx.save_for_backward(a, b)
        return xp.minimum(a, b)

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        return _split_by_winner(ctx, grad_output, a < b, a == b, a, b)


def _split_by_winner(ctx, grad_output, a_wins, tie, a, b):
    share_a = a_wins + 0.5 * tie          # 1 where a wins, 1/2 on a tie, 0 where b wins
    needs_a, needs_b = ctx.needs_input_grad
    return (unbroadcast(grad_output * share_a, getattr(a, "shape", ())) if needs_a else None,
            unbroadcast(grad_output * (1 - share_a), getattr(b, "shape", ())) if needs_b else None)


class Cast(Function):
    """y = x converted to another dtype.    dL/dx = dL/dy converted back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.astype(ctx.input_dtype), None
