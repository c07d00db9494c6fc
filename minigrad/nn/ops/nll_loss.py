"""Negative log-likelihood of class indices: the second half of cross-entropy, on log-probabilities.

For log-probabilities z of shape (N, C) (or (N, C, d1, ...), one distribution per position, or unbatched (C,))
and integer targets t of shape (N,) (or (N, d1, ...), or ()), each position n contributes

    l_n = -c_n z[n, t_n],  c_n = weight[t_n] (1 without class weights), or 0 where t_n == ignore_index

    L = sum_n l_n / sum_n c_n for reduction "mean" (the weighted mean: with c = 1 the count K of positions not
        ignored; nan if all are), sum_n l_n for "sum", the l_n themselves for "none".

The gradient is one entry per position: dL/dz[n, c] = -c_n u_n where c == t_n, 0 elsewhere, with the upstream
u_n = dL/dl_n (g / sum_n c_n, g, or g_n). The class weights are constants: no gradient flows to them (PyTorch
has none either).

Forward moves the class dim last and flattens the rest, so that every layout is the (positions, C) case.
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.backends import get_array_module


def as_rows(array):
    """(positions, C) rows of an (N, C, d1, ...) array, (C,) or (N, C): the class dim moved last and flattened."""
    xp = get_array_module(array)
    if array.ndim > 2:
        array = xp.moveaxis(array, 1, -1)
    return array.reshape(-1, array.shape[-1])


def from_rows(rows, shape):
    """The inverse of ``as_rows`` for an array of `shape`."""
    xp = get_array_module(rows)
    if len(shape) <= 2:
        return rows.reshape(shape)
    moved = rows.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],))
    return xp.moveaxis(moved, -1, 1)


class NLLLoss(Function):
    """l_n = -c_n z[n, t_n] (0 where ignored), reduced by the weighted mean, sum or not at all (derived above)."""

    twin = staticmethod(lambda log_probabilities, target, reduction, ignore_index, weight=None: composed.nll_loss(
        log_probabilities, target, weight, reduction, ignore_index))

    @staticmethod
    def forward(ctx, log_probabilities, target, reduction, ignore_index, weight=None):
        xp = get_array_module(log_probabilities)
        rows = as_rows(log_probabilities)
        flat_target = target.reshape(-1)
        kept = flat_target != ignore_index
        safe_target = xp.where(kept, flat_target, 0)  # any valid class; its pick is zeroed below
        scale = kept.astype(rows.dtype) if weight is None else weight[safe_target] * kept  # c_n
        losses = -rows[xp.arange(flat_target.size), safe_target] * scale
        ctx.save_for_backward(safe_target, scale)
        ctx.reduction, ctx.input_shape = reduction, log_probabilities.shape
        ctx.total = scale.sum()
        if reduction == "mean":
            return losses.sum() / ctx.total
        if reduction == "sum":
            return losses.sum()
        return losses.reshape(target.shape)

    @staticmethod
    def backward(ctx, grad_output):
        safe_target, scale = ctx.saved_tensors
        xp = get_array_module(grad_output)
        upstream = grad_output.reshape(-1) if ctx.reduction == "none" else (
            grad_output / ctx.total if ctx.reduction == "mean" else grad_output)
        rows = xp.zeros((safe_target.size, ctx.input_shape[1] if len(ctx.input_shape) > 1 else ctx.input_shape[0]),
                        dtype=grad_output.dtype)
        rows[xp.arange(safe_target.size), safe_target] = -upstream * scale
        return from_rows(rows, ctx.input_shape), None, None, None, None
