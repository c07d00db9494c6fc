"""Comparing a submission's arrays with what they should be, and saying precisely how they differ.

Everything here runs in the grader's process on arrays the child returned; none of it runs in the child. A failed
comparison returns a message that names the array, the worst index, both values and the error, plus a hint where
the difference has a recognisable shape: all zeros, a constant factor, a flipped sign, a transpose, an
un-reduced broadcast.
"""

import numpy


def mismatch(label, yours, expected, tolerance, *, yours_word="yours", expected_word="expected", gradient=True):
    """None if `yours` matches `expected` within `tolerance`; otherwise a one-paragraph description.

    The test is elementwise: |yours - expected| <= atol * max(1, max|expected|) + rtol * |expected|.
    `gradient` adds the hints that only make sense for a gradient (an un-reduced broadcast).
    """
    expected = numpy.asarray(expected, dtype=numpy.float64)
    if yours is None:
        return f"{label} is missing (backward returned None for it)"
    if yours.dtype.kind not in "fiu":
        return f"{label} has dtype {yours.dtype}, not a number type"
    if yours.shape != expected.shape:
        return f"{label} has shape {_shape(yours.shape)} but should have shape {_shape(expected.shape)}" + \
            _shape_hint(yours.shape, expected.shape, gradient)
    if not numpy.isfinite(expected).all():  # e.g. finite differences of a forward that returned NaN
        return f"{label} cannot be checked: {expected_word} non-finite values (NaN or Inf), and that fails the check"
    yours = yours.astype(numpy.float64)
    finite = numpy.isfinite(yours)
    if not finite.all():
        index = _index(numpy.argwhere(~finite)[0])
        return (f"{label} contains {int((~finite).sum())} non-finite value(s) (NaN or Inf), the first at index "
                f"{index}: {yours_word} {yours[tuple(numpy.argwhere(~finite)[0])]}, {expected_word} "
                f"{_number(expected[tuple(numpy.argwhere(~finite)[0])])}")
    error = numpy.abs(yours - expected)
    scale = max(1.0, float(numpy.abs(expected).max())) if expected.size else 1.0
    allowed = tolerance.atol * scale + tolerance.rtol * numpy.abs(expected)
    bad = error > allowed
    if not bad.any():
        return None
    worst = numpy.unravel_index(numpy.argmax(error - allowed), error.shape) if error.ndim else ()
    message = (f"{label} is wrong at index {_index(worst)}: {yours_word} {_number(yours[worst])}, {expected_word} "
               f"{_number(expected[worst])} (error {error[worst]:.3g}, allowed {allowed[worst]:.3g}); "
               f"{int(bad.sum())} of {bad.size} elements are out of tolerance")
    hint = diagnose(yours, expected, tolerance, gradient)
    return message + (f". Hint: {hint}" if hint else "")


def diagnose(yours, expected, tolerance, gradient=True):
    """A hint when the wrong array is a recognisable transformation of the right one, else ''."""
    if not numpy.any(yours):
        if gradient:
            return "It is exactly zero everywhere: is a term missing, or is the gradient never computed?"
        return "It is exactly zero everywhere: does forward return its result, or an array it never filled?"
    norm = float((expected * expected).sum())
    if norm > 0:
        factor = float((yours * expected).sum()) / norm
        residual = numpy.abs(yours - factor * expected).max()
        if residual <= 1e-6 * max(1.0, numpy.abs(expected).max()) and abs(factor - 1) > 1e-6:
            if abs(factor + 1) < 1e-6:
                return "It is exactly the negative of the right answer: a sign is flipped."
            return (f"It is the right answer times {factor:.6g}: a constant factor is missing or extra "
                    "(a 1/N, an N/(N-1), a factor of 2?).")
    if yours.ndim >= 2 and yours.shape[-1] == yours.shape[-2]:
        swapped = numpy.swapaxes(yours, -1, -2)
        if numpy.allclose(swapped, expected, rtol=tolerance.rtol * 10, atol=tolerance.atol * 10):
            return "It equals the right answer transposed: check the order of a matrix product's factors."
    return ""


def _shape_hint(yours, expected, gradient):
    if gradient and numpy.prod(yours) > numpy.prod(expected) and len(yours) >= len(expected):
        offset = len(yours) - len(expected)
        if all(e == 1 or e == y for e, y in zip(expected, yours[offset:])):
            return (": it still has the broadcast shape. The input was broadcast in forward, so its gradient must "
                    "be summed over the broadcast axes (leading axes, and axes of size 1)")
    if sorted(yours) == sorted(expected) and len(yours) >= 2:
        return ": the same sizes in another order; is it transposed?"
    return ""


def _shape(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _index(index):
    return _shape(tuple(int(i) for i in index))


def _number(value):
    return f"{float(value):.8g}"


def describe_arguments(arguments, values):
    """'x (8, 16), weight (16,), bias (16,), eps=1e-05': a case's arguments in one line."""
    parts = []
    for argument, value in zip(arguments, values):
        if argument.is_array:
            parts.append(f"{argument.name} {_shape(numpy.shape(value))}")
        else:
            parts.append(f"{argument.name}={value!r}")
    return ", ".join(parts)
