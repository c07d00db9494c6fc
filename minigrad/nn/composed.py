"""The same layers as :mod:`minigrad.nn.functional`, composed only of primitive Tensor ops.

Here nobody derives a backward: autograd differentiates each small op (sub, mul, mean, sqrt, matmul, ...) and
the chain rule stitches them together through the graph. The result must equal the fused ops' hand-derived
backward to rounding error (the tests check 1e-10 in float64), and comparing the two shows what fusing buys:
one node instead of a dozen, fewer arrays kept alive for backward, and less time (see
``python -m minigrad.bench.fused_vs_composed``).

Arguments and results are those of the fused functions; argument checking is left to those (the pooling
twins work out their windows with the functional's own ``pool_geometry``, which checks as it goes).
"""

import math

import minigrad
from minigrad.autograd.mode import no_grad
from minigrad.nn import functional
from minigrad.nn.ops.dropout import scaled_keep_mask
from minigrad.nn.ops.rms_norm import default_eps
from minigrad.tensor import Tensor


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


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002  (PyTorch's name)
    count = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    axes = tuple(range(input.ndim - count, input.ndim))
    mean_square = (input * input).mean(axis=axes, keepdims=True)
    normalized = input / (mean_square + default_eps(input.dtype, eps)).sqrt()
    return _affine(normalized, weight, None, input.shape[input.ndim - count:])


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    channels = x.shape[1]
    per_channel = (1, channels) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        variance = (centered * centered).mean(axis=axes, keepdims=True)
        if running_mean is not None:
            count = x.numel() // channels
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


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    rows = x.reshape(x.shape[0], num_groups, -1)
    centered = rows - rows.mean(axis=2, keepdims=True)
    variance = (centered * centered).mean(axis=2, keepdims=True)
    normalized = (centered / (variance + eps).sqrt()).reshape(x.shape)
    return _affine(normalized, weight, bias, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def conv2d(x, weight, bias=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """im2col from slices: pad with concatenated zeros, one strided slice per kernel offset, stacked, then one
    batched matmul per group (the arguments as :class:`minigrad.nn.ops.Conv2d` takes them)."""
    n, channels, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    top, bottom, left, right = padding
    rows = [minigrad.zeros(n, channels, size, width, dtype=x.dtype, backend=x.backend) for size in (top, bottom)]
    x = minigrad.concatenate([rows[0], x, rows[1]], axis=2)
    columns = [minigrad.zeros(n, channels, x.shape[2], size, dtype=x.dtype, backend=x.backend)
               for size in (left, right)]
    x = minigrad.concatenate([columns[0], x, columns[1]], axis=3)
    p = (x.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    q = (x.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    slices = [x[:, :, dilation[0] * i:dilation[0] * i + stride[0] * (p - 1) + 1:stride[0],
                dilation[1] * j:dilation[1] * j + stride[1] * (q - 1) + 1:stride[1]]
              for i in range(kh) for j in range(kw)]
    cols = minigrad.stack(slices, axis=2).reshape(n, groups, -1, p * q)  # (N, G, (C/G) KH KW, P Q)
    output = (weight.reshape(groups, out_channels // groups, -1) @ cols).reshape(n, out_channels, p, q)
    return output if bias is None else output + bias.reshape(1, out_channels, 1, 1)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """The windows as stacked slices of the -inf-padded input, and max over them; autograd sends the gradient to
    the index max returns. The geometry is worked out as the functional does (``functional.pool_geometry``)."""
    kernel_size, stride, padding, dilation, overhang = functional.pool_geometry(
        "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    images = input if input.ndim == 4 else input.reshape((1,) + input.shape)
    values, offsets = _pool_windows(images, kernel_size, stride, padding, overhang, dilation,
                                    -float("inf")).max(dim=2)
    if return_indices:  # window (p, q)'s offset i KW + j reads row s p + d i - padding, column s q + d j - padding
        rows, columns = values.shape[2:]
        row = (minigrad.arange(rows, backend=input.backend).reshape(rows, 1) * stride[0]
               + offsets // kernel_size[1] * dilation[0] - padding[0])
        column = (minigrad.arange(columns, backend=input.backend) * stride[1]
                  + offsets % kernel_size[1] * dilation[1] - padding[1])
        indices = row * images.shape[3] + column
        return (values, indices) if input.ndim == 4 else (values[0], indices[0])
    return values if input.ndim == 4 else values[0]


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    """The windows' sums over the zero-padded input, divided by the same windows' sums over a map of ones on the
    positions PyTorch's divisor counts, or by divisor_override."""
    kernel_size, stride, padding, _, overhang = functional.pool_geometry(
        "avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    images = input if input.ndim == 4 else input.reshape((1,) + input.shape)
    sums = _pool_windows(images, kernel_size, stride, padding, overhang, (1, 1), 0.0).sum(axis=2)
    if divisor_override is not None:
        output = sums / divisor_override
    else:
        (rows, columns), (height, width) = padding, images.shape[2:]
        if count_include_pad:  # ones over the input and its padding, zeros over the overhang
            ones = minigrad.ones(1, 1, height + 2 * rows, width + 2 * columns, dtype=input.dtype,
                                 backend=input.backend)
            divisor = _pool_windows(ones, kernel_size, stride, (0, 0), overhang, (1, 1), 0.0).sum(axis=2)
        else:                  # ones over the input only
            ones = minigrad.ones(1, 1, height, width, dtype=input.dtype, backend=input.backend)
            divisor = _pool_windows(ones, kernel_size, stride, padding, overhang, (1, 1), 0.0).sum(axis=2)
        output = sums / divisor
    return output if input.ndim == 4 else output[0]


def _pool_windows(x, kernel_size, stride, padding, overhang, dilation, fill):
    """(N, C, KH KW, P, Q): x padded with `fill` by `padding` on every side and `overhang` more at the bottom and
    right, one strided slice per window offset."""
    n, channels = x.shape[:2]
    (rows, columns), (extra_rows, extra_columns) = padding, overhang
    top, bottom, left, right = rows, rows + extra_rows, columns, columns + extra_columns
    blocks = [minigrad.full((n, channels, size, x.shape[3]), fill, dtype=x.dtype, backend=x.backend)
              for size in (top, bottom)]
    x = minigrad.concatenate([blocks[0], x, blocks[1]], axis=2)
    blocks = [minigrad.full((n, channels, x.shape[2], size), fill, dtype=x.dtype, backend=x.backend)
              for size in (left, right)]
    x = minigrad.concatenate([blocks[0], x, blocks[1]], axis=3)
    kh, kw = kernel_size
    p = (x.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    q = (x.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    slices = [x[:, :, dilation[0] * i:dilation[0] * i + stride[0] * (p - 1) + 1:stride[0],
                dilation[1] * j:dilation[1] * j + stride[1] * (q - 1) + 1:stride[1]]
              for i in range(kh) for j in range(kw)]
    return minigrad.stack(slices, axis=2)


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    if h is None:
        hidden_size = w_ih.shape[0]
        shape = (hidden_size,) if x.ndim == 1 else (x.shape[0], hidden_size)
        h = minigrad.zeros(shape, dtype=x.dtype, backend=x.backend)
    pre_activation = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    return pre_activation.tanh() if nonlinearity == "tanh" else pre_activation.relu()


def lstm_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    h, c = _lstm_state(x, hx, w_hh.shape[1])
    return _lstm_update(linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh), c, lambda cell: cell)


def layer_norm_lstm_cell(x, hx, w_ih, w_hh, gamma_ih, gamma_hh, bias, gamma_c, beta_c, eps=1e-5):
    h, c = _lstm_state(x, hx, w_hh.shape[1])
    gates = layer_norm(linear(h, w_hh), w_hh.shape[0], gamma_hh, None, eps) + layer_norm(
        linear(x, w_ih), w_ih.shape[0], gamma_ih, None, eps)
    if bias is not None:
        gates = gates + bias
    return _lstm_update(gates, c, lambda cell: layer_norm(cell, cell.shape[-1], gamma_c, beta_c, eps))


def layer_norm_rnn_cell(x, h, w_ih, w_hh, gain, gain_hh, gain_ih, bias, mode, nonlinearity, eps=1e-5):
    input_term, recurrent_term = linear(x, w_ih), linear(h, w_hh)
    size = w_hh.shape[0]
    if mode == "joint":
        pre_activation = layer_norm(recurrent_term + input_term, size, gain, None, eps)
    elif mode == "separate":
        pre_activation = layer_norm(recurrent_term, size, gain_hh, None, eps) + layer_norm(
            input_term, size, gain_ih, None, eps)
    else:
        pre_activation = layer_norm(recurrent_term, size, gain_hh, None, eps) + input_term
    if bias is not None:
        pre_activation = pre_activation + bias
    return pre_activation.tanh() if nonlinearity == "tanh" else pre_activation.relu()


def _lstm_state(x, hx, hidden_size):
    if hx is not None:
        return hx
    shape = (hidden_size,) if x.ndim == 1 else (x.shape[0], hidden_size)
    zeros = minigrad.zeros(shape, dtype=x.dtype, backend=x.backend)
    return zeros, zeros


def _lstm_update(gates, c, normalize_cell):
    """c' = f c + i g and h' = o tanh(normalize_cell(c')), the gates split in PyTorch's order (i, f, g, o)."""
    size = gates.shape[-1] // 4
    input_gate, forget_gate, candidate, output_gate = (gates[..., k * size:(k + 1) * size] for k in range(4))
    new_cell = forget_gate.sigmoid() * c + input_gate.sigmoid() * candidate.tanh()
    return output_gate.sigmoid() * normalize_cell(new_cell).tanh(), new_cell


def silu(x):
    return x * x.sigmoid()


def log_softmax(x, dim=-1):
    shifted = x - x.detach().amax(dim, keepdim=True)  # a constant shift: softmax is unchanged by it
    return shifted - shifted.exp().sum(axis=dim, keepdims=True).log()


def cross_entropy(logits, target, reduction="mean"):
    log_probabilities = log_softmax(logits, dim=-1).reshape(-1, logits.shape[-1])
    rows = minigrad.arange(target.numel(), backend=logits.backend)
    losses = -log_probabilities[rows, target.reshape(-1)].reshape(target.shape)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def embedding(input, weight, padding_idx=None):  # noqa: A002
    """Indexing picks the rows; the padding row is swapped for a detached copy of itself, so its value is used
    but no gradient reaches it."""
    if padding_idx is not None:
        is_padding = (minigrad.arange(weight.shape[0], backend=weight.backend) == padding_idx % weight.shape[0])
        weight = weight.masked_fill(is_padding.reshape(-1, 1), 0.0) + weight.detach() * is_padding.reshape(-1, 1)
    return weight[input]


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * scale
    if is_causal:
        length, source_length = scores.shape[-2:]
        rows = minigrad.arange(length, backend=query.backend).reshape(-1, 1)
        attn_mask = rows >= minigrad.arange(source_length, backend=query.backend)  # key j <= query i
    if attn_mask is not None and attn_mask.dtype == bool:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    elif attn_mask is not None:
        scores = scores + attn_mask.astype(scores.dtype)
    row_max = scores.detach().amax(dim=-1, keepdim=True)  # a constant shift per row, as in log_softmax
    exponentials = (scores - row_max.masked_fill(row_max == float("-inf"), 0.0)).exp()
    total = exponentials.sum(dim=-1, keepdim=True)
    weights = exponentials / total.masked_fill(total == 0, 1.0)  # a fully masked row: zeros, as PyTorch
    if dropout_p > 0:
        weights = weights * Tensor(scaled_keep_mask(query.xp, weights.shape, weights.dtype, dropout_p))
    return weights @ value


def nll_loss(log_probabilities, target, weight=None, reduction="mean", ignore_index=-100):
    classes = log_probabilities.shape[1] if log_probabilities.ndim > 1 else log_probabilities.shape[0]
    rows = (log_probabilities.movedim(1, -1) if log_probabilities.ndim > 2 else log_probabilities).reshape(-1, classes)
    flat_target = target.reshape(-1)
    kept = flat_target != ignore_index
    safe_target = minigrad.where(kept, flat_target, 0)
    scale = kept.astype(rows.dtype) if weight is None else weight[safe_target] * kept
    losses = -rows[minigrad.arange(flat_target.numel(), backend=rows.backend), safe_target] * scale
    if reduction == "mean":
        return losses.sum() / scale.sum()
    return losses.sum() if reduction == "sum" else losses.reshape(target.shape)


def _affine(normalized, weight, bias, shape):
    """normalized * weight + bias, with the per-feature parameters reshaped to `shape` to broadcast."""
    if weight is not None:
        normalized = normalized * weight.reshape(shape)
    if bias is not None:
        normalized = normalized + bias.reshape(shape)
    return normalized
