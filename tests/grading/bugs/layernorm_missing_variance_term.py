"""Bug: the variance is treated as a constant in backward, so dL/dx lacks the -xhat * mean(g * xhat) term."""
import minigrad


class LayerNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp = minigrad.get_array_module(x)
        centered = x - x.mean(axis=-1, keepdims=True)
        inv_std = 1.0 / xp.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
        normalized = centered * inv_std
        ctx.save_for_backward(normalized, inv_std, weight)
        return normalized * weight + bias

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight = ctx.saved_tensors
        batch_axes = tuple(range(grad_output.ndim - 1))
        g = grad_output * weight
        grad_x = inv_std * (g - g.mean(axis=-1, keepdims=True))
        return grad_x, (grad_output * normalized).sum(axis=batch_axes), grad_output.sum(axis=batch_axes), None
