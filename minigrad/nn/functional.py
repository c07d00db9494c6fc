"""``minigrad.nn.functional``: the layers' math as functions, PyTorch's ``torch.nn.functional`` in small.

Every function here checks its arguments (a clear error naming the function and the shapes, raised before
anything is computed or changed) and then calls one fused Function from :mod:`minigrad.nn.ops`, so each call is
one node in the graph with a hand-derived backward. The layers check their input in their own words and then call
the ``apply_*`` functions below, which take arguments already checked: nothing is checked twice. :mod:`minigrad.nn.composed` has the same functions built from
primitive ops, to put "autograd through the graph" beside the fused derivation.
"""

from minigrad import ops
from minigrad.backends import get_array_module
from minigrad.creation import tensor as _tensor
from minigrad.nn import validation
from minigrad.nn.ops import (AvgPool2d, BatchNorm, Conv2d, CrossEntropy, GroupNorm, LayerNorm, Linear, LogSoftmax,
                             MaxPool2d, MSELoss, RNNCell, Softmax, fast)
from minigrad.nn.ops.attention import ScaledDotProductAttention
from minigrad.nn.ops.pooling import max_pool2d_indices
from minigrad.nn.ops.dropout import Dropout
from minigrad.nn.ops.elementwise_losses import (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, HuberLoss,
                                                L1Loss)
from minigrad.nn.ops.embedding import Embedding
from minigrad.nn.ops.nll_loss import NLLLoss
from minigrad.nn.ops.nonlinearities import Elu, Gelu, LeakyRelu, LogSigmoid, Silu, Softplus
from minigrad.nn.ops.losses import REDUCTIONS
from minigrad.nn.ops.lstm import LayerNormLSTMCell, LSTMCell
from minigrad.nn.ops.recurrent import NONLINEARITIES, LayerNormRNNCell
from minigrad.nn.ops.rms_norm import RMSNorm, default_eps
from minigrad.tensor import Tensor


def linear(x, weight, bias=None):
    """y = x @ weight.T + bias, for x of shape (..., in), weight (out, in), bias (out,) or None."""
    validation.check_linear("linear", x, weight, bias)
    return apply_linear(x, weight, bias)


def apply_linear(x, weight, bias=None):
    """:func:`linear` on arguments the caller has checked."""
    op = fast.implementation(Linear, x, weight, bias)  # Linear, or a faster subclass for these arrays
    return op.apply(x, weight, bias)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing dims `normalized_shape` (int or tuple), then scale by weight and add bias.

    Mean and biased variance per example; y = (x - mean) / sqrt(var + eps) * weight + bias.
    """
    normalized_shape = as_shape(normalized_shape)
    validation.check_layer_norm("layer_norm", x, normalized_shape, weight, bias)
    return apply_layer_norm(x, normalized_shape, weight, bias, eps)


def apply_layer_norm(x, normalized_shape, weight, bias, eps):
    """:func:`layer_norm` on arguments the caller has checked (`normalized_shape` a tuple)."""
    op = fast.implementation(LayerNorm, x, weight, bias)  # LayerNorm, or a faster subclass for these arrays
    return op.apply(x, weight, bias, len(normalized_shape), eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002  (PyTorch's name)
    """Divide by the root mean square over the trailing dims `normalized_shape` (int or tuple), then scale by
    weight, as ``torch.nn.functional.rms_norm``: y = x / sqrt(mean(x^2) + eps) * weight, no mean subtracted and no
    bias. eps=None means the machine epsilon of the input's dtype (PyTorch's default).
    """
    normalized_shape = as_shape(normalized_shape)
    validation.check_layer_norm("rms_norm", input, normalized_shape, weight, None)
    return apply_rms_norm(input, normalized_shape, weight, eps)


def apply_rms_norm(x, normalized_shape, weight, eps):
    """:func:`rms_norm` on arguments the caller has checked (`normalized_shape` a tuple)."""
    return RMSNorm.apply(x, weight, len(normalized_shape), default_eps(x.dtype, eps))


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization of x of shape (N, C), (N, C, L) or (N, C, H, W) per channel, as
    ``torch.nn.functional.batch_norm`` (statistics over every axis but the channel axis).

    training=True: normalize with the batch statistics and, if running_mean/running_var are Tensors, update
    them in place with `momentum`. training=False: normalize with running_mean and running_var.
    """
    layer = "batch_norm"
    validation.require_tensor(layer, x)
    channels = x.shape[1] if x.ndim >= 2 else None
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{layer}: pass both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{layer}: running_mean and running_var must be given in evaluation mode "
                         "(training=False); use training=True to normalize with the batch's statistics")
    validation.check_batch_norm(layer, x, channels, training, dims=(2, 3, 4))
    if training and running_mean is not None:
        validation.check_momentum(layer, momentum)
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        if value is not None and value.shape != (channels,):
            raise ValueError(f"{layer}: {name} has shape {value.shape}, expected ({channels},) for an input of "
                             f"shape {x.shape}")
    return apply_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)


