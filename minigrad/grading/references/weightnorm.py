"""The grader's half of exercise `weightnorm`: reference, inputs, edge cases."""

import numpy

from minigrad.grading.spec import Argument, Case, Exercise


def reference(v, g, grad_output):
    """w = g v / ||v|| row by row, and its gradients, in float64 NumPy (PyTorch's weight_norm with dim=0)."""
    norm = numpy.sqrt((v ** 2).sum(axis=1, keepdims=True))
    direction = v / norm
    output = g[:, None] * direction
    if grad_output is None:
        return output, None
    grad_g = (grad_output * direction).sum(axis=1)
    grad_v = (g[:, None] / norm) * (grad_output - direction * grad_g[:, None])
    return output, (grad_v, grad_g)


def _inputs(units, features, scale=1.0):
    return lambda rng: (scale * rng.standard_normal((units, features)), 1.0 + rng.standard_normal(units))


def _mixed_scales(rng):
    v, g = _inputs(4, 5)(rng)
    v[0] *= 1e6   # the output does not depend on the length of v, only on its direction
    v[1] *= 1e-6
    return v, g


EXERCISE = Exercise(
    task="weightnorm",
    function="WeightNorm",
    title="Weight normalization (forward and backward)",
    arguments=(Argument("v"), Argument("g")),
    reference=reference,
    public_case=Case("public example", _inputs(3, 4)),
    hidden_cases=(
        Case("4 units of 6 inputs", _inputs(4, 6)),
        Case("3 units of 10 inputs", _inputs(3, 10, scale=3.0)),
        Case("8 units of 2 inputs", _inputs(8, 2)),
    ),
    gradcheck_case=Case("small example", _inputs(3, 4)),
    large_case=Case("long rows", _inputs(4, 131072)),
    edge_cases=(
        Case("rows of length 1e6 and 1e-6", _mixed_scales,
             hint="w does not change when a row of v is scaled, and the gradient of v scales by the inverse: "
                  "divide by each row's own norm"),
        Case("one input per unit", _inputs(5, 1),
             hint="with a single input, w = g * sign(v) does not depend on v at all, so the gradient of v must be "
                  "zero: the projection (dw - (dw . u) u) is what makes it so"),
        Case("float32 inputs", _inputs(4, 6), dtype="float32",
             hint="float32 in, float32 out: do not create float64 arrays (xp.zeros without dtype, numpy scalars)"),
        Case("CuPy-like backend", _inputs(4, 6), backend="strict",
             hint="the op runs on minigrad's strict backend, which refuses NumPy calls on its arrays: use "
                  "xp = minigrad.get_array_module(v) instead of numpy"),
    ),
    notebook_demo="""\
inputs = (minigrad.tensor(rng.standard_normal((3, 4)), requires_grad=True),
          minigrad.tensor(1 + rng.standard_normal(3), requires_grad=True))""",
)
