"""gradcheck: compare an op's backward with finite differences of its forward.

For a function y = f(x_1, ..., x_k) and a fixed upstream gradient v (what dL/dy would be), backward claims

    dL/dx_i = sum_j v_j * dy_j/dx_i.

Finite differences measure the same number without backward: with L(x) = <v, f(x)>,

    dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)      (central difference, error O(eps^2)).

Choices that make this a real test:

- v is random (seeded), never all ones. With all ones, L = sum(y), and for LayerNorm with gamma = 1 the true
  dx of sum(y) is exactly 0, so a backward that returns zeros would pass.
- float64 only: in float32, eps = 1e-6 is below the rounding error of f and correct ops fail.
- backward is run twice from fresh graphs and must give the same answer (catches state that leaks between calls).
- a Module's state (BatchNorm's running statistics) is restored after every call, so each evaluation of f sees
  the same function.

``gradgradcheck`` checks second derivatives the same way: the first derivatives, g(x, v) = v^T df/dx (a function
of the inputs and of the upstream vector v, computed by ``autograd.grad`` with ``create_graph=True``), are
themselves a function, and gradcheck compares *their* backward with finite differences of them: vector-Hessian
products u^T d(g)/dx for a random u, in x and in v.
"""

import numpy

from minigrad import backends
from minigrad.autograd.engine import run_backward
from minigrad.autograd.mode import enable_grad, no_grad
from minigrad.tensor import Tensor


