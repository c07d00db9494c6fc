"""Exercise `cross_entropy`: softmax and cross-entropy fused into one op, forward and backward.

For logits z of shape (N, C) (N examples, C classes) and integer targets t of shape (N,), the loss is the mean
over the batch of the negative log-probability of the right class:

    log_softmax(z)_ic = z_ic - log(sum_c' exp(z_ic'))
    loss = -(1/N) * sum_i log_softmax(z)_(i, t_i)                 a scalar: return it as a 0-d array

Implement ``CrossEntropy.forward`` and ``CrossEntropy.backward``, returning ``(grad_logits, None)``: grad_logits
has the shape of z, and the targets are not differentiable (None).

What makes it tricky: every logit of a row affects the loss, not only the target's, through the normalizing sum;
``grad_output`` is dL/dloss, a 0-d array that is not always 1 (the loss may be scaled, or be part of a sum); the
loss is a mean over the batch. Numerics: exp(1000) overflows. Use log(sum exp(z)) = max(z) + log(sum exp(z -
max(z))) with each row's maximum (log-sum-exp). The grader tries logits of size 1e4.

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(logits)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend, and so do the public checks), keep what backward
needs on ``ctx`` (``ctx.save_for_backward`` or ``ctx.<name> = ...``), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check cross_entropy.py --assignment cross_entropy
Stuck on the derivation? ``minigrad hint cross_entropy`` prints a hint, one tier at a time (paths, then intermediate
gradients, then the formula); try the derivation again after each.
"""
import minigrad

### BEGIN HINTS
HINTS = {
    1: """\
        Row i's loss is -z[i, t_i] + log(sum_c exp(z[i, c])). A logit z[i, c] reaches it along two paths: through
        the log-sum-exp (every class), and directly (only c = t_i). The mean contributes a 1/N, and grad_output
        scales everything.""",
    2: """\
        d/dz[i, c] of log(sum_c' exp(z[i, c'])) = exp(z[i, c]) / sum_c' exp(z[i, c']) = softmax(z)[i, c]
        d/dz[i, c] of -z[i, t_i] = -1 if c == t_i, else 0 (a one-hot row)""",
    3: """\
        dL/dz = grad_output * (softmax(z) - onehot(t)) / N; return (that, None).""",
}
### END HINTS


class CrossEntropy(minigrad.Function):
    @staticmethod
    def forward(ctx, logits, target):
        """The mean over the batch of -log softmax(logits)[i, target[i]]; a 0-d array."""
        ### BEGIN SOLUTION
        xp = minigrad.get_array_module(logits)
        rows = xp.arange(logits.shape[0])
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        ctx.save_for_backward(xp.exp(log_probs), target)
        return -log_probs[rows, target].mean()
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_logits, None)."""
        ### BEGIN SOLUTION
        probs, target = ctx.saved_tensors
        xp = minigrad.get_array_module(probs)
        grad_logits = probs.copy()
        grad_logits[xp.arange(probs.shape[0]), target] -= 1
        return grad_logits * (grad_output / probs.shape[0]), None
        ### END SOLUTION
