"""Exercise `rmsnorm`: RMS normalization, forward and backward (an op beyond the paper).

RMSNorm (Zhang and Sennrich, 2019) keeps layer normalization's re-scaling and drops its re-centering: for x of
shape (..., D), over the last axis,

    rms  = sqrt(mean(x^2) + eps)                    one number per row
    xhat = x / rms
    y    = xhat * weight                             weight has shape (D,); there is no bias

Implement ``RMSNorm.forward`` and ``RMSNorm.backward``, returning ``(grad_x, grad_weight, None)``, each of its
argument's shape.

What makes it tricky: every output of a row depends on every input of that row through rms, and weight is shared
by all rows. Compared with LayerNorm there is no mean to subtract, so one path is gone; which? (Which row of the
paper's Table 1 would RMSNorm change? Try it.)

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend, and so do the public checks), keep what backward
needs on ``ctx`` (``ctx.save_for_backward`` or ``ctx.<name> = ...``), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check rmsnorm.py --assignment rmsnorm
Stuck on the derivation? ``minigrad hint rmsnorm`` prints a hint, one tier at a time (paths, then intermediate
gradients, then the formula); try the derivation again after each.
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
