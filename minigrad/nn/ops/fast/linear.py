"""Linear with W^T handed to BLAS as a contiguous copy, and its backward kept out of the subnormal range.

The plain class (:mod:`minigrad.nn.ops.linear`) computes ``x @ weight.T``. NumPy passes ``weight.T`` to BLAS as a
transposed operand, and NumPy's OpenBLAS (0.3.31 on the machines measured) splits such a product over its threads
once M N K exceeds 262,144: a batch of 32 hidden states of 128 times a 128x128 recurrent weight (524,288) already
waits for a second thread. On a machine whose cores are busy with other programs, that thread may not run for a
whole time slice, and every time step of an RNN waits for it (minigrad/bench/README.md has the measurements).
With both operands row-major (``x @ W^T`` where W^T is a contiguous copy), OpenBLAS computes a product this small
in its single-threaded small-matrix kernel, in less time than the threaded one takes. Larger products (M N K above
SMALL_PRODUCT) keep the plain forward and BLAS's threads.

The copy of W^T is a transpose, which is slow on this hardware for any layout (12 us for a 128x128 float32
weight, more than the product of a 32-row batch with it, 10.7 us). An RNN multiplies by the same weight at every
time step, so the copy is kept (for weights up to TRANSPOSE_CACHE_BYTES met in two calls, the last TRANSPOSES_KEPT
of them) with the bytes it was copied from, and reused while the weight's bytes are the same: comparing them
costs 3.7 us. Any change to the weight's values (an optimizer step, an in-place edit, another array at the same
address) changes its bytes, and the copy is made again.

Backward is the plain class's products (dL/dy @ W, dL/dy^T @ x, dL/dy summed), which already reach BLAS without a
transposed weight, run on a gradient lifted out of the subnormal range by a power of two when it vanishes
(:mod:`minigrad.nn.ops.fast.subnormal`): the same results, to the bit wherever the plain products and their sums
stay normal, without the CPU's slow path for subnormal floats that a vanishing gradient takes through a long
sequence.
"""

import collections
import threading

import numpy

from minigrad.nn.ops.fast import subnormal
from minigrad.nn.ops.linear import Linear

# Products up to this many multiply-adds (M N K) use the contiguous copy of W^T: OpenBLAS's small-matrix kernels
# take row-major products up to 100^3 on the CPUs that have them; above it, a product is large enough that
# spreading it over threads pays.
SMALL_PRODUCT = 100 ** 3

# Transposed copies of weights up to this size are kept for reuse, the most recent TRANSPOSES_KEPT of them
# (with the weight's bytes, at most 2 * 8 * 256 KiB = 4 MiB in all).
TRANSPOSE_CACHE_BYTES = 256 * 1024
TRANSPOSES_KEPT = 8
# (id, shape, dtype) of a weight -> (its bytes, its W^T, C-contiguous), or None for a weight seen once
_transposes = collections.OrderedDict()
_transposes_lock = threading.Lock()
_UNSEEN = object()  # what _transposes.get returns for a weight never seen


def contiguous_transpose(weight):
    """W^T as a C-contiguous array: the kept copy if the weight's bytes are those it was made from, else a new
    copy. A small weight's copy is kept from the second call on the same array (a one-off array, such as a view
    made for one call, costs only a lookup). The caller must not write into it."""
    if weight.nbytes > TRANSPOSE_CACHE_BYTES:
        return numpy.ascontiguousarray(weight.T)
    key = (id(weight), weight.shape, weight.dtype.str)
    entry = _transposes.get(key, _UNSEEN)
    if entry is _UNSEEN:  # first sight: remembered, not kept
        with _transposes_lock:
            _remember(key, None)
        return numpy.ascontiguousarray(weight.T)
    if entry is not None and entry[0] == weight.tobytes():  # C order whatever the strides: same bytes, same values
        return entry[1]
    transposed = numpy.ascontiguousarray(weight.T)
    if transposed.base is not None:  # weight.T was C-contiguous already (a Fortran-ordered weight): nothing to keep
        return transposed
    transposed.flags.writeable = False
    # the bytes are read from the copy, not from the weight: another thread writing the weight meanwhile must not
    # pair the old bytes with a copy of the new values
    with _transposes_lock:
        _remember(key, (transposed.T.tobytes(), transposed))
    return transposed


def _remember(key, entry):
    """Record `entry` for `key` as the most recent, dropping the oldest beyond TRANSPOSES_KEPT (lock held)."""
    _transposes[key] = entry
    _transposes.move_to_end(key)
    while len(_transposes) > TRANSPOSES_KEPT:
        _transposes.popitem(last=False)


def times_transpose(x, weight):
    """x @ W^T for NumPy arrays: through the contiguous copy of W^T for a small product (one thread in BLAS), as
    the plain product for a larger one (see the module docstring)."""
    if (x.size // max(weight.shape[1], 1)) * weight.size > SMALL_PRODUCT:
        return x @ weight.T
    return x @ contiguous_transpose(weight)


class ContiguousTransposeLinear(Linear):
    """Linear whose forward multiplies x by a contiguous copy of W^T for small products (one thread in BLAS), and
    whose backward lifts a gradient out of the subnormal range by a power of two (see the module docstring)."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        output = times_transpose(x, weight)  # the selector chose this class for NumPy arrays only
        if bias is not None:
            output += bias
        return output

    @staticmethod
    def backward(ctx, grad_output):
        factor = subnormal.lift(grad_output)
        if factor is not None:
            with subnormal.quiet():  # an overflow here is found below and recomputed, not reported
                grads = subnormal.lowered(Linear.backward(ctx, subnormal.scaled(grad_output, factor)), factor)
            if grads is not None:  # else a lifted product overflowed: computed unlifted below
                return tuple(grads)
        return Linear.backward(ctx, grad_output)
