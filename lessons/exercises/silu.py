"""Exercise `silu` (warm-up): an elementwise op, forward and backward.

SiLU (also called swish) multiplies its input by its own sigmoid:

    sigmoid(x) = 1 / (1 + exp(-x))
    y = silu(x) = x * sigmoid(x)

Implement ``SiLU.forward`` and ``SiLU.backward``. An elementwise op sends each output's gradient straight back to
its own input, times the local derivative. By the product rule, and with sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)),

    dL/dx = dL/dy * (sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x)))

Two things to get right beyond the formula: the sigmoid must not overflow for large |x| (exp(1000) is inf in
floating point; exp(-|x|) never overflows, so compute sigmoid from it, with one formula for x >= 0 and one for
x < 0), and backward must use ``grad_output``: it is dL/dy, not 1.

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend), keep what backward needs with
``ctx.save_for_backward``, and use nothing of minigrad but ``minigrad.Function`` and ``minigrad.get_array_module``.
The output keeps the input's dtype.

Check your work with the public checks:  minigrad check silu.py --assignment silu
"""
import minigrad


class SiLU(minigrad.Function):
    @staticmethod
    def forward(ctx, x):
        """y = x * sigmoid(x), elementwise."""
        # YOUR CODE HERE
        raise NotImplementedError("silu: SiLU.forward is not implemented yet")

    @staticmethod
    def backward(ctx, grad_output):
        """Return grad_x, the gradient of the loss with respect to x."""
        # YOUR CODE HERE
        raise NotImplementedError("silu: SiLU.backward is not implemented yet")
