"""Matrix multiplication, with NumPy's rules for batches and 1-D operands.

For matrices, Y = A @ B means Y[i, k] = sum_j A[i, j] B[j, k], so

    dL/dA[i, j] = sum_k dL/dY[i, k] B[j, k]   ->   dL/dA = dL/dY @ B^T
    dL/dB[j, k] = sum_i A[i, j] dL/dY[i, k]   ->   dL/dB = A^T @ dL/dY

Stacks of matrices (leading "batch" axes) multiply pairwise and broadcast like any elementwise op, so the
gradients are summed back over broadcast batch axes. A 1-D operand is treated as NumPy treats it: on the left
as a row (1, n), on the right as a column (n, 1), with that axis removed from the result. Backward undoes this by
putting the removed axis back into dL/dY before applying the matrix rule.
"""

from minigrad.autograd.broadcasting import unbroadcast
from minigrad.autograd.function import Function


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(f"matmul: both arguments need to be at least 1-D, got shapes {tuple(a.shape)} and "
                               f"{tuple(b.shape)}")
        ctx.save_for_backward(a, b)
        try:
            return a @ b
        except ValueError:  # NumPy's message speaks of gufunc signatures; name the two shapes instead
            raise RuntimeError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied (the "
                               "last dim of the first must equal the second-to-last of the second, and the batch "
                               "dims must broadcast)") from None

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        # View both operands, and the gradient, as (stacks of) matrices.
        a_matrix = a[None, :] if a.ndim == 1 else a               # (n,) -> (1, n)
        b_matrix = b[:, None] if b.ndim == 1 else b               # (n,) -> (n, 1)
        grad_matrix = grad_output
        if b.ndim == 1:
            grad_matrix = grad_matrix[..., None]                  # (..., m) -> (..., m, 1)
        if a.ndim == 1:
            grad_matrix = grad_matrix[..., None, :]               # (..., k) -> (..., 1, k)
        grad_a = grad_b = None
        if needs_a:
            grad_a = unbroadcast(grad_matrix @ b_matrix.swapaxes(-1, -2), a_matrix.shape).reshape(a.shape)
        if needs_b:
            grad_b = unbroadcast(a_matrix.swapaxes(-1, -2) @ grad_matrix, b_matrix.shape).reshape(b.shape)
        return grad_a, grad_b
