"""Exercise `rmsnorm`: RMS normalization, forward and backward (an op beyond the paper).

RMSNorm (Zhang and Sennrich, 2019) keeps layer normalization's re-scaling and drops its re-centering: for x of
shape (..., D), over the last axis,

    rms  = sqrt(mean(x^2) + eps)                    one number per row
    xhat = x / rms
    y    = xhat * weight                             weight has shape (D,); there is no bias

Implement ``RMSNorm.forward`` and ``RMSNorm.backward``, returning ``(grad_x, grad_weight, None)``. Every output
of a row depends on every input of that row through rms. With g = dy * weight, means over the last axis,

    dL/dx      = (g - xhat * mean(g * xhat)) / rms
    dL/dweight = sum of dy * xhat over every axis but the last

Compared with LayerNorm's gradient the mean(g) term is gone: there is no mean to subtract, so none to
differentiate. (Which row of the paper's Table 1 would RMSNorm change? Try it.)

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check rmsnorm.py --assignment rmsnorm
"""
import minigrad


class RMSNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, eps):
        """y = x / sqrt(mean(x^2) + eps) * weight, statistics over the last axis of x."""
        # YOUR CODE HERE
        raise NotImplementedError("rmsnorm: RMSNorm.forward is not implemented yet")

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_x, grad_weight, None)."""
        # YOUR CODE HERE
        raise NotImplementedError("rmsnorm: RMSNorm.backward is not implemented yet")
