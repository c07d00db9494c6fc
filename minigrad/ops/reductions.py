"""Reductions: sum, mean, var, max, min over `axis` (None, an int, or a tuple), with `keepdims`, as in NumPy.

A reduction maps many inputs to one output, so backward sends each output's gradient back to every input that
fed it: the gradient is *broadcast* back over the reduced axes (the mirror image of summing a broadcast input's
gradient). ``_spread`` does that; each op then multiplies by its own local derivative:

    sum:   dy/dx_i = 1
    mean:  dy/dx_i = 1/n
    var:   dy/dx_i = 2 (x_i - mean) / (n - ddof)
    max:   dy/dx_i = 1 for the maximal elements (shared equally between ties), 0 elsewhere
"""

from minigrad.autograd.function import Function
from minigrad.backends import get_array_module
from minigrad.dims import normalize_dims


def _axes(axis, ndim):
    """`axis` as a tuple of non-negative ints (None means every axis), with PyTorch's errors."""
    return normalize_dims(axis, ndim)


def _count(shape, axes):
    count = 1
    for a in axes:
        count *= shape[a]
    return count


def _spread(grad_output, input_shape, axes, keepdims):
    """Broadcast the gradient of a reduction back to the input's shape."""
    if not keepdims:  # put the reduced axes back as size 1 so broadcasting lines them up
        kept_shape = tuple(1 if a in axes else size for a, size in enumerate(input_shape))
        grad_output = grad_output.reshape(kept_shape)
    return get_array_module(grad_output).broadcast_to(grad_output, input_shape)


