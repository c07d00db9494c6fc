"""Gradients in the subnormal range, lifted out of it by a power of two before the products.

A gradient that vanishes over a long sequence passes through the subnormal range on its way to zero: below
``numpy.finfo(dtype).tiny`` (2^-126 in float32), where a float keeps fewer significant bits and x86 CPUs take a
slow microcode path for every multiply with a subnormal operand or result. At T=200 the RNN benchmark's training
step took 135 ms as is against 40 ms with subnormals flushed to zero, and Linear's backward products 67 ms of it
against 6 (``python -m minigrad.bench.subnormals`` counts the subnormal values). Flushing them
(``set_flush_denormal``) changes the results; lifting does not.

A backward that is linear in dL/dy (Linear's, LayerNorm's) gives s times its results for s times dL/dy. When
dL/dy vanishes (see :func:`lift`), it is multiplied by the power of two s = 1 / (tiny * MARGIN) (2^110 in
float32); the op runs its kernels on s dL/dy, whose products are then normal numbers, and multiplies the results
by 1/s. A power of two moves only the exponent, and rounding in the normal range does not depend on the exponent,
so wherever the unlifted products and their sums stay normal the results agree with them bit for bit. Where they
are subnormal (each rounded to a multiple of 2^-149 in float32), the lifted ones keep float32's 24 bits through
the sums and are rounded to that grid at the end: a sum of many subnormal products comes out closer to the exact
value, while a result that is a single product is rounded twice (to 24 bits, then to the grid) and can land one
step of the grid from the unlifted one, on either side of it. (The fused LayerNorm backward that adds dL/dx into
an existing ``x.grad`` in its loop, where the compiler may fuse the last multiply and add, is not used for a
lifted call: the engine adds its dL/dx, and the sum can differ from the unlifted one in the last bit.)

With subnormals flushed to zero (``minigrad.set_flush_denormal(True)``) nothing is lifted: the CPU then takes no
slow path, and the results are the flushed ones, as in PyTorch with the same setting.

Costs: an ordinary gradient is turned away by its first entry, one comparison (see :func:`lift`). :func:`scaled`
multiplies float32 arrays through float64, where neither the lifted nor the lowered values are subnormal: the
same results (the lift is exact and the lowering rounds once either way), without the slow path that a float32
multiply of 4,096 subnormal values takes (24 us against 4.5 us in NumPy, 1 us in one compiled pass). Lowering
also checks that every lifted result is finite (:func:`lowered`): a lifted result can overflow where the unlifted
one does not (a weight near float32's largest value), and the op then recomputes its results unlifted. The
lifted attempt runs with NumPy's floating-point error handling off (:func:`quiet`), so that such an overflow is
neither a warning nor, under ``numpy.errstate(over="raise")``, an error: the unlifted products report what they
would have reported anyway.
"""

import numpy

from minigrad.denormals import get_flush_denormal
from minigrad.nn.ops.fast import kernels

# A vanishing gradient (see lift: entries below tiny * MARGIN, 2^-110 in float32, 2^-1006 in float64) is lifted
# by 1 / (tiny * MARGIN). Entries below the limit are then below 1, so a lifted result overflows only where a
# larger entry or the op's other factors come near the dtype's largest value (then lowered() says so), and the
# smallest nonzero entry (2^-149 in float32) becomes 2^-39. A gradient just above the subnormal range already
# makes some subnormal products (with small weights, or LayerNorm's xhat mean(g xhat)), while lifting one that
# makes none costs about 12 us per Linear call for nothing. The RNN step as is against flushed, each pair of
# calls in one process on the same training trajectory (median ratio over 30 steps): margin 2^4 1.13 and 1.27 at
# T=100 and 200, 2^8 1.02 and 1.12, 2^16 1.02-1.05 and 1.07, 2^30 1.05-1.08 and 1.05; at T=400, 2^16 1.04 and
# 2^30 1.06.
MARGIN = 2.0 ** 16

# dtype -> tiny * MARGIN, looked up once per call (numpy.finfo costs more than the check itself)
LIMITS = {numpy.dtype(dtype): float(numpy.finfo(dtype).tiny) * MARGIN for dtype in (numpy.float32, numpy.float64)}


def lift(grad):
    """The power of two (a Python float) by which to lift `grad` (a NumPy float32 or float64 array) out of the
    subnormal range, or None.

    The first entry decides, so that an ordinary gradient costs one comparison: at or above the limit (or NaN),
    None. Below it and not zero, the gradient is taken for a vanishing one and lifted whole: whatever its other
    entries hold, the lifted results are exact wherever they are finite, and :func:`lowered` sends the op back to
    its unlifted products where they are not. A first entry of exactly zero says nothing (a ReLU's zeros are
    common in ordinary gradients), so then every entry must be below the limit and one of them nonzero. Nothing
    is lifted while this thread flushes subnormals to zero: the CPU then has no slow path to avoid, and the
    flushed results are the ones asked for."""
    if not isinstance(grad, numpy.ndarray) or grad.size == 0:  # a Tensor under create_graph: nothing to lift
        return None
    limit = LIMITS.get(grad.dtype)
    if limit is None:
        return None
    first = abs(grad.item(0))
    if not first < limit:
        return None
    if first == 0 and not 0 < numpy.abs(grad).max() < limit:
        return None
    if get_flush_denormal():
        return None
    return 1 / limit


def quiet():
    """NumPy's floating-point error handling off, for a lifted attempt: where it overflows, :func:`lowered` says
    so and the op recomputes unlifted, which warns (or raises, under ``numpy.errstate``) as the plain op would."""
    return numpy.errstate(all="ignore")


def scaled(array, factor):
    """`array` times the power of two `factor`, as a new array of its dtype (a float32 array multiplied in
    float64: see the module docstring)."""
    return _times(array, factor)[0]


def lowered(arrays, factor):
    """Each of `arrays` (results computed on a gradient lifted by `factor`; None entries stay None) times
    1/factor, or None when any entry of them is not finite: a lifted result may overflow where the unlifted one
    does not (a weight near float32's largest value), and the op then recomputes it unlifted."""
    results = []
    for array in arrays:
        if array is None:
            results.append(None)
            continue
        result, finite = _times(array, 1 / factor)
        if not finite:
            return None
        results.append(result)
    return results


def _times(array, factor):
    """(array * factor, whether every entry of it is finite), through float64 for float32: in one compiled pass
    where the kernels are usable, else in NumPy."""
    if kernels.usable(array) and array.flags.c_contiguous:
        result = numpy.empty_like(array)
        finite = kernels.times_through_float64(array.reshape(-1), factor, result.reshape(-1))
        return result, finite
    if array.dtype == numpy.float32:
        result = (array.astype(numpy.float64) * factor).astype(numpy.float32)
    else:
        result = array * array.dtype.type(factor)
    return result, bool(numpy.isfinite(result).all())
