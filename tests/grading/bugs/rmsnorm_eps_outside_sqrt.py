"""Bug: eps is added outside the square root, 1/(sqrt(mean(x^2)) + eps), and the backward matches that forward:
self-consistent, but not RMSNorm."""
import minigrad


class RMSNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, eps):
        xp = minigrad.get_array_module(x)
        rms = xp.sqrt((x * x).mean(axis=-1, keepdims=True))
        inv = 1.0 / (rms + eps)
        ctx.save_for_backward(x, rms, inv, weight)
        return x * inv * weight

    @staticmethod
    def backward(ctx, grad_output):
        x, rms, inv, weight = ctx.saved_tensors
        xp = minigrad.get_array_module(x)
        g = grad_output * weight
        features = x.shape[-1]
        safe_rms = xp.where(rms > 0, rms, 1.0)
        grad_x = g * inv - x * inv * inv * (g * x).sum(axis=-1, keepdims=True) / (features * safe_rms)
        batch_axes = tuple(range(grad_output.ndim - 1))
        return grad_x, (grad_output * x * inv).sum(axis=batch_axes), None
