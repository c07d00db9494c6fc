"""The grader's half of exercise `batchnorm`: reference, inputs, edge cases."""

import numpy

from minigrad.grading.spec import Argument, Case, Exercise, Tolerance


def reference(x, weight, bias, eps, grad_output):
    """Training-mode batch normalization of x (N, C) over the batch axis and its gradients, in float64 NumPy."""
    batch = x.shape[0]
    centered = x - x.mean(axis=0)
    inv_std = 1.0 / numpy.sqrt((centered ** 2).mean(axis=0) + eps)
    normalized = centered * inv_std
    output = normalized * weight + bias
    if grad_output is None:
        return output, None
    g = grad_output * weight
    grad_x = (inv_std / batch) * (batch * g - g.sum(axis=0) - normalized * (g * normalized).sum(axis=0))
    return output, (grad_x, (grad_output * normalized).sum(axis=0), grad_output.sum(axis=0), None)


def _inputs(batch, features, eps=1e-5, scale=1.0, offset=0.0):
    def make(rng):
        x = offset + scale * rng.standard_normal((batch, features))
        return x, 1.0 + 0.5 * rng.standard_normal(features), 0.5 * rng.standard_normal(features), eps
    return make


def _constant_feature(rng):
    x, weight, bias, eps = _inputs(6, 4)(rng)
    x[:, 2] = 1.5  # the same value in every example: zero batch variance
    return x, weight, bias, eps


EXERCISE = Exercise(
    task="batchnorm",
    function="BatchNorm",
    title="Batch normalization in training mode (forward and backward)",
    arguments=(Argument("x"), Argument("weight"), Argument("bias"), Argument("eps", "value")),
    reference=reference,
    public_case=Case("public example", _inputs(4, 3)),
    hidden_cases=(
        Case("batch of 8", _inputs(8, 4)),
        Case("batch of 16, eps 1e-3", _inputs(16, 3, eps=1e-3)),
        Case("shifted and scaled features", _inputs(5, 6, scale=2.0, offset=-1.0)),
    ),
    gradcheck_case=Case("small example", _inputs(4, 3)),
    large_case=Case("large batch", _inputs(131072, 4)),
    edge_cases=(
        Case("batch of two", _inputs(2, 5),
             hint="N = 2: the biased variance divides by 2, the unbiased one by 1, a factor of two apart"),
        Case("constant feature", _constant_feature,
             hint="a feature with zero variance over the batch: eps must be inside the square root"),
        Case("large values", _inputs(8, 4, offset=1e8), tolerance=Tolerance(1e-5, 1e-6),
             hint="features with mean 1e8 and standard deviation 1: E[x^2] - E[x]^2 loses every digit here; "
                  "subtract the mean first (two passes)"),
        Case("float32 inputs", _inputs(8, 4), dtype="float32",
             hint="float32 in, float32 out: do not create float64 arrays (xp.zeros without dtype, numpy scalars)"),
        Case("CuPy-like backend", _inputs(8, 4), backend="strict",
             hint="the op runs on minigrad's strict backend, which refuses NumPy calls on its arrays: use "
                  "xp = minigrad.get_array_module(x) instead of numpy"),
    ),
    notebook_demo="""\
inputs = (minigrad.tensor(rng.standard_normal((6, 3)), requires_grad=True),
          minigrad.tensor(1 + 0.5 * rng.standard_normal(3), requires_grad=True),
          minigrad.tensor(0.5 * rng.standard_normal(3), requires_grad=True), 1e-5)""",
)
