"""The grader's half of exercise `rmsnorm`: reference, inputs, edge cases."""

import numpy

from minigrad.grading.spec import Argument, Case, Exercise


def reference(x, weight, eps, grad_output):
    """RMSNorm over the last axis and its gradients, in float64 NumPy (torch.nn.functional.rms_norm)."""
    inv_rms = 1.0 / numpy.sqrt((x ** 2).mean(axis=-1, keepdims=True) + eps)
    normalized = x * inv_rms
    output = normalized * weight
    if grad_output is None:
        return output, None
    g = grad_output * weight
    grad_x = inv_rms * (g - normalized * (g * normalized).mean(axis=-1, keepdims=True))
    batch_axes = tuple(range(x.ndim - 1))
    return output, (grad_x, (grad_output * normalized).sum(axis=batch_axes), None)


def _inputs(shape, eps=1e-5, scale=1.0):
    return lambda rng: (scale * rng.standard_normal(shape), 1.0 + 0.5 * rng.standard_normal(shape[-1]), eps)


def _zero_rows(rng):
    x, weight, eps = _inputs((4, 6))(rng)
    x[2] = 0.0  # rms = sqrt(eps): only eps keeps the division finite
    return x, weight, eps


EXERCISE = Exercise(
    task="rmsnorm",
    function="RMSNorm",
    title="RMS normalization (forward and backward)",
    arguments=(Argument("x"), Argument("weight"), Argument("eps", "value")),
    reference=reference,
    public_case=Case("public example", _inputs((3, 5))),
    hidden_cases=(
        Case("batch of rows", _inputs((6, 8))),
        Case("(batch, time, features), eps 1e-3", _inputs((2, 3, 5), eps=1e-3)),
        Case("wide rows", _inputs((4, 32), scale=3.0)),
    ),
    gradcheck_case=Case("small example", _inputs((3, 5))),
    large_case=Case("long rows", _inputs((4, 131072))),
    edge_cases=(
        Case("a row of zeros", _zero_rows,
             hint="a row of zeros: rms = sqrt(eps), so eps must be inside the square root"),
        Case("small values where eps matters", _inputs((4, 8), scale=1e-3),
             hint="rows of size 1e-3, where eps changes the result: sqrt(mean(x^2) + eps), and the eps argument "
                  "must be used rather than a constant"),
        Case("batch of one", _inputs((1, 7))),
        Case("float32 inputs", _inputs((4, 8)), dtype="float32",
             hint="float32 in, float32 out: do not create float64 arrays (xp.zeros without dtype, numpy scalars)"),
        Case("CuPy-like backend", _inputs((4, 8)), backend="strict",
             hint="the op runs on minigrad's strict backend, which refuses NumPy calls on its arrays: use "
                  "xp = minigrad.get_array_module(x) instead of numpy"),
    ),
    notebook_demo="""\
inputs = (minigrad.tensor(rng.standard_normal((3, 5)), requires_grad=True),
          minigrad.tensor(1 + 0.5 * rng.standard_normal(5), requires_grad=True), 1e-5)""",
)
