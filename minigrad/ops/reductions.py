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


def _axes(axis, ndim):
    """`axis` as a tuple of non-negative ints (None means every axis)."""
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, (tuple, list)):
        axis = (axis,)
    axes = []
    for a in axis:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        axes.append(a % ndim)
    return tuple(axes)


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
    """y = sum((x - mean(x))**2) / (n - ddof) over `axis` (NumPy's ddof; ddof=0 is the biased variance).

    Forward takes two passes (first the mean, then the squared deviations), never E[x^2] - E[x]^2, which cancels
    catastrophically when the mean is large against the spread.

    dy/dx_i = 2 (x_i - mean) / (n - ddof) + sum_j 2 (x_j - mean) / (n - ddof) * (-1/n)
    and the second term vanishes because the deviations sum to zero, leaving dL/dx_i = dL/dy * 2 (x_i - mean) / (n - ddof).
    """

    @staticmethod
    def forward(ctx, x, axis=None, ddof=0, keepdims=False):
        axes = _axes(axis, x.ndim)
        centered = x - x.mean(axis=axes, keepdims=True)
        ctx.save_for_backward(centered)
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.divisor = _count(x.shape, axes) - ddof
        return (centered * centered).sum(axis=axes, keepdims=keepdims) / ctx.divisor

    @staticmethod
    def backward(ctx, grad_output):
        (centered,) = ctx.saved_tensors
        spread = _spread(grad_output, centered.shape, ctx.axes, ctx.keepdims)
        return spread * (2 / ctx.divisor) * centered, None, None, None


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
