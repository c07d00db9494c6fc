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
from minigrad.nn.ops import BatchNorm, CrossEntropy, LayerNorm, Linear, LogSoftmax, MSELoss, RNNCell, Softmax, fast
from minigrad.nn.ops.losses import REDUCTIONS
from minigrad.nn.ops.recurrent import NONLINEARITIES
from minigrad.tensor import Tensor


def linear(x, weight, bias=None):
    """y = x @ weight.T + bias, for x of shape (..., in), weight (out, in), bias (out,) or None."""
    validation.check_linear("linear", x, weight, bias)
    return apply_linear(x, weight, bias)


def apply_linear(x, weight, bias=None):
    """:func:`linear` on arguments the caller has checked."""
    return Linear.apply(x, weight, bias)


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


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization of x of shape (N, C) or (N, C, L) per channel, as ``torch.nn.functional.batch_norm``.

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
    validation.check_batch_norm(layer, x, channels, training)
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


def relu(x):
    return ops.Relu.apply(x)


def tanh(x):
    return ops.Tanh.apply(x)


def sigmoid(x):
    return ops.Sigmoid.apply(x)


def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along `dim`, computed without overflow."""
    return Softmax.apply(x, dim)


def log_softmax(x, dim=-1):
    """log(softmax(x)) along `dim`, as x - max - log(sum(exp(x - max))): finite for any finite x."""
    return LogSoftmax.apply(x, dim)


def cross_entropy(logits, target, reduction="mean"):
    """Mean over the batch of -log softmax(logits)[target]: logits (N, C) and integer targets (N,) in [0, C).

    Unbatched logits (C,) take a 0-d target. reduction "sum" sums instead; "none" returns the (N,) losses.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, not {reduction!r}")
    if not isinstance(target, Tensor) and isinstance(logits, Tensor):
        target = _tensor(target, backend=logits.backend)
    validation.check_class_targets("cross_entropy", logits, target)
    return CrossEntropy.apply(logits, target, reduction)


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
    if indices.size and (int(indices.data.min()) < 0 or int(indices.data.max()) >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}), got values from "
                         f"{int(indices.data.min())} to {int(indices.data.max())}")
    xp = get_array_module(indices)
    return Tensor(xp.eye(num_classes, dtype="int64")[indices.data])


def zeros_state(x, hidden_size):
    """A zero hidden state matching x's batch (or unbatched) shape, dtype and backend."""
    xp = get_array_module(x)
    shape = (hidden_size,) if x.ndim == 1 else (x.shape[0], hidden_size)
    return Tensor(xp.zeros(shape, dtype=x.dtype))


def as_shape(shape):
    """An int or a sequence of ints as a tuple: LayerNorm(8) and LayerNorm((8,)) mean the same."""
    return (int(shape),) if isinstance(shape, int) else tuple(int(size) for size in shape)
