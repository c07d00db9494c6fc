"""Gradients in the subnormal range, lifted out of it by a power of two before the products.

A gradient that vanishes over a long sequence passes through the subnormal range on its way to zero: below
``numpy.finfo(dtype).tiny`` (2^-126 in float32), where a float keeps fewer significant bits and x86 CPUs take a
slow microcode path for every multiply with a subnormal operand or result. At T=200 the RNN benchmark's training
step took 135 ms as is against 40 ms with subnormals flushed to zero, and Linear's backward products 67 ms of it
against 6 (``python -m minigrad.bench.subnormals`` counts the subnormal values). Flushing them
(``set_flush_denormal``) changes the results; lifting does not.

A backward that is linear in dL/dy (Linear's, LayerNorm's) gives s times its results for s times dL/dy. When
every entry of dL/dy is below ``tiny * MARGIN``, :func:`lift` returns the power of two s = 1 / (tiny * MARGIN)
(2^96 in float32); the op runs its kernels on s dL/dy, whose products are then normal numbers, and multiplies the
results by 1/s. A power of two moves only the exponent, and rounding in the normal range does not depend on the
exponent, so wherever the unlifted products stay normal the results agree with them bit for bit; where those
products are subnormal (each rounded to a multiple of 2^-149 in float32), the lifted ones keep float32's 24 bits
and are rounded to that grid only at the end, so they are closer to the exact values.

With subnormals flushed to zero (``minigrad.set_flush_denormal(True)``) nothing is lifted: the CPU then takes no
slow path, and the results are the flushed ones, as in PyTorch with the same setting.

Costs: an ordinary gradient is turned away by its first entry, one comparison. :func:`scaled` multiplies float32
arrays through float64, where neither the lifted nor the lowered values are subnormal: the same results (the lift
is exact and the lowering rounds once either way), without the slow path that a float32 multiply of 4,096
subnormal values takes (24 us against 4.5 us measured). Each op checks that its lifted results cannot overflow
(:func:`fits`) before it lifts.
"""

import numpy

from minigrad.denormals import get_flush_denormal

# Gradients whose entries are all below tiny * MARGIN (2^-96 in float32, 2^-992 in float64) are lifted by
# 1 / (tiny * MARGIN). Their largest entry is then below 1, which bounds every lifted result by the op's other
# factors (see fits), and their smallest nonzero one (2^-149 in float32) becomes 2^-53. The margin is wide because
# a gradient just above the subnormal range already makes subnormal products (with small weights, or LayerNorm's
# xhat mean(g xhat)): at T=200 the RNN step took 58 ms with a margin of 2^8 against 48 ms with 2^30.
MARGIN = 2.0 ** 30

# dtype -> tiny * MARGIN, looked up once per call (numpy.finfo costs more than the check itself)
LIMITS = {numpy.dtype(dtype): float(numpy.finfo(dtype).tiny) * MARGIN for dtype in (numpy.float32, numpy.float64)}


def lift(grad):
    """The power of two (a Python float) that lifts every entry of `grad` (a NumPy float32 or float64 array) out
    of the subnormal range, or None when `grad` has an entry at or above the limit (the first one, for an ordinary
    gradient), a NaN, an infinity, or only zeros, and when this thread flushes subnormals to zero (the CPU then
    has no slow path to avoid, and the flushed results are the ones asked for)."""
    if not isinstance(grad, numpy.ndarray) or grad.size == 0:  # a Tensor under create_graph: nothing to lift
        return None
    limit = LIMITS.get(grad.dtype)
    if limit is None or not abs(grad.item(0)) < limit or get_flush_denormal():
        return None
    if not 0 < numpy.abs(grad).max() < limit:
        return None
    return 1 / limit


def fits(dtype, largest_result):
    """Whether results bounded by `largest_result` (a bound for a lifted gradient, whose entries are below 1) are
    finite in `dtype`: otherwise the op runs its unlifted products."""
    return bool(largest_result < numpy.finfo(dtype).max)


def scaled(array, factor):
    """`array` times the power of two `factor`, in `array`'s dtype (float32 multiplied in float64: see the module
    docstring)."""
    if array.dtype == numpy.float32:
        return (array.astype(numpy.float64) * factor).astype(numpy.float32)
    return array * array.dtype.type(factor)
