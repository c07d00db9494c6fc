"""The grader's half of exercise `layernorm`: reference, inputs, edge cases."""

import numpy

from minigrad.grading.spec import Argument, Case, Exercise, Tolerance


def reference(x, weight, bias, eps, grad_output):
    """LayerNorm over the last axis and its gradients, in float64 NumPy (REFERENCE.md's x-hat form)."""
    features = x.shape[-1]
    centered = x - x.mean(axis=-1, keepdims=True)
    inv_std = 1.0 / numpy.sqrt((centered ** 2).mean(axis=-1, keepdims=True) + eps)
    normalized = centered * inv_std
    output = normalized * weight + bias
    if grad_output is None:
        return output, None
    batch_axes = tuple(range(x.ndim - 1))
    g = grad_output * weight
    grad_x = (inv_std / features) * (features * g - g.sum(axis=-1, keepdims=True)
                                     - normalized * (g * normalized).sum(axis=-1, keepdims=True))
    return output, (grad_x, (grad_output * normalized).sum(axis=batch_axes), grad_output.sum(axis=batch_axes), None)


def _inputs(rng, shape, eps=1e-5, scale=1.0, offset=0.0):
    features = shape[-1]
    x = offset + scale * rng.standard_normal(shape)
    return x, 1.0 + 0.5 * rng.standard_normal(features), 0.5 * rng.standard_normal(features), eps


def _constant_rows(rng):
    x, weight, bias, eps = _inputs(rng, (4, 6))
    x[1] = 3.0          # a row with zero variance: only eps keeps 1/sqrt(var + eps) finite
    x[3] = -0.25
    return x, weight, bias, eps


EXERCISE = Exercise(
    task="layernorm",
    function="LayerNorm",
    title="Layer normalization (forward and backward)",
    arguments=(Argument("x"), Argument("weight"), Argument("bias"), Argument("eps", "value")),
    reference=reference,
    public_case=Case("public example", lambda rng: _inputs(rng, (3, 5))),
    hidden_cases=(
        Case("batch of rows", lambda rng: _inputs(rng, (8, 16))),
        Case("(batch, time, features)", lambda rng: _inputs(rng, (3, 4, 7), eps=1e-3)),
        Case("wide rows", lambda rng: _inputs(rng, (2, 64), scale=3.0, offset=1.0)),
    ),
    gradcheck_case=Case("small example", lambda rng: _inputs(rng, (3, 5))),
    large_case=Case("long rows", lambda rng: _inputs(rng, (4, 131072))),
    edge_cases=(
        Case("constant rows", _constant_rows,
             hint="a row with zero variance: eps must be inside the square root, and nothing may divide by the "
                  "standard deviation alone"),
        Case("batch of two", lambda rng: _inputs(rng, (2, 5))),
        Case("large values", lambda rng: _inputs(rng, (4, 8), offset=1e8), tolerance=Tolerance(1e-5, 1e-6),
             hint="rows with mean 1e8 and standard deviation 1: E[x^2] - E[x]^2 loses every digit here; subtract "
                  "the mean first (two passes)"),
        Case("small variance where eps matters", lambda rng: _inputs(rng, (4, 8), scale=1e-3, eps=1e-5),
             hint="rows with standard deviation 1e-3, where eps changes the result: eps goes inside the square root "
                  "(sqrt(var + eps)), and the eps argument must be used rather than a constant"),
        Case("float32 inputs", lambda rng: _inputs(rng, (4, 8)), dtype="float32",
             hint="float32 in, float32 out: do not create float64 arrays (xp.zeros without dtype, numpy scalars)"),
        Case("CuPy-like backend", lambda rng: _inputs(rng, (4, 8)), backend="strict",
             hint="the op runs on minigrad's strict backend, which refuses NumPy calls on its arrays: use "
                  "xp = minigrad.get_array_module(x) instead of numpy"),
    ),
    notebook_demo="""\
x = minigrad.randn(4, 6, dtype="float64", requires_grad=True)
weight = minigrad.tensor(rng.standard_normal(6), requires_grad=True)
bias = minigrad.tensor(rng.standard_normal(6), requires_grad=True)
inputs = (x, weight, bias, 1e-5)""",
)
