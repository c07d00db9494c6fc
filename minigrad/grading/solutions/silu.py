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

### BEGIN HINTS
HINTS = {
    1: """\
        y = x * sigmoid(x) is a product of two functions of the same x: the gradient reaches x along two paths,
        one through the factor x and one through sigmoid(x). Add them (the product rule), then multiply by dL/dy:
        the op is elementwise, so each y_i depends on x_i only.""",
    2: """\
        The two local derivatives: d(x)/dx = 1, and d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x)). So
        dy/dx = 1 * sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x)).""",
    3: """\
        dL/dx = grad_output * sigmoid(x) * (1 + x * (1 - sigmoid(x))), elementwise; keep sigmoid(x) from forward.""",
}
### END HINTS


class SiLU(minigrad.Function):
    @staticmethod
    def forward(ctx, x):
        """y = x * sigmoid(x), elementwise."""
        ### BEGIN SOLUTION
        xp = minigrad.get_array_module(x)
        decay = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows
        sigmoid = xp.where(x >= 0, 1 / (1 + decay), decay / (1 + decay))
        ctx.save_for_backward(x, sigmoid)
        return x * sigmoid
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """Return grad_x, the gradient of the loss with respect to x."""
        ### BEGIN SOLUTION
        x, sigmoid = ctx.saved_tensors
        return grad_output * sigmoid * (1 + x * (1 - sigmoid))
        ### END SOLUTION