class Sum(Function):
    """y = sum of x over `axis`.    dL/dx_i = dL/dy for every x_i that was summed into y."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.input_shape, ctx.axes, ctx.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        return x.sum(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        return _spread(grad_output, ctx.input_shape, ctx.axes, ctx.keepdims), None, None


class Mean(Function):
    """y = (1/n) sum of x over `axis`.    dL/dx_i = dL/dy / n."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.input_shape, ctx.axes, ctx.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        ctx.count = _count(x.shape, ctx.axes)
        return x.mean(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        return _spread(grad_output / ctx.count, ctx.input_shape, ctx.axes, ctx.keepdims), None, None


class Var(Function):
    """y = sum((x - mean(x))**2) / (n - correction) over `axis` (correction 1 is the unbiased estimate, 0 the
    biased variance; NumPy calls it ddof).

    Forward takes two passes (first the mean, then the squared deviations), never E[x^2] - E[x]^2, which cancels
    catastrophically when the mean is large against the spread.

    dy/dx_i = 2 (x_i - mean) / (n - correction) + sum_j 2 (x_j - mean) / (n - correction) * (-1/n)
    and the second term vanishes because the deviations sum to zero, leaving
    dL/dx_i = dL/dy * 2 (x_i - mean) / (n - correction).

    Where correction >= n there are no degrees of freedom left: the divisor is taken as max(n - correction, 0),
    as NumPy and PyTorch do, so the variance is inf (nan where every deviation is 0, and over an empty axis), and
    so is its gradient, instead of a negative "variance".
    """

    @staticmethod
    def forward(ctx, x, axis=None, correction=1, keepdims=False):
        axes = _axes(axis, x.ndim)
        centered = x - x.mean(axis=axes, keepdims=True)
        ctx.save_for_backward(centered)
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.divisor = max(_count(x.shape, axes) - correction, 0)
        # array / divisor, never a Python number / divisor: a zero divisor gives inf or nan, not ZeroDivisionError
        return (centered * centered).sum(axis=axes, keepdims=keepdims) / ctx.divisor

    @staticmethod
    def backward(ctx, grad_output):
        (centered,) = ctx.saved_tensors
        spread = _spread(grad_output, centered.shape, ctx.axes, ctx.keepdims)
        return spread * centered * 2 / ctx.divisor, None, None, None


class Std(Function):
    """y = sqrt(var(x)) over `axis`, with var as in ``Var`` (the same `correction`).

    dL/dx = dL/dy * dy/dvar * dvar/dx = dL/dy / (2 y) * 2 (x - mean) / (n - correction).
    Where y = 0 (every element equal) sqrt has an infinite slope but every deviation x - mean is 0; PyTorch takes
    the gradient as 0 there (its ``std_backward`` masks 1 / (2 y)), and so does this op, instead of the nan that
    composing sqrt and var would give.
    """

    @staticmethod
    def forward(ctx, x, axis=None, correction=1, keepdims=False):
        xp = get_array_module(x)
        variance = Var.forward(ctx, x, axis, correction, keepdims)
        output = xp.sqrt(variance)
        ctx.output = output
        return output

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        output = ctx.output
        grad_variance = xp.where(output == 0, 0, grad_output / xp.where(output == 0, 1, 2 * output))
        return Var.backward(ctx, grad_variance)


class Max(Function):
    """y = max of x over `axis`.    The gradient flows to the maximal elements, split equally between ties."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return _extremum_forward(ctx, x, x.max(axis=_axes(axis, x.ndim), keepdims=True), axis, keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        return _extremum_backward(ctx, grad_output), None, None


class Min(Function):
    """y = min of x over `axis`.    The gradient flows to the minimal elements, split equally between ties."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return _extremum_forward(ctx, x, x.min(axis=_axes(axis, x.ndim), keepdims=True), axis, keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        return _extremum_backward(ctx, grad_output), None, None


def _extremum_forward(ctx, x, extremum, axis, keepdims):
    axes = _axes(axis, x.ndim)
    is_extremum = (x == extremum).astype(x.dtype)
    ctx.save_for_backward(is_extremum / is_extremum.sum(axis=axes, keepdims=True))  # each winner's share
    ctx.axes, ctx.keepdims = axes, keepdims
    return extremum if keepdims else extremum.reshape(
        tuple(size for a, size in enumerate(x.shape) if a not in axes))


def _extremum_backward(ctx, grad_output):
    (share,) = ctx.saved_tensors
    return _spread(grad_output, share.shape, ctx.axes, ctx.keepdims) * share


class Prod(Function):
    """y = product of x over `axis`.

    dy/dx_i = prod_{j != i} x_j. Where no factor is zero that is y / x_i. With zeros, y / x_i is 0 / 0, so the
    product of the other factors is taken directly: with exactly one zero x_k, dy/dx_k is the product of the
    nonzero factors and every other partial is 0 (each still contains the factor x_k = 0); with two or more
    zeros every partial contains a zero and is 0.
    """

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        xp = get_array_module(x)
        axes = _axes(axis, x.ndim)
        is_zero = x == 0
        ctx.save_for_backward(x, is_zero, is_zero.sum(axis=axes, keepdims=True),
                              xp.where(is_zero, 1, x).prod(axis=axes, keepdims=True))
        ctx.axes, ctx.keepdims = axes, keepdims
        return x.prod(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        x, is_zero, zero_count, nonzero_product = ctx.saved_tensors
        xp = get_array_module(x)
        others = xp.where(is_zero, xp.where(zero_count == 1, nonzero_product, 0),
                          xp.where(zero_count == 0, nonzero_product / xp.where(is_zero, 1, x), 0))
        return _spread(grad_output, x.shape, ctx.axes, ctx.keepdims) * others, None, None


class CumSum(Function):
    """y_i = sum_{j <= i} x_j along `axis`.

    x_j feeds every y_i with i >= j, each with derivative 1, so dL/dx_j = sum_{i >= j} dL/dy_i: the cumulative sum
    of the gradient taken from the end (flip, cumsum, flip).
    """

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        if x.ndim == 0:
            return x.copy()
        return get_array_module(x).cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad_output):
        if grad_output.ndim == 0:
            return grad_output, None
        xp = get_array_module(grad_output)
        return xp.flip(xp.cumsum(xp.flip(grad_output, axis=ctx.axis), axis=ctx.axis), axis=ctx.axis), None


class LogSumExp(Function):
    """y = log sum_i exp(x_i) over `axis`, computed as m + log sum_i exp(x_i - m) with m the maximum, so that
    no exponent overflows.    dy/dx_i = exp(x_i) / sum_j exp(x_j) = exp(x_i - y): the softmax."""

    @staticmethod
    def forward(ctx, x, axis, keepdims=False):
        xp = get_array_module(x)
        axes = _axes(axis, x.ndim)
        shift = x.max(axis=axes, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, dtype=x.dtype)
        shift = xp.where(xp.isfinite(shift), shift, 0)  # all -inf: log(0) = -inf comes out of the sum itself
        kept = shift + xp.log(xp.exp(x - shift).sum(axis=axes, keepdims=True))
        ctx.save_for_backward(x, kept)
        ctx.axes, ctx.keepdims = axes, keepdims
        return kept if keepdims else kept.reshape(tuple(s for a, s in enumerate(x.shape) if a not in axes))

    @staticmethod
    def backward(ctx, grad_output):
        x, kept = ctx.saved_tensors
        softmax = get_array_module(x).exp(x - kept)
        return _spread(grad_output, x.shape, ctx.axes, ctx.keepdims) * softmax, None, None


class Norm(Function):
    """y = ||x||_p over `axis`, for p = 2, 1 or inf:

        p = 2:    y = sqrt(sum x_i^2),  dy/dx_i = x_i / y   (0 where y = 0, the subgradient PyTorch takes)
        p = 1:    y = sum |x_i|,        dy/dx_i = sign(x_i)
        p = inf:  y = max |x_i|,        dy/dx_i = sign(x_i) at the elements with |x_i| = y (shared equally between
                                        ties, as amax), 0 elsewhere
    """

    @staticmethod
    def forward(ctx, x, p=2, axis=None, keepdims=False):
        xp = get_array_module(x)
        axes = _axes(axis, x.ndim)
        magnitude = xp.abs(x)
        if p == 2:
            kept = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif p == 1:
            kept = magnitude.sum(axis=axes, keepdims=True)
        elif p == float("inf"):
            kept = magnitude.max(axis=axes, keepdims=True)
        else:
            raise ValueError(f"norm: p must be 2, 1 or inf, not {p!r}")
        ctx.save_for_backward(x, kept)
        ctx.p, ctx.axes, ctx.keepdims = p, axes, keepdims
        return kept if keepdims else kept.reshape(tuple(s for a, s in enumerate(x.shape) if a not in axes))

    @staticmethod
    def backward(ctx, grad_output):
        x, kept = ctx.saved_tensors
        xp = get_array_module(x)
        if ctx.p == 2:
            local = x / xp.where(kept == 0, 1, kept)
        elif ctx.p == 1:
            local = xp.sign(x)
        else:
            winners = (xp.abs(x) == kept).astype(x.dtype)
            local = xp.sign(x) * winners / winners.sum(axis=ctx.axes, keepdims=True)
        return _spread(grad_output, x.shape, ctx.axes, ctx.keepdims) * local, None, None, None
