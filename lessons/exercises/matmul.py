"""Exercise `matmul`: matrix multiplication with broadcast batch dimensions, forward and backward.

``a @ b`` for a of shape (..., n, k) and b of shape (..., k, m), both at least 2-D, multiplies matching matrices
of the two stacks. The leading "batch" dimensions broadcast as NumPy's do: (2, 1, n, k) @ (5, k, m) gives
(2, 5, n, m), and a single matrix b of shape (k, m) is used by every matrix of a stack a.

Implement ``MatMul.forward`` and ``MatMul.backward``. For one pair of matrices, y = a b gives

    dL/da = dL/dy b^T          (n, m) @ (m, k) -> (n, k)
    dL/db = a^T dL/dy          (k, n) @ (n, m) -> (k, m)

where ^T swaps the LAST TWO axes only (``xp.swapaxes(b, -1, -2)``), never the batch axes. With broadcasting, a
matrix that forward used for several batch entries receives the SUM of their gradients: reduce each gradient back
to its input's shape by summing over the batch axes that broadcasting added (leading axes) or stretched (axes of
size 1). Write that reduction yourself in ``sum_to_shape``.

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(a)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the inputs' dtype.

Check your work with the public checks:  minigrad check matmul.py --assignment matmul
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