class GradcheckError(RuntimeError):
    """gradcheck found a gradient that disagrees with finite differences; the attributes locate it."""

    def __init__(self, message, input_index=None, index=None, analytic=None, numeric=None):
        super().__init__(message)
        self.input_index = input_index
        self.index = index
        self.analytic = analytic
        self.numeric = numeric


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0, fast_mode=False):
    """Check the gradients of ``fn(*inputs)`` against central finite differences.

    `inputs` is a Tensor or a tuple of Tensors and other values; every float64 Tensor with ``requires_grad``
    is checked. `fn` returns a Tensor (or a tuple of Tensors). Returns True; on a mismatch raises
    :class:`GradcheckError` naming the input, the worst index, both values and the errors (or returns False
    with ``raise_exception=False``). ``fast_mode=True`` checks one random direction through all inputs at once
    (two evaluations of `fn` instead of two per element), for large inputs.
    """
    inputs, checked = _inputs_and_checked("gradcheck", inputs)
    for i in checked:
        if inputs[i].dtype != numpy.float64:
            raise TypeError(
                f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs (e.g. "
                "minigrad.tensor(data, dtype='float64', requires_grad=True)). In float32 the rounding error of "
                "the forward pass swamps a finite difference with eps=1e-6, and correct ops fail.")
    try:
        return _gradcheck(fn, inputs, checked, eps, atol, rtol, seed, fast_mode)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _inputs_and_checked(caller, inputs):
    """`inputs` as a tuple (one Tensor may be passed alone), and the positions of those that require grad."""
    if isinstance(inputs, Tensor) or not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    inputs = tuple(inputs)
    checked = [i for i, value in enumerate(inputs) if isinstance(value, Tensor) and value.requires_grad]
    if not checked:
        raise ValueError(f"{caller}: no input requires grad; pass at least one Tensor with requires_grad=True")
    return inputs, checked


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check the second derivatives of ``fn(*inputs)``: gradcheck of its first derivatives (derived above).

    `grad_outputs` are the upstream vectors v, one per output of fn; by default random (seeded), never all ones.
    Their own derivatives are checked too (the first derivatives are linear in v). Returns True; on a mismatch
    raises :class:`GradcheckError` naming the input (or ``grad_outputs[k]``), the worst index, both values and the
    errors, or returns False with ``raise_exception=False``.
    """
    from minigrad.autograd.higher_order import grad

    inputs, checked = _inputs_and_checked("gradgradcheck", inputs)
    outputs = _outputs(fn(*inputs))
    _restore(fn, _snapshot(fn))
    rng = numpy.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = tuple(Tensor(out.xp.asarray(rng.standard_normal(out.shape))) for out in outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    vectors = tuple(Tensor(v.data.copy() if isinstance(v, Tensor) else v).requires_grad_() for v in grad_outputs)
    count = len(inputs)

    def first_derivatives(*values):  # g(x, v) = v^T df/dx for every checked input, in a graph
        values = list(values)
        for i in checked:  # finite differences pass plain tensors: g needs x to require grad all the same
            if not values[i].requires_grad:
                values[i] = Tensor(values[i].data).requires_grad_()
        with enable_grad():
            pairs = [(out, v) for out, v in zip(_outputs(fn(*values[:count])), values[count:]) if out.requires_grad]
            grads = grad([out for out, _ in pairs], [values[i] for i in checked], [v for _, v in pairs],
                         create_graph=True, allow_unused=True) if pairs else [None] * len(checked)
        return tuple(g if g is not None else Tensor(values[i].xp.zeros(values[i].shape, dtype=values[i].dtype))
                     for g, i in zip(grads, checked))

    try:
        return gradcheck(first_derivatives, inputs + vectors, eps=eps, atol=atol, rtol=rtol, seed=seed)
    except GradcheckError as error:
        index = error.input_index
        if index is not None:
            what = f"input {index}" if index < count else f"grad_outputs[{index - count}]"
            message = str(error).replace(f"gradcheck failed for input {index} ", f"gradgradcheck failed for {what} ")
            message = message.replace("gradient elements", "second-derivative elements")
        else:
            message = "gradgradcheck: " + str(error)
        failure = GradcheckError(message, index, error.index, error.analytic, error.numeric)
        if raise_exception:
            raise failure from None
        return False


def _gradcheck(fn, inputs, checked, eps, atol, rtol, seed, fast_mode):
    state = _snapshot(fn)
    rng = numpy.random.default_rng(seed)

    def evaluate(values):
        with no_grad():
            outputs = _outputs(fn(*values))
        _restore(fn, state)
        return outputs

    base = evaluate(inputs)
    xp = backends.get_array_module(base[0])
    upstream = tuple(xp.asarray(rng.standard_normal(out.shape)) if out.numel() > 1 else xp.ones(out.shape)
                     for out in base)

    def loss(values):  # L = <v, f(x)>: the scalar whose gradient backward computes
        return sum(float((out.data * v).sum()) for out, v in zip(evaluate(values), upstream))

    if not all(numpy.array_equal(backends.to_numpy(a.data), backends.to_numpy(b.data), equal_nan=True)
               for a, b in zip(base, evaluate(inputs))):  # a NaN in f(x) is not a difference between two calls
        raise GradcheckError("gradcheck: fn gave different outputs for the same inputs, so finite differences "
                             "are meaningless; is it random, or does it update state it reads (a Module's buffers "
                             "are restored automatically, other state is not)?")

    analytic = _analytic(fn, inputs, checked, upstream, state)
    again = _analytic(fn, inputs, checked, upstream, state)
    for i in checked:
        a, b = backends.to_numpy(analytic[i]), backends.to_numpy(again[i])
        if not numpy.array_equal(a, b, equal_nan=True):
            worst = numpy.unravel_index(numpy.argmax(numpy.abs(a - b)), a.shape) if a.ndim else ()
            raise GradcheckError(
                f"gradcheck: backward is not reproducible: two backward passes from fresh graphs gave different "
                f"gradients for input {i} at index {_format_index(worst)} ({a[worst]!r} vs {b[worst]!r}); does "
                "backward depend on state left over from an earlier call?", i, worst, a[worst], b[worst])

    if fast_mode:
        return _check_direction(inputs, checked, analytic, loss, eps, atol, rtol, rng)
    for i in checked:
        numeric = _numeric_gradient(inputs, i, loss, eps)
        _compare(i, inputs[i], backends.to_numpy(analytic[i]), numeric, atol, rtol)
    return True


def _outputs(result):
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, not {type(out).__name__}")
    return outputs


def _leaf_copies(inputs, checked):
    """Fresh leaves with the same values, so gradcheck never touches the caller's tensors or their .grad."""
    copies = list(inputs)
    for i in checked:
        copies[i] = Tensor(inputs[i].data.copy())
        copies[i].requires_grad = True
    return copies


def _analytic(fn, inputs, checked, upstream, state):
    copies = _leaf_copies(inputs, checked)
    try:
        outputs = _outputs(fn(*copies))
        _restore(fn, state)
        for out, v in zip(outputs, upstream):
            if out.requires_grad:
                run_backward(out, v.astype(out.dtype), retain_graph=True)  # the outputs may share nodes
    except RuntimeError as error:  # e.g. a gradient of the wrong shape: that is a failed check, not a crash
        raise GradcheckError(f"gradcheck: backward failed: {error}") from error
    xp = backends.get_array_module(inputs[checked[0]])
    return {i: copies[i].grad.data if copies[i].grad is not None else xp.zeros_like(inputs[i].data)
            for i in checked}


def _numeric_gradient(inputs, i, loss, eps):
    """Central differences for every element of input i (restored exactly after each step)."""
    values = list(inputs)
    host = backends.to_numpy(inputs[i].data).copy()
    xp = backends.get_array_module(inputs[i])
    numeric = numpy.zeros_like(host)
    flat_host, flat_numeric = host.reshape(-1), numeric.reshape(-1)
    for k in range(host.size):
        original = flat_host[k]
        flat_host[k] = original + eps
        values[i] = Tensor(xp.asarray(host.copy()))
        plus = loss(values)
        flat_host[k] = original - eps
        values[i] = Tensor(xp.asarray(host.copy()))
        minus = loss(values)
        flat_host[k] = original
        flat_numeric[k] = (plus - minus) / (2 * eps)
    return numeric


def _compare(i, tensor, analytic, numeric, atol, rtol):
    error = numpy.abs(analytic - numeric)
    allowed = atol + rtol * numpy.abs(numeric)
    bad = ~(error <= allowed)  # a NaN on either side (an error of NaN) counts as out of tolerance
    if not bad.any():
        return
    excess = numpy.where(numpy.isfinite(error), error - allowed, numpy.inf)
    worst = numpy.unravel_index(numpy.argmax(excess), analytic.shape) if analytic.ndim else ()
    a, n = analytic[worst], numeric[worst]
    hint = "" if numpy.isfinite(n) else ("\n  finite differences gave a non-finite value: does x +- eps leave the "
                                          "function's domain (log or sqrt near 0)? Move the input inside it.")
    raise GradcheckError(
        f"gradcheck failed for input {i} (shape {tensor.shape}): {int(bad.sum())} of {analytic.size} gradient "
        f"elements out of tolerance.\n  worst at index {_format_index(worst)}: analytic {a:.10g}, numeric "
        f"{n:.10g}, absolute error {abs(a - n):.3g}, relative error {abs(a - n) / max(abs(n), 1e-300):.3g} "
        f"(allowed {atol:g} + {rtol:g} * |numeric| = {allowed[worst]:.3g}){hint}", i, worst, a, n)


def _check_direction(inputs, checked, analytic, loss, eps, atol, rtol, rng):
    """One random unit direction u over all checked inputs: <grad, u> against (L(x + eps u) - L(x - eps u)) / 2eps."""
    directions = {i: rng.standard_normal(inputs[i].shape) for i in checked}
    norm = numpy.sqrt(sum(float((d * d).sum()) for d in directions.values()))
    directions = {i: d / norm for i, d in directions.items()}

    def shifted(sign):
        values = list(inputs)
        for i in checked:
            xp = backends.get_array_module(inputs[i])
            values[i] = Tensor(inputs[i].data + xp.asarray(sign * eps * directions[i]))
        return loss(values)

    numeric = (shifted(+1) - shifted(-1)) / (2 * eps)
    projected = sum(float((backends.to_numpy(analytic[i]) * directions[i]).sum()) for i in checked)
    if not abs(projected - numeric) <= atol + rtol * abs(numeric):  # written so that a NaN on either side fails
        raise GradcheckError(
            f"gradcheck (fast_mode) failed: along a random direction through inputs {checked}, the analytic "
            f"directional derivative is {projected:.10g} but finite differences give {numeric:.10g} "
            f"(absolute error {abs(projected - numeric):.3g}, allowed {atol + rtol * abs(numeric):.3g}); rerun "
            "without fast_mode to find the input and index", None, None, projected, numeric)
    return True


def _snapshot(fn):
    """A copy of a Module's buffers and parameters, if fn is one (BatchNorm updates running stats in training)."""
    state_dict = getattr(fn, "state_dict", None)
    if state_dict is None or not callable(getattr(fn, "load_state_dict", None)):
        return None
    return {key: Tensor(value.data.copy()) if isinstance(value, Tensor) else value
            for key, value in state_dict().items()}


def _restore(fn, state):
    # Fresh copies every time: a load_state_dict that keeps the given tensors, followed by an in-place update of a
    # buffer (running_mean *= ...), would otherwise write into the snapshot itself.
    if state is not None:
        fn.load_state_dict({key: Tensor(value.data.copy()) if isinstance(value, Tensor) else value
                            for key, value in state.items()})


def _format_index(index):
    return "(" + ", ".join(str(int(k)) for k in index) + ("," if len(index) == 1 else "") + ")"
