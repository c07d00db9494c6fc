"""The grader's half of exercise `rnn_cell`: reference, inputs, edge cases, and the sequence for BPTT."""

import numpy

from minigrad.grading.spec import Argument, Case, Exercise, Unroll


def reference(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grad_output):
    """One tanh RNN step and its gradients, in float64 NumPy (PyTorch's RNNCell)."""
    hidden = numpy.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
    if grad_output is None:
        return hidden, None
    grad_preactivation = grad_output * (1 - hidden ** 2)
    grad_bias = grad_preactivation.sum(axis=0)
    return hidden, (grad_preactivation @ weight_ih, grad_preactivation @ weight_hh, grad_preactivation.T @ x,
                    grad_preactivation.T @ h, grad_bias, grad_bias)


def _step(batch, inputs, hidden, weight_scale=0.5, state_scale=1.0):
    def make(rng):
        return (rng.standard_normal((batch, inputs)), state_scale * rng.standard_normal((batch, hidden)),
                weight_scale * rng.standard_normal((hidden, inputs)),
                weight_scale * rng.standard_normal((hidden, hidden)),
                0.1 * rng.standard_normal(hidden), 0.1 * rng.standard_normal(hidden))
    return make


def _sequence(steps, batch, inputs, hidden):
    def make(rng):
        x, h, weight_ih, weight_hh, bias_ih, bias_hh = _step(batch, inputs, hidden)(rng)
        return (rng.standard_normal((steps, batch, inputs)), h, weight_ih, weight_hh, bias_ih, bias_hh)
    return make


EXERCISE = Exercise(
    task="rnn_cell",
    function="RNNCell",
    title="A tanh RNN cell step, backpropagated through time (forward and backward)",
    arguments=(Argument("x"), Argument("h"), Argument("weight_ih"), Argument("weight_hh"), Argument("bias_ih"),
               Argument("bias_hh")),
    reference=reference,
    public_case=Case("public example", _step(2, 3, 4)),
    hidden_cases=(
        Case("batch of 4", _step(4, 3, 5)),
        Case("wide input", _step(3, 6, 4)),
        Case("batch of 8, small hidden", _step(8, 2, 3)),
    ),
    gradcheck_case=Case("small example", _step(2, 3, 4)),
    large_case=Case("wide input", _step(64, 8192, 256, weight_scale=0.01)),
    edge_cases=(
        Case("large pre-activations", _step(3, 4, 3, weight_scale=200.0),
             hint="pre-activations of several hundred: tanh saturates at +-1 and (exp(2a) - 1)/(exp(2a) + 1) is "
                  "inf/inf = NaN; use xp.tanh"),
        Case("zero hidden state", _step(3, 3, 4, state_scale=0.0),
             hint="h = 0, as at the first step of a sequence: the gradient of weight_hh is then zero, but not "
                  "the gradient of h"),
        Case("float32 inputs", _step(4, 3, 5), dtype="float32",
             hint="float32 in, float32 out: do not create float64 arrays (xp.zeros without dtype, numpy scalars)"),
        Case("CuPy-like backend", _step(4, 3, 5), backend="strict",
             hint="the op runs on minigrad's strict backend, which refuses NumPy calls on its arrays: use "
                  "xp = minigrad.get_array_module(x) instead of numpy"),
    ),
    unroll=Unroll(sequence=0, state=1),
    bptt_case=Case("a sequence of 5 steps", _sequence(5, 3, 3, 4),
                   hint="every gradient through the whole sequence: dh (the recurrent term) must flow back to "
                        "earlier steps, and each step must use its own ctx"),
    notebook_demo="""\
batch, inputs_size, hidden_size = 2, 3, 4
inputs = tuple(minigrad.tensor(0.5 * rng.standard_normal(shape), requires_grad=True) for shape in
               [(batch, inputs_size), (batch, hidden_size), (hidden_size, inputs_size),
                (hidden_size, hidden_size), (hidden_size,), (hidden_size,)])""",
)