def apply_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """:func:`batch_norm` on arguments the caller has checked."""
    op = fast.implementation(BatchNorm, x, weight, bias, running_mean, running_var)  # or a faster subclass
    return op.apply(x, weight, bias, running_mean, running_var, training, momentum, eps)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002  (PyTorch's name)
    """2-D convolution (cross-correlation) of input (N, C, H, W) or unbatched (C, H, W) with weight
    (O, C/groups, KH, KW), plus bias (O,), as ``torch.nn.functional.conv2d``.

    stride, dilation: an int or a pair (rows, columns); padding: an int, a pair, "valid" (none) or "same"
    (output as large as the input, stride 1 only; an odd total goes to the bottom and right, as PyTorch).
    """
    stride, dilation = pair("conv2d", "stride", stride), pair("conv2d", "dilation", dilation)
    padding = conv_padding("conv2d", padding, weight.shape[2:] if weight.ndim == 4 else (1, 1), stride, dilation,
                           input)
    validation.check_conv2d("conv2d", input, weight, bias, stride, padding, dilation, groups)
    return apply_conv2d(input, weight, bias, stride, padding, dilation, groups)


def apply_conv2d(x, weight, bias, stride, padding, dilation, groups):
    """:func:`conv2d` on arguments the caller has checked (`padding` as (top, bottom, left, right))."""
    if x.ndim == 3:  # unbatched: a batch of one
        return Conv2d.apply(x.reshape((1,) + x.shape), weight, bias, stride, padding, dilation, groups)[0]
    return Conv2d.apply(x, weight, bias, stride, padding, dilation, groups)


def pair(function, name, value):
    """An int or a pair of ints as a (rows, columns) tuple of positive ints."""
    values = (value, value) if isinstance(value, int) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(f"{function}: {name} must be a positive int or a pair of them, not {value!r}")
    return values


def conv_padding(function, padding, kernel_size, stride, dilation, x=None):
    """The padding to add, (top, bottom, left, right), from an int, a pair, "valid" or "same" (x, when known,
    for the error message)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{function}: padding='same' is not supported for strided convolutions "
                             f"(stride {stride})")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel_size)]
        return (totals[0] // 2, totals[0] - totals[0] // 2, totals[1] // 2, totals[1] - totals[1] // 2)
    if isinstance(padding, str):
        raise ValueError(f"{function}: padding must be 'valid', 'same', an int or a pair, not {padding!r}")
    rows, columns = validation.padding_pair(function, padding, x, tuple(kernel_size))
    return (rows, rows, columns, columns)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """The maximum of each kernel_size window of input (N, C, H, W) or (C, H, W), taps `dilation` apart, moved by
    stride (default: kernel_size), over the input padded with -inf; the gradient goes to each window's arg-max
    (the first, on ties). ceil_mode keeps a last window that hangs over the edge; return_indices also returns
    where each maximum is, as h W + w in the input (int64), as ``torch.nn.functional.max_pool2d``."""
    kernel_size, stride, padding, dilation, overhang = pool_geometry("max_pool2d", input, kernel_size, stride,
                                                                     padding, dilation, ceil_mode)
    output = _unbatched(MaxPool2d, input, kernel_size, stride, padding, overhang, dilation)
    if not return_indices:
        return output
    images = input.data if input.ndim == 4 else input.data[None]
    indices = max_pool2d_indices(images, kernel_size, stride, padding, overhang, dilation)
    return output, Tensor(indices if input.ndim == 4 else indices[0])


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    """The mean of each kernel_size window of input (N, C, H, W) or (C, H, W), moved by stride (default:
    kernel_size), over the input padded with zeros, as ``torch.nn.functional.avg_pool2d``: the divisor counts the
    padding unless count_include_pad=False (never the part of a ceil_mode window past the padding), and
    divisor_override, a non-zero int, replaces it."""
    kernel_size, stride, padding, _, overhang = pool_geometry("avg_pool2d", input, kernel_size, stride, padding, 1,
                                                              ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a non-zero int or None, not {divisor_override!r}")
    return _unbatched(AvgPool2d, input, kernel_size, stride, padding, overhang, bool(count_include_pad),
                      divisor_override)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """The mean over each channel's positions; only output_size 1 (or (1, 1)), global average pooling."""
    if pair("adaptive_avg_pool2d", "output_size", output_size) != (1, 1):
        raise ValueError(f"adaptive_avg_pool2d: only output_size 1 is supported, not {output_size!r}")
    validation.check_pool("adaptive_avg_pool2d", input, (1, 1), (0, 0), (1, 1))
    return input.mean(axis=(-2, -1), keepdims=True)


def pool_geometry(function, x, kernel_size, stride, padding, dilation, ceil_mode):
    """(kernel_size, stride, padding, dilation) as pairs, checked against x, and the overhang: the rows and
    columns past the padding (bottom, right) that ceil_mode's last window reads, (0, 0) without it."""
    kernel_size = pair(function, "kernel_size", kernel_size)
    stride = kernel_size if stride is None or stride == () else pair(function, "stride", stride)
    dilation = pair(function, "dilation", dilation)
    padding = validation.padding_pair(function, padding, x)
    validation.check_pool(function, x, kernel_size, padding, dilation)
    overhang = []
    for size, kernel, step, pad, spacing in zip(x.shape[-2:], kernel_size, stride, padding, dilation):
        extent = spacing * (kernel - 1) + 1
        count = pool_output_size(size, extent, step, pad, ceil_mode)
        overhang.append(max(0, (count - 1) * step + extent - (size + 2 * pad)))
    return kernel_size, stride, padding, dilation, tuple(overhang)


def pool_output_size(size, extent, stride, padding, ceil_mode):
    """PyTorch's count of windows spanning `extent` over size + 2 padding: with ceil_mode a last, partial window
    counts too, if it starts inside the input or its left padding."""
    span = size + 2 * padding - extent
    count = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (count - 1) * stride >= size + padding:
        count -= 1
    return count


def _unbatched(op, x, *arguments):
    """op on x, with an unbatched (C, H, W) input as a batch of one."""
    if x.ndim == 3:
        return op.apply(x.reshape((1,) + x.shape), *arguments)[0]
    return op.apply(x, *arguments)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002  (PyTorch's name)
    """Normalize x (N, C, *) per example over groups of C / num_groups consecutive channels (and all positions),
    then scale and shift per channel by weight and bias (C,), as ``torch.nn.functional.group_norm``."""
    validation.check_group_norm("group_norm", input, num_groups, weight, bias)
    return apply_group_norm(input, num_groups, weight, bias, eps)


def apply_group_norm(x, num_groups, weight, bias, eps):
    """:func:`group_norm` on arguments the caller has checked."""
    return GroupNorm.apply(x, weight, bias, num_groups, eps)


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One step of an Elman RNN: h' = nonlinearity(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).

    x is (B, I) or unbatched (I,); h has the matching shape (B, H) or (H,), or is None for zeros.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"rnn_cell: unknown nonlinearity {nonlinearity!r}; expected 'tanh' or 'relu'")
    hidden_size, input_size = w_ih.shape
    validation.check_rnn_cell("rnn_cell", x, h, input_size, hidden_size)
    return apply_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity)


