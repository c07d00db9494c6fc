"""Bug: dL/dv = g/||v|| * dw, forgetting that ||v|| depends on v too (the projection that removes dw's component
along v)."""
import minigrad


class WeightNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, v, g):
        xp = minigrad.get_array_module(v)
        norm = xp.sqrt((v * v).sum(axis=1, keepdims=True))
        direction = v / norm
        ctx.save_for_backward(direction, norm, g.reshape(-1, 1))
        return g.reshape(-1, 1) * direction

    @staticmethod
    def backward(ctx, grad_output):
        direction, norm, scale = ctx.saved_tensors
        return (scale / norm) * grad_output, (grad_output * direction).sum(axis=1)
