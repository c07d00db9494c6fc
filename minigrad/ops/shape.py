"""Ops that move elements around without computing anything: reshape, transpose, broadcast_to, indexing,
concatenate, stack, and where.

Their gradients move the gradient elements back to where the input elements came from: reshape back, transpose
by the inverse permutation, sum over broadcast copies, scatter into the indexed positions (adding where an index
repeats, since that element was used more than once), split along the joined axis.
"""

from minigrad.autograd.broadcasting import unbroadcast
from minigrad.autograd.function import Function, call
from minigrad.backends import get_array_module
from minigrad.dims import normalize_dim


class Reshape(Function):
    """y = x with a new shape (same elements, same order).    dL/dx = dL/dy reshaped to x's shape."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.reshape(ctx.input_shape), None


class Transpose(Function):
    """y = x with its axes permuted: y.shape[i] = x.shape[axes[i]].

    dL/dx = dL/dy with the inverse permutation applied; ``axes=None`` reverses the axes (its own inverse).
    Negative axes count from the end; the inverse is computed from the axes made non-negative.
    """

    @staticmethod
    def forward(ctx, x, axes=None):
        if axes is not None:
            axes = tuple(axis % x.ndim for axis in axes) if x.ndim else ()
        ctx.inverse = None if axes is None else tuple(sorted(range(len(axes)), key=lambda i: axes[i]))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad_output):
        return get_array_module(grad_output).transpose(grad_output, ctx.inverse), None


class BroadcastTo(Function):
    """y = x broadcast to `shape`.    dL/dx = dL/dy summed over the broadcast axes."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad_output):
        return unbroadcast(grad_output, ctx.input_shape), None


def _is_advanced(index):
    """True when `index` uses integer or boolean arrays (NumPy's "advanced" indexing), which may repeat."""
    items = index if isinstance(index, tuple) else (index,)
    return any(hasattr(item, "shape") or isinstance(item, (list, tuple)) for item in items)


def _index_on_backend(xp, index):
    """`index` with its index arrays (and lists, which NumPy reads as arrays) on the backend `xp`.

    A NumPy index array is a host array: scattering the gradient with it into a GPU array (``add.at``) needs it on
    the device, so it is moved once, explicitly, in forward.
    """
    if isinstance(index, tuple):
        # a tuple or list inside a tuple index is an integer-array index: x[(0, 0), :] selects row 0 twice
        return tuple(xp.asarray(item) if isinstance(item, (tuple, list)) else _index_on_backend(xp, item)
                     for item in index)
    if isinstance(index, list) or getattr(index, "ndim", 0) > 0:
        return xp.asarray(index)
    return index


class GetItem(Function):
    """y = x[index], for basic slicing and integer/boolean-array indexing.

    dL/dx is zero except at the selected positions, which receive dL/dy. With an integer array an element may be
    selected several times (x[[0, 0, 1]]); each use contributes, so the gradients are *added* there (``add.at``),
    not assigned.
    """

    @staticmethod
    def forward(ctx, x, index):
        index = _index_on_backend(get_array_module(x), index)
        ctx.input_shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, grad_output):
        return call(IndexAdd, grad_output, ctx.input_shape, ctx.index), None


class IndexAdd(Function):
    """y = zeros of `shape` with g added at `index`: GetItem's backward, as an op of its own so that it can be
    differentiated again.    dL/dg = dL/dy[index] (GetItem: the two are each other's backward)."""

    @staticmethod
    def forward(ctx, g, shape, index):
        xp = get_array_module(g)
        ctx.index = index
        output = xp.zeros(shape, dtype=g.dtype)
        if _is_advanced(index):
            xp.add.at(output, index, g)
        else:  # a basic index selects each element at most once: plain assignment is enough, and faster
            output[index] = g
        return output

    @staticmethod
    def backward(ctx, grad_output):
        return call(GetItem, grad_output, ctx.index), None, None


class Concatenate(Function):
    """y = the arrays joined along `axis`.    dL/d(array k) = the slice of dL/dy that array k occupies."""

    @staticmethod
    def forward(ctx, axis, *arrays):
        xp = get_array_module(*arrays)
        for position, array in enumerate(arrays):
            if array.ndim == 0:
                raise RuntimeError(f"zero-dimensional tensor (at position {position}) cannot be concatenated; "
                                   "use stack to join 0-d tensors along a new axis")
        ctx.axis = normalize_dim(axis, arrays[0].ndim)
        ctx.sizes = [array.shape[ctx.axis] for array in arrays]
        return xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad_output):
        grads, start = [], 0
        for size in ctx.sizes:
            index = (slice(None),) * ctx.axis + (slice(start, start + size),)
            grads.append(grad_output[index])
            start += size
        return (None, *grads)


class Stack(Function):
    """y = the arrays stacked along a new axis `axis`.    dL/d(array k) = dL/dy taken at position k on that axis."""

    @staticmethod
    def forward(ctx, axis, *arrays):
        xp = get_array_module(*arrays)
        ctx.axis = axis % (arrays[0].ndim + 1)
        ctx.count = len(arrays)
        return xp.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad_output):
        grads = [grad_output[(slice(None),) * ctx.axis + (k,)] for k in range(ctx.count)]
        return (None, *grads)


class Where(Function):
    """y = a where condition else b (broadcasting).    dL/da = dL/dy where condition, 0 elsewhere; dL/db the rest."""

    @staticmethod
    def forward(ctx, condition, a, b):
        xp = get_array_module(a, b, condition)
        condition = xp.asarray(condition)  # a NumPy condition moves to the data's backend, like a NumPy operand
        condition = condition.astype(bool) if condition.dtype != bool else condition
        ctx.save_for_backward(condition)
        ctx.a_shape, ctx.b_shape = getattr(a, "shape", ()), getattr(b, "shape", ())
        return xp.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad_output):
        (condition,) = ctx.saved_tensors
        _, needs_a, needs_b = ctx.needs_input_grad
        return (None,
                unbroadcast(grad_output * condition, ctx.a_shape) if needs_a else None,
                unbroadcast(grad_output * ~condition, ctx.b_shape) if needs_b else None)
