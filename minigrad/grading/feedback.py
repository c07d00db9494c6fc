"""Targeted hints: a wrong answer diagnosed from the mathematics of the op, not from a list of known wrong answers.

:mod:`minigrad.grading.compare` says *where* an array is wrong and recognises generic shapes of error (all zeros,
a constant factor, a transpose). This module adds, for one exercise at a time, what the op's own properties say
about the mistake. Each property holds for every correct answer, so checking it never needs the bug in advance:

- LayerNorm and BatchNorm: y does not change when a constant is added to a row (a column for BatchNorm) of x, so
  each row (column) of dL/dx sums to zero; when it does not, the path through the mean is missing. Scaling
  x - mu leaves xhat unchanged up to eps, so dL/dx is orthogonal to xhat up to eps; when it is not (and the sums
  are right), the path through the variance is missing. A forward off by exactly sqrt((D-1)/D) divides the
  variance by D - 1.
- RNN cell through time: the gradient of x_t has a term from h_t's own loss and one from every later step; a
  gradient equal to the one-step terms alone means the recurrent gradient (grad_h) never flows back.
- Matrix product: a gradient with the transposed shape whose values are the right ones transposed.
- Cross-entropy: a NaN or inf from finite logits is exp overflowing; log-sum-exp avoids it.

Every hint starts with ``Hint:`` (the class report counts them). The functions take the failure message, a
prepared case from :mod:`minigrad.grading.grader` and the student's array, already known to be wrong, and return
the message with a hint added, or unchanged when no property singles out a cause.
"""

import re

import numpy