def apply_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity):
    """:func:`rnn_cell` on arguments the caller has checked (h None for zeros)."""
    if h is None:
        h = zeros_state(x, w_ih.shape[0])
    return RNNCell.apply(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity)


def apply_layer_norm_rnn_cell(x, h, w_ih, w_hh, gain, gain_hh, gain_ih, bias, mode, nonlinearity, eps):
    """One step of nn.LayerNormRNNCell on arguments it has checked (see :mod:`minigrad.nn.ops.recurrent`): the
    gains of `mode` given, the others None."""
    op = fast.implementation(LayerNormRNNCell, x, h, w_ih, w_hh, gain, gain_hh, gain_ih, bias)  # or a faster subclass
    return op.apply(x, h, w_ih, w_hh, gain, gain_hh, gain_ih, bias, mode, nonlinearity, eps)


def lstm_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step, as ``torch.nn.LSTMCell``: returns (h', c') for hx = (h, c), or zeros for hx=None.

    Gates x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, split in the order (i, f, g, o); see :mod:`minigrad.nn.ops.lstm`.
    """
    hidden_size, input_size = w_hh.shape[1], w_ih.shape[1]
    h, c = _lstm_state("lstm_cell", x, hx, input_size, hidden_size)
    state = LSTMCell.apply(x, h, c, w_ih, w_hh, b_ih, b_hh)
    return state[..., :hidden_size], state[..., hidden_size:]


def layer_norm_lstm_cell(x, hx, w_ih, w_hh, gamma_ih, gamma_hh, bias, gamma_c, beta_c, eps=1e-5):
    """One step of the layer-normalized LSTM (the paper's supplement): returns (h', c') for hx = (h, c) or None.

    a = LN(h @ w_hh.T) * gamma_hh + LN(x @ w_ih.T) * gamma_ih + bias, split (i, f, g, o); c' = f c + i g;
    h' = o tanh(LN(c') * gamma_c + beta_c). See :mod:`minigrad.nn.ops.lstm`.
    """
    hidden_size, input_size = w_hh.shape[1], w_ih.shape[1]
    h, c = _lstm_state("layer_norm_lstm_cell", x, hx, input_size, hidden_size)
    state = LayerNormLSTMCell.apply(x, h, c, w_ih, w_hh, gamma_ih, gamma_hh, bias, gamma_c, beta_c, eps)
    return state[..., :hidden_size], state[..., hidden_size:]


def _lstm_state(layer, x, hx, input_size, hidden_size):
    """(h, c) checked against x, zeros where hx is None."""
    if hx is None:
        validation.check_rnn_cell(layer, x, None, input_size, hidden_size)
        return zeros_state(x, hidden_size), zeros_state(x, hidden_size)
    h, c = hx
    validation.check_rnn_cell(layer, x, h, input_size, hidden_size)
    validation.check_rnn_cell(layer, x, c, input_size, hidden_size)
    return h, c


def relu(x):
    return ops.Relu.apply(x)


def tanh(x):
    return ops.Tanh.apply(x)


def sigmoid(x):
    return ops.Sigmoid.apply(x)


def gelu(input, approximate="none"):  # noqa: A002
    """x Phi(x) with Phi the standard normal CDF; approximate="tanh" uses the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
    return Gelu.apply(input, approximate)


