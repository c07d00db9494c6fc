"""Inverted dropout: in training, each element is kept with probability 1 - p and scaled by 1 / (1 - p), else
zeroed, so the expected output equals the input and evaluation needs no rescaling (it is the identity there).

    y = x * m / (1 - p),  m_i ~ Bernoulli(1 - p) drawn once in forward
    dL/dx = dL/dy * m / (1 - p)      (y is linear in x for the drawn mask)

The mask is drawn from minigrad's generator (``minigrad.manual_seed``) on the host and moved to the data's
backend, as every random draw in minigrad is, so runs repeat exactly on every backend.
"""

import numpy

from minigrad import random
from minigrad.autograd.function import Function
from minigrad.backends import get_array_module


class Dropout(Function):
    """y = x * mask / (1 - p) with a fresh Bernoulli(1 - p) mask.    dL/dx = dL/dy * mask / (1 - p)."""

    @staticmethod
    def forward(ctx, x, p):
        scaled_mask = scaled_keep_mask(get_array_module(x), x.shape, x.dtype, p)
        ctx.save_for_backward(scaled_mask != 0)  # the mask as bools: a constant, also for a backward under create_graph
        ctx.p = p
        return x * scaled_mask

    @staticmethod
    def backward(ctx, grad_output):
        (kept,) = ctx.saved_tensors
        return grad_output * _rescaled(kept, ctx.p, grad_output.dtype), None


def scaled_keep_mask(xp, shape, dtype, p):
    """mask / (1 - p) for a fresh mask of Bernoulli(1 - p) draws from minigrad's generator, as an `xp` array;
    all zeros for p = 1. Attention's dropout draws its mask here too, so both follow ``minigrad.manual_seed``."""
    if p == 1:
        return xp.zeros(shape, dtype=dtype)
    kept = random.generator().random(shape) >= p
    return xp.asarray(kept.astype(dtype) / numpy.dtype(dtype).type(1 - p))


def _rescaled(kept, p, dtype):
    """The saved bool mask as mask / (1 - p) again, in the gradient's dtype (all zeros for p = 1)."""
    if p == 1:
        return get_array_module(kept).zeros(kept.shape, dtype=dtype)
    return kept.astype(dtype) / numpy.dtype(dtype).type(1 - p)
