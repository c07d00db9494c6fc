"""Exercise `batchnorm`: batch normalization in training mode, forward and backward.

Batch normalization (Ioffe and Szegedy, 2015) normalizes every feature over the batch: for x of shape (N, C),
with statistics over axis 0 (the N examples), one per feature,

    mu    = mean of x over the batch                       shape (C,)
    var   = mean of (x - mu)^2 over the batch              biased: divide by N, not N - 1
    xhat  = (x - mu) / sqrt(var + eps)
    y     = xhat * weight + bias                           weight and bias have shape (C,)

This is training mode: the batch's own statistics are used (no running averages here). Implement
``BatchNorm.forward`` and ``BatchNorm.backward``, returning ``(grad_x, grad_weight, grad_bias, None)``. Every
example's output depends on every other example through mu and var, so dL/dx has three terms. With
g = dy * weight and rstd = 1/sqrt(var + eps), sums over the batch axis,

    dL/dx      = rstd * (g - mean(g) - xhat * mean(g * xhat))
    dL/dweight = sum of dy * xhat over the batch
    dL/dbias   = sum of dy over the batch

Compare with layer normalization: the same formula along the other axis.

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check batchnorm.py --assignment batchnorm
"""
import minigrad


class BatchNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        """y = (x - batch mean) / sqrt(batch var + eps) * weight + bias, for x of shape (N, C)."""
        ### BEGIN SOLUTION
        xp = minigrad.get_array_module(x)
        centered = x - x.mean(axis=0)
        inv_std = 1.0 / xp.sqrt((centered * centered).mean(axis=0) + eps)
        normalized = centered * inv_std
        ctx.save_for_backward(normalized, inv_std, weight)
        return normalized * weight + bias
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_x, grad_weight, grad_bias, None)."""
        ### BEGIN SOLUTION
        normalized, inv_std, weight = ctx.saved_tensors
        grad_normalized = grad_output * weight
        grad_x = inv_std * (grad_normalized - grad_normalized.mean(axis=0)
                            - normalized * (grad_normalized * normalized).mean(axis=0))
        return grad_x, (grad_output * normalized).sum(axis=0), grad_output.sum(axis=0), None
        ### END SOLUTION
