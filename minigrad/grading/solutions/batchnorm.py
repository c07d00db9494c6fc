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

### BEGIN HINTS
HINTS = {
    1: """\
        x reaches L along three paths: directly through xhat = (x - mu) * rstd; through mu, which every example of
        the batch shares (one per feature); and through var, which depends on x directly and through mu. weight
        and bias touch every example, so their gradients are sums over the batch.""",
    2: """\
        Per feature (column), with g = dL/dxhat = grad_output * weight and sums over the batch (N examples):
        dL/dvar = sum_n g_n * (x_n - mu) * (-1/2) * (var + eps)^(-3/2)
        dL/dmu  = -rstd * sum_n g_n   (the path mu -> var contributes zero)
        dL/dx_n = g_n * rstd + dL/dvar * 2 (x_n - mu) / N + dL/dmu / N""",
    3: """\
        dL/dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), means over the batch axis (axis 0); dL/dweight = sum
        over the batch of grad_output * xhat; dL/dbias = sum over the batch of grad_output.""",
}
### END HINTS


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