def silu(input):  # noqa: A002
    """x sigmoid(x)."""
    return Silu.apply(input)


def leaky_relu(input, negative_slope=0.01):  # noqa: A002
    return LeakyRelu.apply(input, negative_slope)


def elu(input, alpha=1.0):  # noqa: A002
    return Elu.apply(input, alpha)


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""
    return Softplus.apply(input, beta, threshold)


def logsigmoid(input):  # noqa: A002
    """log sigmoid(x), finite for every finite x."""
    return LogSigmoid.apply(input)


def dropout(input, p=0.5, training=True):  # noqa: A002
    """Inverted dropout: zero each element with probability p and scale the rest by 1 / (1 - p) when training;
    the identity otherwise. The draws follow ``minigrad.manual_seed``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    return Dropout.apply(input, p)


def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along `dim`, computed without overflow."""
    return Softmax.apply(x, dim)


def log_softmax(x, dim=-1):
    """log(softmax(x)) along `dim`, as x - max - log(sum(exp(x - max))): finite for any finite x."""
    return LogSoftmax.apply(x, dim)


def cross_entropy(logits, target, weight=None, reduction="mean", ignore_index=-100, label_smoothing=0.0):
    """-log softmax(logits)[target] per example, reduced: logits (N, C) with class indices (N,), unbatched (C,)
    with a 0-d target, or (N, C, d1, ...) with targets (N, d1, ...), one distribution per position.

    - targets equal to `ignore_index` are left out (of the loss and of the mean's count);
    - `label_smoothing` eps mixes the one-hot target with the uniform distribution:
      l = (1 - eps) (-log p[t]) + eps * mean_c (-log p[c]);
    - a floating `target` of the logits' shape holds class probabilities: l = -sum_c target[c] log p[c];
    - `weight` (C,) weighs each class's term (a constant, no gradient); with class indices the mean divides by
      the sum of the weights of the targets, as ``nll_loss`` does, with probabilities by the number of positions.

    The common case (class indices, (N, C) or (C,), nothing ignored, no smoothing) is one fused node; the others
    are composed of log_softmax and nll_loss, each a fused node.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, not {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], not {label_smoothing}")
    if not isinstance(target, Tensor) and isinstance(logits, Tensor):
        target = _tensor(target, backend=logits.backend)
    validation.require_tensor("cross_entropy", logits, "logits")
    validation.require_tensor("cross_entropy", target, "target")
    class_dim = 0 if logits.ndim == 1 else 1
    classes = logits.shape[class_dim]
    weight = _class_weights("cross_entropy", weight, classes)
    # the weights as a (C, 1, 1, ...) column that broadcasts along the class dim of the log-probabilities
    column = None if weight is None else weight.reshape((classes,) + (1,) * (logits.ndim - class_dim - 1))
    if target.dtype.kind == "f":
        if target.shape != logits.shape:
            raise ValueError(f"cross_entropy: a floating target holds class probabilities and must have the "
                             f"logits' shape {logits.shape}, got {target.dtype} of shape {target.shape}; for class "
                             "indices use integers (e.g. int64)")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / logits.shape[class_dim]
        terms = target * log_softmax(logits, dim=class_dim)
        losses = -(terms if column is None else terms * column).sum(dim=class_dim)
        return losses.mean() if reduction == "mean" else losses.sum() if reduction == "sum" else losses
    fused = (logits.ndim <= 2 and weight is None and not label_smoothing
             and not bool((target.data == ignore_index).any()))
    if fused:
        validation.check_class_targets("cross_entropy", logits, target)
        return CrossEntropy.apply(logits, target, reduction)
    log_probabilities = log_softmax(logits, dim=class_dim)
    loss = nll_loss(log_probabilities, target, weight, reduction=reduction, ignore_index=ignore_index)
    if not label_smoothing:
        return loss
    kept = target != ignore_index
    # the cross-entropy with the uniform distribution, each class weighted
    weighted = log_probabilities if column is None else log_probabilities * column
    uniform = -weighted.mean(dim=class_dim) * kept
    if reduction == "mean":
        used = kept if weight is None else weight[target.masked_fill(~kept, 0)] * kept
        uniform = uniform.sum() / used.sum()
    elif reduction == "sum":
        uniform = uniform.sum()
    return loss * (1 - label_smoothing) + uniform * label_smoothing


def nll_loss(input, target, weight=None, reduction="mean", ignore_index=-100):  # noqa: A002  (PyTorch's name)
    """-weight[t] input[n, t] with t = target[n], per position, for log-probabilities `input` ((N, C), (C,) or
    (N, C, d1, ...)), reduced ("mean" divides by the sum of the weights used); positions whose target is
    `ignore_index` are left out. `weight` (C,) weighs the classes (all 1 by default) and gets no gradient."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"nll_loss: reduction must be one of {REDUCTIONS}, not {reduction!r}")
    if not isinstance(target, Tensor) and isinstance(input, Tensor):
        target = _tensor(target, backend=input.backend)
    validation.require_tensor("nll_loss", input, "input")
    validation.require_tensor("nll_loss", target, "target")
    expected = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
    if target.dtype.kind not in "iu" or target.shape != expected:
        raise ValueError(f"nll_loss: expected integer class indices of shape {expected} for an input of shape "
                         f"{input.shape}, got {target.dtype} of shape {target.shape}")
    classes = input.shape[0 if input.ndim == 1 else 1]
    used = target.data[target.data != ignore_index]
    if used.size and (int(used.min()) < 0 or int(used.max()) >= classes):
        raise ValueError(f"nll_loss: target values must be class indices in [0, {classes}) or ignore_index "
                         f"({ignore_index}); got values from {int(used.min())} to {int(used.max())}")
    return NLLLoss.apply(input, target, reduction, ignore_index, _class_weights("nll_loss", weight, classes))


