"""Exercise `matmul`: matrix multiplication with broadcast batch dimensions, forward and backward.

``a @ b`` for a of shape (..., n, k) and b of shape (..., k, m), both at least 2-D, multiplies matching matrices
of the two stacks:

    y[..., i, j] = sum_k a[..., i, k] * b[..., k, j]              y has shape (broadcast batch..., n, m)

The leading "batch" dimensions broadcast as NumPy's do: (2, 1, n, k) @ (5, k, m) gives (2, 5, n, m), and a single
matrix b of shape (k, m) is used by every matrix of a stack a.

Implement ``MatMul.forward`` and ``MatMul.backward``, which gets dL/dy and returns ``(grad_a, grad_b)``, each of
ITS INPUT'S shape (not y's), and the helper ``sum_to_shape``.

What makes it tricky: which factor is transposed, and on which side (check your formula's shapes: (n, m) and
(k, m) must combine into (n, k)); "transposed" here means the last two axes only, never the batch axes; and a
matrix that forward used for several batch entries (a leading axis broadcasting added, or an axis of size 1 it
stretched) was used once per entry, so its gradient collects a contribution from each. Write that reduction in
``sum_to_shape``.

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(a)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend, and so do the public checks), keep what backward
needs on ``ctx`` (``ctx.save_for_backward`` or ``ctx.<name> = ...``), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check matmul.py --assignment matmul
Stuck on the derivation? ``minigrad hint matmul`` prints a hint, one tier at a time (paths, then intermediate
gradients, then the formula); try the derivation again after each.
"""
import minigrad


def sum_to_shape(grad, shape):
    """Sum `grad` over the axes that broadcasting added or stretched, so that it has shape `shape`."""
    # YOUR CODE HERE
    raise NotImplementedError("matmul: sum_to_shape is not implemented yet")


class MatMul(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        """y = a @ b, with broadcast batch dimensions."""
        # YOUR CODE HERE
        raise NotImplementedError("matmul: MatMul.forward is not implemented yet")

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_a, grad_b), each of its input's shape."""
        # YOUR CODE HERE
        raise NotImplementedError("matmul: MatMul.backward is not implemented yet")
