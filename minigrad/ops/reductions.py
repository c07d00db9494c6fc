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
        ctx.save_for_backward(x)
        return _variance(ctx, x, axis, correction, keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return _variance_backward(ctx, x, grad_output), None, None, None


def _variance(ctx, x, axis, correction, keepdims):
    axes = _axes(axis, x.ndim)
    centered = x - x.mean(axis=axes, keepdims=True)
    ctx.axes, ctx.keepdims = axes, keepdims
    ctx.divisor = max(_count(x.shape, axes) - correction, 0)
    # array / divisor, never a Python number / divisor: a zero divisor gives inf or nan, not ZeroDivisionError
    return (centered * centered).sum(axis=axes, keepdims=keepdims) / ctx.divisor


def _variance_backward(ctx, x, grad_output):
    """dL/dx = dL/dvar * 2 (x - mean) / (n - correction); the deviations are recomputed from x rather than saved,
    so that a backward under create_graph sees how they depend on x."""
    centered = x - x.mean(axis=ctx.axes, keepdims=True)
    return _spread(grad_output, x.shape, ctx.axes, ctx.keepdims) * centered * 2 / ctx.divisor


class Std(Function):
    """y = sqrt(var(x)) over `axis`, with var as in ``Var`` (the same `correction`).

    dL/dx = dL/dy * dy/dvar * dvar/dx = dL/dy / (2 y) * 2 (x - mean) / (n - correction).
    Where y = 0 (every element equal) sqrt has an infinite slope but every deviation x - mean is 0; PyTorch takes
    the gradient as 0 there (its ``std_backward`` masks 1 / (2 y)), and so does this op, instead of the nan that
    composing sqrt and var would give.
    """

    @staticmethod
    def forward(ctx, x, axis=None, correction=1, keepdims=False):
        output = get_array_module(x).sqrt(_variance(ctx, x, axis, correction, keepdims))
        ctx.save_for_backward(x, output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        x, output = ctx.saved_tensors
        xp = get_array_module(grad_output)
        grad_variance = xp.where(output == 0, 0, grad_output / xp.where(output == 0, 1, 2 * output))
        return _variance_backward(ctx, x, grad_variance), None, None, None


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
    ctx.save_for_backward(x == extremum)  # a mask: piecewise constant in x, so a constant of the second derivative
    ctx.axes, ctx.keepdims = axes, keepdims
    return extremum if keepdims else extremum.reshape(
        tuple(size for a, size in enumerate(x.shape) if a not in axes))


def _extremum_backward(ctx, grad_output):
    (is_extremum,) = ctx.saved_tensors
    winners = is_extremum.astype(grad_output.dtype)
    share = winners / winners.sum(axis=ctx.axes, keepdims=True)  # each winner's share
    return _spread(grad_output, is_extremum.shape, ctx.axes, ctx.keepdims) * share


class Prod(Function):
    """y = product of x over `axis`.

    dy/dx_i = prod_{j != i} x_j. Where no factor is zero that is y / x_i. With a zero among the factors, y / x_i is
    0 / 0, so the product of the other factors is taken directly: each x_i's factors are x with x_i replaced by 1,
    and their product is taken along the reduced axes (n products of n factors for n reduced elements, so only
    when there is a zero). Both are formulas in x, so a backward under create_graph differentiates them right,
    also at the zeros (d^2 y / dx_i dx_k is the product of the factors other than x_i and x_k).
    """

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _axes(axis, x.ndim)
        kept = get_array_module(x).asarray(x.prod(axis=axes, keepdims=True))
        output = kept if keepdims else kept.reshape(tuple(s for a, s in enumerate(x.shape) if a not in axes))
        ctx.save_for_backward(x, output)
        ctx.axes, ctx.keepdims, ctx.kept_shape = axes, keepdims, kept.shape
        return output

    @staticmethod
    def backward(ctx, grad_output):
        x, output = ctx.saved_tensors
        xp = get_array_module(x)
        if _count(x.shape, ctx.axes) == 1:  # a product of one factor: y = x (y / x would differentiate as 0 / 0)
            others = xp.ones_like(x)
        elif bool((x == 0).any()):
            others = _products_of_the_others(xp, x, ctx.axes)
        else:
            others = output.reshape(ctx.kept_shape) / x
        return _spread(grad_output, x.shape, ctx.axes, ctx.keepdims) * others, None, None


def _products_of_the_others(xp, x, axes):
    """prod_{j != i} x_j over `axes` for every element x_i, without dividing: the reduced axes are moved last and
    flattened into n, and row i of an (n, n) table holds x with x_i replaced by 1."""
    kept = [a for a in range(x.ndim) if a not in axes]
    order = kept + list(axes)
    rows = xp.transpose(x, order).reshape(tuple(x.shape[a] for a in kept) + (-1,))
    n = rows.shape[-1]
    positions = xp.arange(n)
    diagonal = positions[:, None] == positions[None, :]
    others = xp.where(diagonal, 1, rows[..., None, :]).prod(axis=-1)
    inverse = sorted(range(len(order)), key=lambda i: order[i])
    return xp.transpose(others.reshape(tuple(x.shape[a] for a in order)), inverse)


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
        output = kept if keepdims else kept.reshape(tuple(s for a, s in enumerate(x.shape) if a not in axes))
        ctx.save_for_backward(x, output)
        ctx.axes, ctx.keepdims, ctx.kept_shape = axes, keepdims, kept.shape
        return output

    @staticmethod
    def backward(ctx, grad_output):
        x, output = ctx.saved_tensors
        softmax = get_array_module(x).exp(x - output.reshape(ctx.kept_shape))
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
        output = kept if keepdims else kept.reshape(tuple(s for a, s in enumerate(x.shape) if a not in axes))
        ctx.save_for_backward(x, output)
        ctx.p, ctx.axes, ctx.keepdims, ctx.kept_shape = p, axes, keepdims, kept.shape
        return output

    @staticmethod
    def backward(ctx, grad_output):
        x, output = ctx.saved_tensors
        kept = output.reshape(ctx.kept_shape)
        xp = get_array_module(x)
        if ctx.p == 2:
            local = x / xp.where(kept == 0, 1, kept)
        elif ctx.p == 1:
            local = xp.sign(x)
        else:
            winners = (xp.abs(x) == kept).astype(x.dtype)
            local = xp.sign(x) * winners / winners.sum(axis=ctx.axes, keepdims=True)
        return _spread(grad_output, x.shape, ctx.axes, ctx.keepdims) * local, None, None, None