def _class_weights(function, weight, classes):
    """The class weights as a constant of shape (C,), or None."""
    if weight is None:
        return None
    validation.require_tensor(function, weight, "weight")
    if weight.shape != (classes,):
        raise ValueError(f"{function}: weight must have one entry per class, shape ({classes},), not {weight.shape}")
    return weight.detach()


def _check_pair(function, reduction, prediction, target):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{function}: reduction must be one of {REDUCTIONS}, not {reduction!r}")
    validation.require_tensor(function, prediction, "input")
    validation.require_tensor(function, target, "target")
    if prediction.shape != target.shape:
        raise ValueError(f"{function}: input of shape {prediction.shape} and target of shape {target.shape} "
                         "must have the same shape (broadcasting them silently is a common bug)")


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    """Mean of |input - target| over all elements; both must have the same shape."""
    _check_pair("l1_loss", reduction, input, target)
    return L1Loss.apply(input, target, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    """(input - target)^2 / 2 within `delta` of the target, delta (|input - target| - delta / 2) beyond, reduced."""
    _check_pair("huber_loss", reduction, input, target)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, not {delta}")
    return HuberLoss.apply(input, target, reduction, delta)


def binary_cross_entropy(input, target, reduction="mean"):  # noqa: A002
    """-(target log p + (1 - target) log(1 - p)) for probabilities p = input in [0, 1], reduced."""
    _check_pair("binary_cross_entropy", reduction, input, target)
    if input.numel() and (float(input.data.min()) < 0 or float(input.data.max()) > 1):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]; for raw scores use "
                         "binary_cross_entropy_with_logits")
    return BinaryCrossEntropy.apply(input, target, reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):  # noqa: A002
    """binary_cross_entropy(sigmoid(input), target), computed from the logits without overflow."""
    _check_pair("binary_cross_entropy_with_logits", reduction, input, target)
    return BinaryCrossEntropyWithLogits.apply(input, target, reduction)


