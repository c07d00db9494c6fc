"""Indexing along one dim: gather, scatter_add and the sorting permutation.

For x with n dims and an integer `index` of the same number of dims, ``gather`` along dim d picks

    y[i_0, ..., i_{n-1}] = x[i_0, ..., index[i_0, ..., i_{n-1}], ..., i_{n-1}]     (the index replaces i_d)

so each y element is one x element, and dL/dx collects dL/dy at the positions it came from: start from zeros and
*add* (``add.at``) dL/dy[i] at x's position for i. An index that repeats sends several gradients to one element,
and they sum (that element was used several times).

``scatter_add`` is gather's mirror: out = x, then out[..., index[i], ...] += src[i] for every i. It is linear in x
and in src: dL/dx = dL/dout (every x element passes through once), and dL/dsrc[i] = dL/dout at the position src[i]
was added to, which is ``gather`` of dL/dout with the same index.
"""

from minigrad.autograd.function import Function, call
from minigrad.backends import get_array_module
from minigrad.ops.shape import IndexAdd


def along_dim(xp, index, dim):
    """The full NumPy index that picks x[..., index[i], ...] for every position i of `index`: `index` in dim `dim`,
    and in every other dim the position's own coordinate (an arange shaped to broadcast against `index`)."""
    coordinates = []
    for d, size in enumerate(index.shape):
        if d == dim:
            coordinates.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = size
            coordinates.append(xp.arange(size).reshape(shape))
    return tuple(coordinates)


def _check_index(function, x, dim, index):
    if index.ndim != x.ndim:
        raise RuntimeError(f"{function}: index has {index.ndim} dims but the input has {x.ndim}; they must match")
    for d, (index_size, size) in enumerate(zip(index.shape, x.shape)):
        if d != dim and index_size > size:
            raise RuntimeError(f"{function}: index of shape {tuple(index.shape)} is larger than the input of shape "
                               f"{tuple(x.shape)} in dim {d}")


class Gather(Function):
    """y = x gathered along `dim` by `index` (derived above).    dL/dx = dL/dy added back at the gathered places."""

    @staticmethod
    def forward(ctx, x, dim, index):
        _check_index("gather", x, dim, index)
        ctx.input_shape, ctx.dim, ctx.index = x.shape, dim, index
        return x[along_dim(get_array_module(x), index, dim)]

    @staticmethod
    def backward(ctx, grad_output):
        zeros = get_array_module(grad_output).zeros(ctx.input_shape, dtype=grad_output.dtype)
        return call(ScatterAdd, zeros, ctx.dim, ctx.index, grad_output), None, None


class ScatterAdd(Function):
    """out = x with src added at `index` along `dim` (derived above).
    dL/dx = dL/dout,  dL/dsrc = dL/dout gathered along `dim` by `index`."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        _check_index("scatter_add", x, dim, index)
        if any(index_size > size for index_size, size in zip(index.shape, src.shape)):
            raise RuntimeError(f"scatter_add: index of shape {tuple(index.shape)} is larger than src of shape "
                               f"{tuple(src.shape)}")
        xp = get_array_module(x)
        ctx.dim, ctx.index = dim, index
        ctx.used = tuple(slice(0, size) for size in index.shape)  # the part of src that the index covers
        ctx.src_shape = src.shape
        output = x.copy()
        xp.add.at(output, along_dim(xp, index, dim), src[ctx.used])
        return output

    @staticmethod
    def backward(ctx, grad_output):
        needs_x, _, _, needs_src = ctx.needs_input_grad
        grad_src = None
        if needs_src:
            grad_src = call(Gather, grad_output, ctx.dim, ctx.index)
            if tuple(grad_src.shape) != tuple(ctx.src_shape):  # the index covered only part of src: zeros elsewhere
                grad_src = call(IndexAdd, grad_src, ctx.src_shape, ctx.used)
        return grad_output if needs_x else None, None, None, grad_src


class ArgSort(Function):
    """y = the permutation that sorts x along `dim` (int64, no gradient; ``sort`` gathers the values with it).

    The sort is stable: equal elements keep their order (descending: equal elements keep their order as well).
    """

    @staticmethod
    def forward(ctx, x, dim, descending):
        xp = get_array_module(x)
        if x.ndim == 0:
            return xp.zeros((), dtype="int64")
        # sorting -x keeps ties in order, where reversing an ascending sort would reverse them
        return _stable_argsort(xp, -x if descending else x, dim).astype("int64", copy=False)


def _stable_argsort(xp, x, axis):
    if xp.__name__ == "cupy":  # CuPy's sort is always stable, and older versions take no `kind`
        return xp.argsort(x, axis=axis)
    return xp.argsort(x, axis=axis, kind="stable")  # NumPy's default, quicksort, is not