# a submission's own values in a hint (an index, a sum, a factor), not the constants of a formula such as
# sqrt((D - 1)/D): the numbers that follow these words
_AFTER = ("row ", "column ", "sums to ", "product of ", "should be ", "= ", "times ", "largest is ")
_NUMBER = re.compile("(?:" + "|".join(f"(?<={re.escape(word)})" for word in _AFTER)
                     + r")-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def explain_output(problem, prepared, yours):
    """`problem` (what is wrong with the output of `prepared`) with a targeted hint added where one applies."""
    explain = _OUTPUT.get(prepared.task.task)
    return _joined(problem, _safely(explain, prepared, yours) if explain else "")


def explain_gradient(problem, prepared, position, yours):
    """`problem` (what is wrong with the gradient of argument `position`) with a targeted hint where one applies."""
    explain = _GRADIENT.get(prepared.task.task)
    return _joined(problem, _safely(explain, prepared, yours, position) if explain else "")


def _joined(problem, hint):
    if not problem or not hint:
        return problem
    return problem + ("" if problem.endswith(".") else ".") + " Hint: " + hint


def hints_in(text):
    """The hints in a failure message, numbers masked, so that the same cause counts once however it shows."""
    found = []
    for line in text.splitlines():
        for part in line.split("Hint: ")[1:]:
            found.append(_NUMBER.sub("#", part).strip())
    return found


def _safely(explain, prepared, yours, *position):
    if yours is None or not hasattr(yours, "shape"):
        return ""
    try:
        hint = explain(prepared, numpy.asarray(yours, dtype=numpy.float64), *position)
    except (ValueError, IndexError, TypeError, FloatingPointError):  # odd shapes: no diagnosis, not a crash
        return ""
    return hint or ""


def _expected_grad(prepared, position):
    return numpy.asarray(prepared.expected_grads[position], dtype=numpy.float64)


# --- normalization layers ------------------------------------------------------------------------------------------
def _normalized(prepared, axis):
    x, eps = prepared.args[0].astype(numpy.float64), prepared.args[3]
    centered = x - x.mean(axis=axis, keepdims=True)
    return centered / numpy.sqrt((centered * centered).mean(axis=axis, keepdims=True) + eps)


def _norm_gradient(axis, along):
    def explain(prepared, yours, position):
        expected = _expected_grad(prepared, position)
        if position != 0 or yours.shape != expected.shape or not numpy.isfinite(yours).all() or not yours.any():
            return ""
        scale = numpy.abs(expected).sum(axis=axis).max() + numpy.abs(yours).sum(axis=axis).max()
        sums = yours.sum(axis=axis)  # zero for every correct answer
        if numpy.abs(sums).max() > 1e-3 * scale:
            where = int(numpy.argmax(numpy.abs(sums)))
            return (f"each {along} of dL/dx must sum to zero (adding a constant to a {along} of x leaves y "
                    f"unchanged, so the loss cannot change), but your {along} {where} sums to {sums.flat[where]:.4g}: "
                    "the path through the mean mu is missing or wrong.")
        xhat = _normalized(prepared, axis)
        dots, wanted = (yours * xhat).sum(axis=axis), (expected * xhat).sum(axis=axis)  # ~0 up to eps
        if numpy.abs(dots - wanted).max() > 1e-3 * scale:
            where = int(numpy.argmax(numpy.abs(dots - wanted)))
            return (f"each {along} of dL/dx must be orthogonal to that {along} of xhat (scaling x - mu leaves xhat "
                    f"unchanged, up to eps), but your {along} {where} has a dot product of {dots.flat[where]:.4g} "
                    f"with it (it should be {wanted.flat[where]:.2g}): the path through the variance is missing or "
                    "wrong.")
        return ""
    return explain


def _norm_output(axis, size_name):
    def explain(prepared, yours):
        bias = prepared.args[2].astype(numpy.float64)
        expected = prepared.expected_output
        if yours.shape != expected.shape or not numpy.isfinite(yours).all():
            return ""
        size = prepared.args[0].shape[axis]
        if size < 2:
            return ""
        centered_yours, centered_expected = yours - bias, expected - bias
        norm = float((centered_expected * centered_expected).sum())
        factor = float((centered_yours * centered_expected).sum()) / norm if norm else 0.0
        residual = numpy.abs(centered_yours - factor * centered_expected).max()
        unbiased = numpy.sqrt((size - 1) / size)
        if abs(factor - unbiased) < 1e-3 * unbiased and residual < 1e-3 * numpy.abs(centered_expected).max():
            return (f"your output is the right one with xhat times sqrt(({size_name} - 1)/{size_name}) = "
                    f"{unbiased:.4g} ({size_name} = {size} here): the variance is divided by {size_name} - 1 (the unbiased "
                    f"estimate); normalization uses the biased variance, divided by {size_name}.")
        return ""
    return explain


# --- RNN cell through time -----------------------------------------------------------------------------------------
def _rnn_gradient(prepared, yours, position):
    task = prepared.task
    if not prepared.unrolled or position != task.unroll.sequence:
        return ""
    sequence, state = task.unroll.sequence, task.unroll.state
    args = [a.astype(numpy.float64) if isinstance(a, numpy.ndarray) else a for a in prepared.args]
    upstream = prepared.grad_output.astype(numpy.float64)
    hidden, one_step = args[state], []
    for t in range(args[sequence].shape[0]):
        step = list(args)
        step[sequence], step[state] = args[sequence][t], hidden
        output, grads = task.reference(*step, grad_output=upstream[t])
        one_step.append(grads[sequence])
        hidden = output
    one_step = numpy.stack(one_step)
    if yours.shape == one_step.shape and numpy.allclose(yours, one_step, rtol=1e-5, atol=1e-8):
        return ("your gradient of every x_t is only what h_t's own loss sends back: nothing arrives from later "
                "steps. In a sequence, h_t also feeds h_(t+1); backward must return grad_h (the recurrent term) so "
                "the engine can pass it back through time.")
    return ""


# --- matrix product ------------------------------------------------------------------------------------------------
def _matmul_gradient(prepared, yours, position):
    expected = _expected_grad(prepared, position)
    if yours.ndim < 2 or expected.ndim < 2 or yours.shape == expected.shape:
        return ""  # (a square transposed gradient is recognised by compare.diagnose)
    swapped = numpy.swapaxes(yours, -1, -2)
    if swapped.shape == expected.shape and numpy.allclose(swapped, expected, rtol=1e-6, atol=1e-9):
        name = prepared.task.arguments[position].name
        return (f"these are the right values, transposed: you computed (dL/d{name})^T. The transpose of a product "
                "is the product of the transposes in reverse order; swap the factors.")
    return ""


# --- cross-entropy -------------------------------------------------------------------------------------------------
def _cross_entropy(prepared, yours, *position):
    logits = prepared.args[0]
    if numpy.isfinite(yours).all() or not numpy.isfinite(logits).all():
        return ""
    largest = float(numpy.abs(logits).max())
    limit = 88 if logits.dtype == numpy.float32 else 709
    return (f"NaN or inf from finite logits (the largest is {largest:.3g}): exp(z) overflows for z above about "
            f"{limit}. Use log-sum-exp: subtract each row's maximum before exponentiating.")


_OUTPUT = {"layernorm": _norm_output(-1, "D"), "batchnorm": _norm_output(0, "N"), "cross_entropy": _cross_entropy}
_GRADIENT = {"layernorm": _norm_gradient(-1, "row"), "batchnorm": _norm_gradient(0, "column"),
             "rnn_cell": _rnn_gradient, "matmul": _matmul_gradient, "cross_entropy": _cross_entropy}


# --- the student's own output --------------------------------------------------------------------------------------
SHOWN_CHARACTERS = 2000  # of each distinct stream shown under the table


def student_output(report):
    """The notes on how the file was read and what the submission printed, labelled and truncated ('' if none).

    Every check group runs in its own process, so a print at import appears once per group; identical output is
    shown once, with the groups it came from."""
    from minigrad.grading.text import lines as marked, one_line
    lines = [f"note: {one_line(note)}" for note in report.notes]
    seen = {}
    for group, stdout, stderr in report.captured:
        for stream, text in (("stdout", stdout), ("stderr", stderr)):
            if text.strip():
                seen.setdefault((stream, text), []).append(group)
    if seen:
        lines.append("what your code printed (captured while it ran; not part of the score):")
    for (stream, text), groups in seen.items():
        shown = text[:SHOWN_CHARACTERS].rstrip("\n")
        more = len(text) - SHOWN_CHARACTERS
        named = ", ".join(groups[:4]) + (f" and {len(groups) - 4} more" if len(groups) > 4 else "")
        lines.append(f"  {stream} (checks: {named}):")
        lines.extend(marked(shown, prefix="    | ").splitlines())
        if more > 0:
            lines.append(f"    [... {more} more characters not shown]")
    return "\n".join(lines)
