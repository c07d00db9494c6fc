"""Faster implementations of LayerNorm, BatchNorm, Linear and the LN-RNN cell, as named subclasses of the plain ops.

The plain classes (:mod:`minigrad.nn.ops.layer_norm`, :mod:`minigrad.nn.ops.batch_norm`) are the ops: a
derivation in the docstring, and forward and backward as the formula on ``xp`` arrays. Each class here computes
the same function (to rounding: the tests hold each to its plain class to 1e-12 in float64 and 1e-5 in float32)
and replaces ``forward`` and ``backward`` to move less memory:

- ``NumbaLayerNorm``, ``NumbaBatchNorm`` (:mod:`.compiled`): the formulas as compiled loops, one pass per row,
  when numba is installed and the arrays are NumPy float32/float64;
- ``BlockedLayerNorm``, ``BlockedBatchNorm`` (:mod:`.blocked`): the formulas in NumPy, in cache-sized blocks of
  rows with ``einsum`` and ``out=`` buffers, for other NumPy arrays (or with ``MINIGRAD_NUMBA=0``);
- ``NumbaLayerNormRNNCell`` (:mod:`.recurrent`): the layer-normalized RNN step with those products and compiled
  normalizations, when numba is installed and the arrays are NumPy float32/float64;
- ``ContiguousTransposeLinear`` (:mod:`.linear`): Linear with W^T copied to a contiguous array before a small
  product, which NumPy's BLAS then computes on the calling thread, for NumPy float32/float64 arrays.

:func:`implementation` picks one, called in one line by :mod:`minigrad.nn.functional`; the graph node is named
after the class that ran (``y.grad_fn.name``). ``minigrad.set_fast_kernels(False)`` (or ``MINIGRAD_FAST=0``)
makes every call run the plain class; so do CuPy and the strict backend.
"""

import numpy

from minigrad.fast_path import fast_kernels_enabled
from minigrad.nn.ops.batch_norm import BatchNorm
from minigrad.nn.ops.fast import kernels
from minigrad.nn.ops.fast.blocked import BlockedBatchNorm, BlockedLayerNorm
from minigrad.nn.ops.fast.compiled import NumbaBatchNorm, NumbaLayerNorm
from minigrad.nn.ops.fast.linear import ContiguousTransposeLinear
from minigrad.nn.ops.fast.recurrent import NumbaLayerNormRNNCell
from minigrad.nn.ops.layer_norm import LayerNorm
from minigrad.nn.ops.linear import Linear
from minigrad.nn.ops.recurrent import LayerNormRNNCell

# plain op -> (its compiled subclass, its blocked NumPy subclass or None)
FAST_SUBCLASSES = {LayerNorm: (NumbaLayerNorm, BlockedLayerNorm), BatchNorm: (NumbaBatchNorm, BlockedBatchNorm),
                   LayerNormRNNCell: (NumbaLayerNormRNNCell, None)}
# plain op -> its subclass for NumPy float32/float64 arrays (no compiled code)
NUMPY_SUBCLASSES = {Linear: ContiguousTransposeLinear}


def implementation(op, *tensors):
    """The class to apply for `op` on these Tensors (None entries are skipped): its fastest subclass that runs on
    their arrays, or `op` itself when the fast path is off or no subclass fits."""
    if not fast_kernels_enabled():
        return op
    arrays = [tensor.data for tensor in tensors if tensor is not None]
    if op in NUMPY_SUBCLASSES:
        return NUMPY_SUBCLASSES[op] if kernels.suits(*arrays) else op
    if op not in FAST_SUBCLASSES:
        return op
    compiled, blocked = FAST_SUBCLASSES[op]
    if kernels.usable(*arrays):
        return compiled
    if blocked is not None and isinstance(arrays[0], numpy.ndarray):
        return blocked
    return op


__all__ = ["implementation", "NumbaLayerNorm", "NumbaBatchNorm", "BlockedLayerNorm", "BlockedBatchNorm",
           "ContiguousTransposeLinear", "NumbaLayerNormRNNCell"]
