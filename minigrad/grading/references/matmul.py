"""The grader's half of exercise `matmul`: reference, inputs, edge cases."""

import numpy

from minigrad.grading.spec import Argument, Case, Exercise, unbroadcast


def reference(a, b, grad_output):
    """Batched matmul with broadcasting and its gradients, in float64 NumPy."""
    output = numpy.matmul(a, b)
    if grad_output is None:
        return output, None
    grad_a = numpy.matmul(grad_output, numpy.swapaxes(b, -1, -2))
    grad_b = numpy.matmul(numpy.swapaxes(a, -1, -2), grad_output)
    return output, (unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape))


def _pair(a_shape, b_shape):
    return lambda rng: (rng.standard_normal(a_shape), rng.standard_normal(b_shape))


EXERCISE = Exercise(
    task="matmul",
    function="MatMul",
    title="Matrix multiplication with broadcast batch dimensions (forward and backward)",
    arguments=(Argument("a"), Argument("b")),
    reference=reference,
    public_case=Case("public example", _pair((2, 3), (3, 4))),
    hidden_cases=(
        Case("two matrices", _pair((4, 3), (3, 5))),
        Case("a stack times one matrix", _pair((3, 2, 4), (4, 5))),
        Case("both operands broadcast", _pair((2, 1, 3, 4), (5, 4, 2))),
        Case("one matrix times a stack", _pair((3, 4), (2, 4, 3))),
    ),
    gradcheck_case=Case("small example", _pair((2, 2, 3), (3, 4))),
    large_case=Case("large inner dimension", _pair((64, 16384), (16384, 64))),
    edge_cases=(
        Case("batch of two square matrices", _pair((2, 3, 3), (2, 3, 3)),
             hint="square matrices: a transposed gradient has the right shape but the wrong values"),
        Case("outer product (k = 1)", _pair((4, 1), (1, 3))),
        Case("size-1 batch axis broadcast", _pair((1, 3, 4), (5, 4, 2)),
             hint="a's batch axis of size 1 is stretched to 5 in forward: grad_a must be summed over it, keeping "
                  "the axis"),
        Case("float32 inputs", _pair((3, 4), (4, 2)), dtype="float32",
             hint="float32 in, float32 out: do not create float64 arrays (xp.zeros without dtype, numpy scalars)"),
        Case("CuPy-like backend", _pair((2, 3, 4), (4, 2)), backend="strict",
             hint="the op runs on minigrad's strict backend, which refuses NumPy calls on its arrays: use "
                  "xp = minigrad.get_array_module(a) instead of numpy"),
    ),
    notebook_demo="""\
inputs = (minigrad.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True),
          minigrad.tensor(rng.standard_normal((4, 5)), requires_grad=True))""",
)