def mse_loss(prediction, target, reduction="mean"):
    """Mean of (prediction - target)**2 over all elements; both must have the same shape."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {REDUCTIONS}, not {reduction!r}")
    validation.require_tensor("mse_loss", prediction, "prediction")
    validation.require_tensor("mse_loss", target, "target")
    if prediction.shape != target.shape:
        raise ValueError(f"mse_loss: prediction of shape {prediction.shape} and target of shape {target.shape} "
                         "must have the same shape (broadcasting them silently is a common bug)")
    return MSELoss.apply(prediction, target, reduction)


def one_hot(indices, num_classes):
    """An int64 tensor with a 1 at each index along a new last axis: shape indices.shape + (num_classes,).

    Not differentiable (indices are integers); use ``.astype(...)`` or ``.float()`` to feed it to a layer.
    """
    validation.require_tensor("one_hot", indices, "indices")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got dtype {indices.dtype}")
    if indices.numel() and (int(indices.data.min()) < 0 or int(indices.data.max()) >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}), got values from "
                         f"{int(indices.data.min())} to {int(indices.data.max())}")
    xp = get_array_module(indices)
    return Tensor(xp.eye(num_classes, dtype="int64")[indices.data])


def embedding(input, weight, padding_idx=None):  # noqa: A002  (PyTorch's name)
    """Rows of the table `weight` (num_embeddings, embedding_dim) picked by the integer tensor `input`: shape
    input.shape + (embedding_dim,). Repeated indices add up in the weight's gradient; the row `padding_idx`
    (negative counts from the end) gets none."""
    validation.require_tensor("embedding", input, "input")
    validation.require_tensor("embedding", weight, "weight")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a 2-D table (num_embeddings, embedding_dim), not {weight.shape}")
    padding_idx = embedding_padding_idx("embedding", padding_idx, weight.shape[0])
    validation.check_indices("embedding", input, weight.shape[0])
    return apply_embedding(input, weight, padding_idx)


def apply_embedding(input, weight, padding_idx):  # noqa: A002
    """:func:`embedding` on arguments the caller has checked (`padding_idx` non-negative or None)."""
    return Embedding.apply(input, weight, padding_idx)


def embedding_padding_idx(function, padding_idx, num_embeddings):
    """padding_idx in [0, num_embeddings), a negative one counted from the end, or None."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{function}: padding_idx must be within [-{num_embeddings}, {num_embeddings}), "
                         f"got {padding_idx}")
    return padding_idx % num_embeddings


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """softmax(query @ key^T * scale + mask) @ value, as ``torch.nn.functional.scaled_dot_product_attention``.

    query (..., L, E), key (..., S, E), value (..., S, Ev); the leading dims broadcast; the result is (..., L, Ev).
    scale defaults to 1/sqrt(E). attn_mask broadcasts to (..., L, S): boolean True where a query MAY attend, or
    float, added to the scores. is_causal masks the keys after each query (a top-left lower-triangular mask;
    not together with attn_mask). dropout_p drops attention weights with minigrad's generator, whenever it is
    positive (pass 0 in evaluation). A query that may attend to nothing gets output 0. One fused node; see
    :mod:`minigrad.nn.ops.attention` for the backward.
    """
    validation.check_attention("scaled_dot_product_attention", query, key, value, attn_mask, dropout_p, is_causal)
    return ScaledDotProductAttention.apply(query, key, value, attn_mask, float(dropout_p), bool(is_causal), scale)


def zeros_state(x, hidden_size):
    """A zero hidden state matching x's batch (or unbatched) shape, dtype and backend."""
    xp = get_array_module(x)
    shape = (hidden_size,) if x.ndim == 1 else (x.shape[0], hidden_size)
    return Tensor(xp.zeros(shape, dtype=x.dtype))


def as_shape(shape):
    """An int or a sequence of ints as a tuple: LayerNorm(8) and LayerNorm((8,)) mean the same."""
    return (int(shape),) if isinstance(shape, int) else tuple(int(size) for size in shape)
