"""Exercise `silu` (warm-up): an elementwise op, forward and backward.

SiLU (also called swish) multiplies its input by its own sigmoid:

    sigmoid(x) = 1 / (1 + exp(-x))
    y = silu(x) = x * sigmoid(x)

Implement ``SiLU.forward`` (return y, the shape and dtype of x) and ``SiLU.backward``, which gets dL/dy
(``grad_output``, the shape of y) and returns dL/dx, the shape of x.

What makes it tricky: x appears twice in y, once as the factor and once inside the sigmoid, so its gradient has
two contributions. ``grad_output`` is dL/dy, not 1: multiply by it. And the sigmoid must not overflow for large
|x| (exp(1000) is inf in floating point; exp(-|x|) never overflows, so compute sigmoid from it, with one formula for
x >= 0 and one for x < 0).

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend, and so do the public checks), keep what backward
needs on ``ctx`` (``ctx.save_for_backward`` or ``ctx.<name> = ...``), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check silu.py --assignment silu
Stuck on the derivation? ``minigrad hint silu`` prints a hint, one tier at a time (paths, then intermediate
gradients, then the formula); try the derivation again after each.
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
