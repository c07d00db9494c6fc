"""Bug: the gradients are not summed over the broadcast batch axes: right for two matrices, wrong for stacks."""
import minigrad


class MatMul(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        xp = minigrad.get_array_module(a)
        return grad_output @ xp.swapaxes(b, -1, -2), xp.swapaxes(a, -1, -2) @ grad_output
