"""The grader's half of exercise `silu`: reference, inputs, edge cases."""

import numpy

from minigrad.grading.spec import Argument, Case, Exercise


def _sigmoid(x):
    decay = numpy.exp(-numpy.abs(x))
    return numpy.where(x >= 0, 1 / (1 + decay), decay / (1 + decay))


def reference(x, grad_output):
    """SiLU and its gradient, in float64 NumPy."""
    sigmoid = _sigmoid(x)
    output = x * sigmoid
    if grad_output is None:
        return output, None
    return output, (grad_output * (sigmoid + x * sigmoid * (1 - sigmoid)),)


def _normal(shape, scale=2.0):
    return lambda rng: (scale * rng.standard_normal(shape),)


def _large(rng):
    magnitudes = rng.uniform(50.0, 1000.0, size=(3, 8))
    signs = numpy.where(rng.random((3, 8)) < 0.5, -1.0, 1.0)
    x = signs * magnitudes
    x[0, :4] = rng.standard_normal(4)  # ordinary values in the same array
    return (x,)


def _zeros_and_signs(rng):
    x = rng.standard_normal((2, 6))
    x[0] = 0.0
    x[1, :3] = -numpy.abs(x[1, :3])
    return (x,)


EXERCISE = Exercise(
    task="silu",
    function="SiLU",
    title="SiLU, an elementwise warm-up (forward and backward)",
    arguments=(Argument("x"),),
    reference=reference,
    public_case=Case("public example", _normal((2, 4))),
    hidden_cases=(
        Case("vector", _normal((7,))),
        Case("matrix", _normal((5, 6), scale=4.0)),
        Case("3-D", _normal((2, 3, 4))),
    ),
    gradcheck_case=Case("small example", _normal((3, 4))),
    large_case=Case("a million elements", _normal((1000, 1000))),
    edge_cases=(
        Case("large values", _large,
             hint="|x| up to 1000: exp(1000) overflows to inf, and inf/inf is NaN; build the sigmoid from "
                  "exp(-|x|)"),
        Case("zeros and negative values", _zeros_and_signs),
        Case("float32 inputs", _normal((4, 5)), dtype="float32",
             hint="float32 in, float32 out: do not create float64 arrays (xp.zeros without dtype, numpy scalars)"),
        Case("CuPy-like backend", _normal((4, 5)), backend="strict",
             hint="the op runs on minigrad's strict backend, which refuses NumPy calls on its arrays: use "
                  "xp = minigrad.get_array_module(x) instead of numpy"),
    ),
    notebook_demo="""\
inputs = (minigrad.tensor(rng.standard_normal((3, 4)), requires_grad=True),)""",
)
