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
        # YOUR CODE HERE
        raise NotImplementedError("batchnorm: BatchNorm.forward is not implemented yet")

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_x, grad_weight, grad_bias, None)."""
        # YOUR CODE HERE
        raise NotImplementedError("batchnorm: BatchNorm.backward is not implemented yet")
