"""Losses that compare a prediction u with a target v element by element, then reduce: l1, huber and the two
binary cross-entropies. With l_i the per-element loss and M elements,

    reduction "mean": L = (1/M) sum_i l_i,  dL/dl_i = g / M     ("sum": g; "none": L = l, dL/dl = g elementwise)

and each op's backward is dL/dl_i times the per-element derivatives:

    l1:      l = |u - v|,                         dl/du = sign(u - v),                 dl/dv = -dl/du
    huber:   l = (u - v)^2 / 2 where |u - v| < delta, else delta (|u - v| - delta / 2)
             dl/du = clamp(u - v, -delta, delta),                                 dl/dv = -dl/du
    bce:     l = -(v log p + (1 - v) log(1 - p)) for a probability p = u, each log clamped at -100 as PyTorch
             (so p = 0 or 1 gives a finite loss)
             dl/dp = (p - v) / (p (1 - p)),  the denominator at least 1e-12;     dl/dv = log(1 - p) - log p
    bce with logits, p = sigmoid(x):
             l = (1 - v) x + log(1 + exp(-x)) = max(x, 0) - x v + log(1 + exp(-|x|))   (no overflow)
             dl/dx = sigmoid(x) - v,                                              dl/dv = -x
"""

from minigrad.autograd.function import Function
from minigrad.backends import get_array_module
from minigrad.nn.ops.nonlinearities import sigmoid


def reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def loss_gradient(grad_output, reduction, count):
    """dL/dl_i for every element: broadcastable against the per-element losses."""
    return grad_output / count if reduction == "mean" else grad_output


def _pair(ctx, grad_input):
    needs_input, needs_target = ctx.needs_input_grad[:2]
    return grad_input if needs_input else None, -grad_input if needs_target else None, None


class L1Loss(Function):
    """l = |u - v|, reduced.    dL/du = dL/dl sign(u - v) = -dL/dv."""

    @staticmethod
    def forward(ctx, prediction, target, reduction):
        xp = get_array_module(prediction, target)
        losses = xp.abs(prediction - target)
        ctx.save_for_backward(prediction, target)
        ctx.reduction, ctx.count = reduction, losses.size
        return reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        prediction, target = ctx.saved_tensors
        sign = get_array_module(prediction).sign(prediction - target)
        return _pair(ctx, loss_gradient(grad_output, ctx.reduction, ctx.count) * sign)


class HuberLoss(Function):
    """l = quadratic within delta, linear outside, reduced.    dL/du = dL/dl clamp(u - v, -delta, delta)."""

    @staticmethod
    def forward(ctx, prediction, target, reduction, delta):
        xp = get_array_module(prediction, target)
        difference = prediction - target
        magnitude = xp.abs(difference)
        ctx.save_for_backward(prediction, target)
        ctx.reduction, ctx.delta, ctx.count = reduction, delta, difference.size
        losses = xp.where(magnitude < delta, 0.5 * difference * difference, delta * (magnitude - 0.5 * delta))
        return reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        prediction, target = ctx.saved_tensors
        clamped = get_array_module(prediction).clip(prediction - target, -ctx.delta, ctx.delta)
        return _pair(ctx, loss_gradient(grad_output, ctx.reduction, ctx.count) * clamped) + (None,)


class BinaryCrossEntropy(Function):
    """l = -(v log p + (1 - v) log(1 - p)), logs clamped at -100, reduced (derived above)."""

    @staticmethod
    def forward(ctx, probability, target, reduction):
        xp = get_array_module(probability, target)
        log_p, log_not_p = _clamped_logs(xp, probability)
        ctx.save_for_backward(probability, target)
        ctx.reduction, ctx.count = reduction, probability.size
        return reduce(-(target * log_p + (1 - target) * log_not_p), reduction)

    @staticmethod
    def backward(ctx, grad_output):
        probability, target = ctx.saved_tensors
        xp = get_array_module(probability)
        needs_probability, needs_target = ctx.needs_input_grad[:2]
        upstream = loss_gradient(grad_output, ctx.reduction, ctx.count)
        grad_probability = grad_target = None
        if needs_probability:
            grad_probability = upstream * (probability - target) / xp.maximum(
                probability * (1 - probability), 1e-12)
        if needs_target:
            log_p, log_not_p = _clamped_logs(xp, probability)
            grad_target = upstream * (log_not_p - log_p)
        return grad_probability, grad_target, None


def _clamped_logs(xp, probability):
    """log p and log(1 - p), each at least -100 (PyTorch's clamp)."""
    return xp.maximum(xp.log(probability), -100), xp.maximum(xp.log1p(-probability), -100)


class BinaryCrossEntropyWithLogits(Function):
    """l = max(x, 0) - x v + log(1 + exp(-|x|)), reduced.    dL/dx = dL/dl (sigmoid(x) - v), dL/dv = -dL/dl x."""

    @staticmethod
    def forward(ctx, logits, target, reduction):
        xp = get_array_module(logits, target)
        ctx.save_for_backward(logits, target)
        ctx.reduction, ctx.count = reduction, logits.size
        return reduce(xp.maximum(logits, 0) - logits * target + xp.log1p(xp.exp(-xp.abs(logits))), reduction)

    @staticmethod
    def backward(ctx, grad_output):
        logits, target = ctx.saved_tensors
        xp = get_array_module(logits)
        needs_logits, needs_target = ctx.needs_input_grad[:2]
        upstream = loss_gradient(grad_output, ctx.reduction, ctx.count)
        return (upstream * (sigmoid(logits) - target) if needs_logits else None,
                -upstream * logits if needs_target else None, None)
