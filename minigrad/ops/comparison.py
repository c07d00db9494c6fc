"""Ops whose result is boolean or an index: comparisons, logical and bitwise operators, isnan/isinf/isfinite,
argmax/argmin and nonzero.

None of them has a gradient: a boolean or integer output is piecewise constant in the inputs, so its derivative
is zero wherever it exists, and ``Function.apply`` records no graph node for a result that is not floating point.
They are Functions all the same, so that every result, 0-d ones included, comes back as an array of the inputs'
backend (NumPy hands back a scalar for ``0-d < 0-d`` or ``argmax()`` of a whole array).
"""

from minigrad.autograd.function import Function
from minigrad.backends import get_array_module


class Less(Function):
    """y = a < b."""

    @staticmethod
    def forward(ctx, a, b):
        return a < b


class LessEqual(Function):
    """y = a <= b."""

    @staticmethod
    def forward(ctx, a, b):
        return a <= b


class Greater(Function):
    """y = a > b."""

    @staticmethod
    def forward(ctx, a, b):
        return a > b


class GreaterEqual(Function):
    """y = a >= b."""

    @staticmethod
    def forward(ctx, a, b):
        return a >= b


class Equal(Function):
    """y = a == b."""

    @staticmethod
    def forward(ctx, a, b):
        return a == b


class NotEqual(Function):
    """y = a != b."""

    @staticmethod
    def forward(ctx, a, b):
        return a != b


class BitwiseAnd(Function):
    """y = a & b: logical and on booleans, bitwise and on integers."""

    @staticmethod
    def forward(ctx, a, b):
        return a & b


class BitwiseOr(Function):
    """y = a | b."""

    @staticmethod
    def forward(ctx, a, b):
        return a | b


class BitwiseXor(Function):
    """y = a ^ b."""

    @staticmethod
    def forward(ctx, a, b):
        return a ^ b


class BitwiseNot(Function):
    """y = ~x: logical not on booleans, bitwise not on integers."""

    @staticmethod
    def forward(ctx, x):
        return ~x


class IsNan(Function):
    """y = x is NaN."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).isnan(x)


class IsInf(Function):
    """y = x is +inf or -inf."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).isinf(x)


class IsFinite(Function):
    """y = x is neither NaN nor infinite."""

    @staticmethod
    def forward(ctx, x):
        return get_array_module(x).isfinite(x)


class Any(Function):
    """y = whether any element over `axes` is nonzero."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        return x.any(axis=axes, keepdims=keepdims)


class All(Function):
    """y = whether every element over `axes` is nonzero."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        return x.all(axis=axes, keepdims=keepdims)


class ArgMax(Function):
    """y = the index of the (first) maximum along `axis`, or in the flattened array for axis=None."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _with_kept_axis(x.argmax(axis=axis), x, axis, keepdims)


class ArgMin(Function):
    """y = the index of the (first) minimum along `axis`, or in the flattened array for axis=None."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _with_kept_axis(x.argmin(axis=axis), x, axis, keepdims)


def _with_kept_axis(indices, x, axis, keepdims):
    xp = get_array_module(x)
    indices = xp.asarray(indices).astype("int64", copy=False)
    if not keepdims:
        return indices
    if axis is None:  # PyTorch keeps every axis as size 1
        return indices.reshape((1,) * x.ndim)
    return xp.expand_dims(indices, axis)


class Nonzero(Function):
    """y = the indices of the nonzero elements, one row per element and one column per axis (int64, (n, ndim))."""

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        return xp.stack(xp.nonzero(x), axis=1).astype("int64") if x.ndim else xp.zeros(
            (int(bool(x)), 0), dtype="int64")
