"""Exercise `batchnorm`: batch normalization in training mode, forward and backward.

Batch normalization (Ioffe and Szegedy, 2015) normalizes every feature over the batch: for x of shape (N, C),
with statistics over axis 0 (the N examples), one per feature,

    mu    = mean of x over the batch                       shape (C,)
    var   = mean of (x - mu)^2 over the batch              biased: divide by N, not N - 1
    xhat  = (x - mu) / sqrt(var + eps)
    y     = xhat * weight + bias                           weight and bias have shape (C,)

This is training mode: the batch's own statistics are used (no running averages here). Implement
``BatchNorm.forward`` and ``BatchNorm.backward``, returning ``(grad_x, grad_weight, grad_bias, None)``, each of
its argument's shape.

What makes it tricky: every example's output depends on every other example of the batch through mu and var,
so dL/dx has a term for each path; the statistics run down the columns, not along the rows. Compare with layer
normalization: the same graph along the other axis. A check: adding a constant to a column of x does not change
y; what does that say about the sum of each column of dL/dx?

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend, and so do the public checks), keep what backward
needs on ``ctx`` (``ctx.save_for_backward`` or ``ctx.<name> = ...``), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check batchnorm.py --assignment batchnorm
Stuck on the derivation? ``minigrad hint batchnorm`` prints a hint, one tier at a time (paths, then intermediate
gradients, then the formula); try the derivation again after each.
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
