"""Bug: the product rule applied halfway: dL/dx = dy * sigmoid(x), forgetting x * sigmoid'(x)."""
import minigrad


class SiLU(minigrad.Function):
    @staticmethod
    def forward(ctx, x):
        xp = minigrad.get_array_module(x)
        decay = xp.exp(-xp.abs(x))
        sigmoid = xp.where(x >= 0, 1 / (1 + decay), decay / (1 + decay))
        ctx.save_for_backward(sigmoid)
        return x * sigmoid

    @staticmethod
    def backward(ctx, grad_output):
        (sigmoid,) = ctx.saved_tensors
        return grad_output * sigmoid
