"""The grader's half of exercise `cross_entropy`: reference, inputs, edge cases."""

import numpy

from minigrad.grading.spec import Argument, Case, Exercise


def reference(logits, target, grad_output):
    """Mean cross-entropy of softmax(logits) against integer targets, and its gradient, in float64 NumPy."""
    batch = logits.shape[0]
    rows = numpy.arange(batch)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - numpy.log(numpy.exp(shifted).sum(axis=1, keepdims=True))
    output = numpy.asarray(-log_probs[rows, target].mean())
    if grad_output is None:
        return output, None
    grad_logits = numpy.exp(log_probs)
    grad_logits[rows, target] -= 1.0
    return output, (grad_logits * grad_output / batch, None)


def _batch(batch, classes, scale=2.0):
    return lambda rng: (scale * rng.standard_normal((batch, classes)), rng.integers(0, classes, size=batch))


def _confident(rng):
    logits, target = _batch(6, 4)(rng)
    logits[numpy.arange(6), target] += 40.0  # probabilities of the right class within 1e-17 of 1
    logits[0, (target[0] + 1) % 4] += 80.0   # and one confidently wrong example
    return logits, target


EXERCISE = Exercise(
    task="cross_entropy",
    function="CrossEntropy",
    title="Softmax cross-entropy, fused (forward and backward)",
    arguments=(Argument("logits"), Argument("target", "index")),
    reference=reference,
    public_case=Case("public example", _batch(4, 3)),
    hidden_cases=(
        Case("small batch", _batch(8, 5)),
        Case("many classes", _batch(3, 12, scale=4.0)),
        Case("few classes", _batch(16, 2)),
    ),
    gradcheck_case=Case("small example", _batch(4, 5)),
    large_case=Case("large vocabulary", _batch(4, 131072)),
    edge_cases=(
        Case("large logits", _batch(5, 4, scale=1e4),
             hint="logits of size 1e4: exp overflows unless each row's maximum is subtracted first"),
        Case("confident predictions", _confident),
        Case("batch of two", _batch(2, 3),
             hint="the loss is a mean over the batch: its gradient carries a 1/N"),
        Case("float32 inputs", _batch(6, 4), dtype="float32",
             hint="float32 in, float32 out: do not create float64 arrays (xp.zeros without dtype, numpy scalars)"),
        Case("CuPy-like backend", _batch(6, 4), backend="strict",
             hint="the op runs on minigrad's strict backend, which refuses NumPy calls on its arrays: use "
                  "xp = minigrad.get_array_module(logits) instead of numpy"),
    ),
    notebook_demo="""\
inputs = (minigrad.tensor(rng.standard_normal((4, 5)), requires_grad=True),
          minigrad.tensor(rng.integers(0, 5, size=4)))""",
)
