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

### BEGIN HINTS
HINTS = {
    1: """\
        Each a[i, k] reaches the loss through every y[i, j] of row i (one path per column j), and each b[k, j]
        through every y[i, j] of column j (one path per row i). Sum over those paths. With broadcasting, a matrix
        used for several batch entries also sums over the entries that used it.""",
    2: """\
        Element by element, for one pair of matrices:
        dL/da[i, k] = sum_j dL/dy[i, j] * b[k, j]
        dL/db[k, j] = sum_i a[i, k] * dL/dy[i, j]
        Each of those sums is itself a matrix product. Then sum each gradient over the axes broadcasting added
        (leading axes) or stretched (axes of size 1, keepdims).""",
    3: """\
        grad_a = grad_output @ swapaxes(b, -1, -2) and grad_b = swapaxes(a, -1, -2) @ grad_output, then
        sum_to_shape(grad_a, a.shape) and sum_to_shape(grad_b, b.shape).""",
}
### END HINTS


def sum_to_shape(grad, shape):
    """Sum `grad` over the axes that broadcasting added or stretched, so that it has shape `shape`."""
    ### BEGIN SOLUTION
    added = grad.ndim - len(shape)
    if added > 0:
        grad = grad.sum(axis=tuple(range(added)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad
    ### END SOLUTION


class MatMul(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        """y = a @ b, with broadcast batch dimensions."""
        ### BEGIN SOLUTION
        ctx.save_for_backward(a, b)
        return a @ b
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_a, grad_b), each of its input's shape."""
        ### BEGIN SOLUTION
        a, b = ctx.saved_tensors
        xp = minigrad.get_array_module(a)
        grad_a = grad_output @ xp.swapaxes(b, -1, -2)
        grad_b = xp.swapaxes(a, -1, -2) @ grad_output
        return sum_to_shape(grad_a, a.shape), sum_to_shape(grad_b, b.shape)
        ### END SOLUTION
