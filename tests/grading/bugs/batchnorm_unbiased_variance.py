"""Bug: the batch variance divides by N - 1 (the unbiased estimate, which only the running statistics use)."""
import minigrad


class BatchNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp = minigrad.get_array_module(x)
        centered = x - x.mean(axis=0)
        inv_std = 1.0 / xp.sqrt((centered * centered).sum(axis=0) / (x.shape[0] - 1) + eps)
        normalized = centered * inv_std
        ctx.save_for_backward(normalized, inv_std, weight)
        return normalized * weight + bias

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std, weight = ctx.saved_tensors
        g = grad_output * weight
        grad_x = inv_std * (g - g.mean(axis=0) - normalized * (g * normalized).mean(axis=0))
        return grad_x, (grad_output * normalized).sum(axis=0), grad_output.sum(axis=0), None
