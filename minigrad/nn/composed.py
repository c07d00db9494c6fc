"""The same layers as :mod:`minigrad.nn.functional`, composed only of primitive Tensor ops.

Here nobody derives a backward: autograd differentiates each small op (sub, mul, mean, sqrt, matmul, ...) and
the chain rule stitches them together through the graph. The result must equal the fused ops' hand-derived
backward to rounding error (the tests check 1e-10 in float64), and comparing the two shows what fusing buys:
one node instead of a dozen, fewer arrays kept alive for backward, and less time (see
``python -m minigrad.bench.fused_vs_composed``).

Arguments and results are those of the fused functions; argument checking is left to those.
"""

import minigrad
from minigrad.autograd.mode import no_grad


def linear(x, weight, bias=None):
    output = x @ weight.T
    return output if bias is None else output + bias


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    count = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    axes = tuple(range(x.ndim - count, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    variance = (centered * centered).mean(axis=axes, keepdims=True)
    normalized = centered / (variance + eps).sqrt()
    return _affine(normalized, weight, bias, x.shape[x.ndim - count:])


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    channels = x.shape[1]
    per_channel = (1, channels) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        variance = (centered * centered).mean(axis=axes, keepdims=True)
        if running_mean is not None:
            count = x.size // channels
            with no_grad():  # bookkeeping outside the graph, the same update as the fused op's
                new_mean = running_mean * (1 - momentum) + mean.reshape(channels) * momentum
                new_var = running_var * (1 - momentum) + variance.reshape(channels) * (momentum * count / (count - 1))
            running_mean.data[...] = new_mean.data
            running_var.data[...] = new_var.data
    else:
        centered = x - running_mean.reshape(per_channel)
        variance = running_var.reshape(per_channel)
    normalized = centered / (variance + eps).sqrt()
    return _affine(normalized, weight, bias, per_channel)


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    if h is None:
        hidden_size = w_ih.shape[0]
        shape = (hidden_size,) if x.ndim == 1 else (x.shape[0], hidden_size)
        h = minigrad.zeros(shape, dtype=x.dtype, backend=x.backend)
    pre_activation = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    return pre_activation.tanh() if nonlinearity == "tanh" else pre_activation.relu()


def log_softmax(x, dim=-1):
    shifted = x - x.detach().max(axis=dim, keepdims=True)  # a constant shift: softmax is unchanged by it
    return shifted - shifted.exp().sum(axis=dim, keepdims=True).log()


def cross_entropy(logits, target, reduction="mean"):
    log_probabilities = log_softmax(logits, dim=-1).reshape(-1, logits.shape[-1])
    rows = minigrad.arange(target.size, backend=logits.backend)
    losses = -log_probabilities[rows, target.reshape(-1)].reshape(target.shape)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _affine(normalized, weight, bias, shape):
    """normalized * weight + bias, with the per-feature parameters reshaped to `shape` to broadcast."""
    if weight is not None:
        normalized = normalized * weight.reshape(shape)
    if bias is not None:
        normalized = normalized + bias.reshape(shape)
    return normalized
