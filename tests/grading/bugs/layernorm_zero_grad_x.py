"""Bug: backward returns zeros for x. An all-ones upstream gradient would not notice (with weight = 1 the true
gradient of sum(y) with respect to x is exactly zero); the grader's random upstream gradient does."""
import minigrad


class LayerNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp = minigrad.get_array_module(x)
        centered = x - x.mean(axis=-1, keepdims=True)
        inv_std = 1.0 / xp.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
        normalized = centered * inv_std
        ctx.save_for_backward(normalized, weight)
        return normalized * weight + bias

    @staticmethod
    def backward(ctx, grad_output):
        normalized, weight = ctx.saved_tensors
        xp = minigrad.get_array_module(normalized)
        batch_axes = tuple(range(grad_output.ndim - 1))
        return (xp.zeros_like(normalized), (grad_output * normalized).sum(axis=batch_axes),
                grad_output.sum(axis=batch_axes), None)
