"""Exercise `cross_entropy`: softmax and cross-entropy fused into one op, forward and backward.

For logits z of shape (N, C) (N examples, C classes) and integer targets t of shape (N,), the loss is the mean
over the batch of the negative log-probability of the right class:

    log_softmax(z)_ij = z_ij - log(sum_c exp(z_ic))
    loss = -(1/N) * sum_i log_softmax(z)_(i, t_i)                 a scalar: return it as a 0-d array

Implement ``CrossEntropy.forward`` and ``CrossEntropy.backward``. The fused gradient is short:

    dL/dz = grad_output * (softmax(z) - onehot(t)) / N

``grad_output`` is dL/dloss, a 0-d array; it is not always 1 (the loss may be scaled, or be part of a sum). The
targets are not differentiable: return None for them.

Numerics: exp(1000) overflows. Subtract each row's maximum before exponentiating (log-sum-exp):
log(sum exp(z)) = max(z) + log(sum exp(z - max(z))). The grader tries logits of size 1e4.

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(logits)`` (never
``numpy`` directly: the grader also runs your op on a CuPy-like backend), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The loss keeps the logits' dtype.

Check your work with the public checks:  minigrad check cross_entropy.py --assignment cross_entropy
"""
import minigrad


class CrossEntropy(minigrad.Function):
    @staticmethod
    def forward(ctx, logits, target):
        """The mean over the batch of -log softmax(logits)[i, target[i]]; a 0-d array."""
        # YOUR CODE HERE
        raise NotImplementedError("cross_entropy: CrossEntropy.forward is not implemented yet")

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_logits, None)."""
        # YOUR CODE HERE
        raise NotImplementedError("cross_entropy: CrossEntropy.backward is not implemented yet")
