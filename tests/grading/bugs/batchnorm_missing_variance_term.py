"""Bug: the batch variance is treated as a constant in backward, so dL/dx lacks its xhat term."""
import minigrad


class BatchNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp = minigrad.get_array_module(x)
        centered = x - x.mean(axis=0)
        inv_std = 1.0 / xp.sqrt((centered * centered).mean(axis=0) + eps)
        normalized = centered * inv_std
        ctx.save_for_backward(normalized, inv_std, weight)
        return normalized * weight + bias

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight = ctx.saved_tensors
        g = grad_output * weight
        grad_x = inv_std * (g - g.mean(axis=0))
        return grad_x, (grad_output * normalized).sum(axis=0), grad_output.sum(axis=0), None
