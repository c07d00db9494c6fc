"""Bug: grad_b is computed as dy^T a, the transpose of a^T dy."""
import minigrad


def sum_to_shape(grad, shape):
    added = grad.ndim - len(shape)
    if added > 0:
        grad = grad.sum(axis=tuple(range(added)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


class MatMul(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        xp = minigrad.get_array_module(a)
        grad_a = grad_output @ xp.swapaxes(b, -1, -2)
        grad_b = xp.swapaxes(grad_output, -1, -2) @ a
        return sum_to_shape(grad_a, a.shape), sum_to_shape(grad_b, b.shape)
