"""Losses: cross-entropy (log-softmax and negative log-likelihood fused) and mean squared error.

Cross-entropy of logits z (N examples, C classes) against integer targets t:

    l_n = -log softmax(z_n)[t_n] = -(z_n[t_n] - logsumexp(z_n))          per example
    L   = mean_n l_n   (reduction "mean"),   sum_n l_n   ("sum"),   or the vector l ("none")

computed with the log-sum-exp shifted by the row's maximum, so logits of 1e4 give finite losses.
Differentiating l_n, with s_n = softmax(z_n):

    dl_n/dz_n[k] = -(delta_{k t_n} - s_n[k]) = s_n[k] - onehot(t_n)[k]

and the upstream gradient of l_n is w_n = dL/dl_n (1/N for "mean", 1 for "sum", the given vector for "none"):

    dL/dz_n = w_n * (s_n - onehot(t_n))

The fused op saves s (N x C) and t. Composed from log_softmax, indexing and mean, the same loss is ten nodes that
also keep one (N, C) array but make more temporaries of that size on the way.

Mean squared error of an input u against a target v of the same shape, over its M elements:

    L = (1/M) sum_i (u_i - v_i)^2,    dL/du_i = (2/M) (u_i - v_i),    dL/dv_i = -dL/du_i
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.backends import get_array_module

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """l_n = -log softmax(z_n)[t_n].    dL/dz_n = w_n * (softmax(z_n) - onehot(t_n))   (derived above).

    Logits of shape (N, C) with targets (N,), or unbatched logits (C,) with a 0-d target.

    Forward keeps one (N, C) array besides the logits: the softmax s, which backward needs. With the shifted
    logits z' = z - max (so every exponent is <= 0 and the normalizer sum_j exp(z'_j) lies in [1, C]),
    l_n = log sum_j exp(z'_nj) - z'_n[t_n].
    """

    twin = staticmethod(lambda *arguments: composed.cross_entropy(*arguments))

    @staticmethod
    def forward(ctx, logits, target, reduction):
        xp = get_array_module(logits)
        rows = logits.reshape(-1, logits.shape[-1])
        shifted = rows - rows.max(axis=1, keepdims=True)
        probabilities = xp.exp(shifted)
        normalizer = probabilities.sum(axis=1, keepdims=True)
        probabilities /= normalizer  # in place: now the softmax
        picked = shifted[xp.arange(target.size), target.reshape(-1)]
        losses = (xp.log(normalizer[:, 0]) - picked).reshape(target.shape)
        ctx.save_for_backward(probabilities, target)
        ctx.reduction, ctx.logits_shape = reduction, logits.shape
        if reduction == "mean":
            return losses.mean()
        if reduction == "sum":
            return losses.sum()
        return losses

    @staticmethod
    def backward(ctx, grad_output):
        probabilities, target = ctx.saved_tensors
        xp = get_array_module(probabilities)
        grad_logits = probabilities.copy()
        grad_logits[xp.arange(target.size), target.reshape(-1)] -= 1  # s - onehot(t)
        if ctx.reduction == "none":
            grad_logits *= grad_output.reshape(-1, 1)  # dL/dl_n, one per example, broadcast over the classes
        elif ctx.reduction == "mean":
            grad_logits *= grad_output / target.size
        else:
            grad_logits *= grad_output
        if grad_logits.shape != ctx.logits_shape:  # unbatched logits: back to their shape (C,)
            grad_logits = grad_logits.reshape(ctx.logits_shape)
        return grad_logits, None, None


class MSELoss(Function):
    """L = mean of (u - v)^2 ("sum": the sum; "none": the squares).    dL/du = 2 (u - v) / M = -dL/dv."""

    @staticmethod
    def forward(ctx, prediction, target, reduction):
        difference = prediction - target
        ctx.save_for_backward(prediction, target)
        ctx.reduction, ctx.count = reduction, difference.size
        squared = difference * difference
        if reduction == "mean":
            return squared.mean()
        if reduction == "sum":
            return squared.sum()
        return squared

    @staticmethod
    def backward(ctx, grad_output):
        prediction, target = ctx.saved_tensors
        needs_prediction, needs_target = ctx.needs_input_grad[:2]
        scale = 2 / ctx.count if ctx.reduction == "mean" else 2
        grad_prediction = grad_output * scale * (prediction - target)
        return (grad_prediction if needs_prediction else None,
                -grad_prediction if needs_target else None,
                None)
