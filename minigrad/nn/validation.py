"""Argument checks shared by ``minigrad.nn.functional`` and the layers.

Each argument is checked once: by the functional when it is called directly, or by the layer, which then calls
the functional's ``apply_*`` function. Each check runs before anything is computed or changed, so a bad call raises and leaves running statistics,
parameters and counters exactly as they were. `layer` names the caller in the message: the functional op
("layer_norm") or the module with its settings ("LayerNorm((8,), eps=1e-05, elementwise_affine=True)").
"""

import numpy

from minigrad.tensor import Tensor


class Described:
    """A module's name for error messages, ``Linear(in_features=4, out_features=2, bias=True)``, written out only
    when a message is: the checks run on every forward call, and formatting the settings every time would cost
    more than the checks themselves."""

    __slots__ = ("module",)

    def __init__(self, module):
        self.module = module

    def __str__(self):
        return self.module._describe()


def require_tensor(layer, value, what="input"):
    if not isinstance(value, Tensor):
        raise TypeError(f"{layer}: expected the {what} to be a minigrad Tensor, got {type(value).__name__}; "
                        "wrap data with minigrad.tensor(...)")


def check_linear(layer, x, weight, bias):
    require_tensor(layer, x)
    out_features, in_features = weight.shape
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(f"{layer}: expected an input with {in_features} features in its last dimension, got an "
                         f"input of shape {x.shape} (weight has shape {weight.shape}, i.e. (out_features, "
                         "in_features))")
    if bias is not None and bias.shape != (out_features,):
        raise ValueError(f"{layer}: bias has shape {bias.shape} but weight {weight.shape} needs ({out_features},)")


def check_layer_norm(layer, x, normalized_shape, weight, bias):
    require_tensor(layer, x)
    count, shape = len(normalized_shape), x.shape
    if len(shape) < count or shape[len(shape) - count:] != normalized_shape:
        raise ValueError(f"{layer}: the last {count} dimension(s) of the input must be normalized_shape "
                         f"{normalized_shape}, but the input has shape {shape}")
    if weight is not None and weight.shape != normalized_shape:
        raise ValueError(f"{layer}: weight has shape {weight.shape}, expected normalized_shape {normalized_shape}")
    if bias is not None and bias.shape != normalized_shape:
        raise ValueError(f"{layer}: bias has shape {bias.shape}, expected normalized_shape {normalized_shape}")


BATCH_NORM_INPUTS = {2: "a 2-D input (N, C)", 3: "a 3-D input (N, C, L)", 4: "a 4-D input (N, C, H, W)"}


def check_batch_norm(layer, x, num_features, use_batch_statistics, dims=(2, 3)):
    """x of one of the numbers of dimensions `dims` (BatchNorm1d: 2 or 3, BatchNorm2d: 4) with num_features
    channels in dimension 1."""
    require_tensor(layer, x)
    if x.ndim not in dims:
        expected = " or ".join(BATCH_NORM_INPUTS[d] for d in dims)
        raise ValueError(f"{layer}: expected {expected}, got an input of shape {x.shape}")
    if x.shape[1] != num_features:
        raise ValueError(f"{layer}: expected {num_features} channels in dimension 1, got an input of shape "
                         f"{x.shape}")
    if use_batch_statistics and x.numel() // max(x.shape[1], 1) <= 1:
        # PyTorch's message: one value per channel has variance 0 and normalizes to exactly 0.
        raise ValueError(f"{layer}: Expected more than 1 value per channel when training, got input size "
                         f"{x.shape}")


def check_conv2d(layer, x, weight, bias, stride, padding, dilation, groups):
    """The input (N, C, H, W) or (C, H, W) against a weight (O, C/groups, KH, KW); padding (top, bottom, left,
    right)."""
    require_tensor(layer, x)
    if weight.ndim != 4:
        raise ValueError(f"{layer}: expected a 4-D weight (out_channels, in_channels/groups, kH, kW), got shape "
                         f"{weight.shape}")
    out_channels, group_channels, kh, kw = weight.shape
    if not isinstance(groups, int) or groups < 1 or out_channels % groups:
        raise ValueError(f"{layer}: groups ({groups}) must be a positive int dividing out_channels "
                         f"({out_channels}, weight shape {weight.shape})")
    if x.ndim not in (3, 4):
        raise ValueError(f"{layer}: expected a 4-D input (N, C, H, W) or an unbatched 3-D input (C, H, W), got an "
                         f"input of shape {x.shape}")
    channels, height, width = x.shape[-3:]
    if channels != group_channels * groups:
        raise ValueError(f"{layer}: expected an input with {group_channels * groups} channels (weight shape "
                         f"{weight.shape} with groups={groups}), got an input of shape {x.shape}; groups must "
                         "divide the input channels")
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{layer}: bias has shape {bias.shape} but weight {weight.shape} needs ({out_channels},)")
    padded = (height + padding[0] + padding[1], width + padding[2] + padding[3])
    extent = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if padded[0] < extent[0] or padded[1] < extent[1]:
        raise ValueError(f"{layer}: the kernel ({kh}x{kw}, dilation {dilation}, spanning {extent[0]}x{extent[1]}) "
                         f"is larger than the padded input ({padded[0]}x{padded[1]}, input shape {x.shape})")


def padding_pair(layer, padding, x, kernel=None):
    """A pooling or convolution padding given as an int or a pair of non-negative ints, as (rows, columns); anything
    else is an error naming the layer, the padding and the shapes."""
    values = (padding, padding) if isinstance(padding, int) else padding
    if not (isinstance(values, (tuple, list)) and len(values) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)):
        shapes = ([] if x is None else [f"input shape {x.shape}"]) + ([] if kernel is None else [f"kernel {kernel}"])
        raise ValueError(f"{layer}: padding must be a non-negative int or a pair (rows, columns) of them, not "
                         f"{padding!r}" + (f" ({', '.join(shapes)})" if shapes else ""))
    return tuple(values)


def check_pool(layer, x, kernel_size, padding, dilation):
    require_tensor(layer, x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{layer}: expected a 4-D input (N, C, H, W) or an unbatched 3-D input (C, H, W), got an "
                         f"input of shape {x.shape}")
    if any(2 * p > k for p, k in zip(padding, kernel_size)):
        raise ValueError(f"{layer}: padding {padding} must be at most half the kernel size {kernel_size} (input "
                         f"shape {x.shape})")
    height, width = x.shape[-2] + 2 * padding[0], x.shape[-1] + 2 * padding[1]
    extent = [d * (k - 1) + 1 for d, k in zip(dilation, kernel_size)]
    if height < extent[0] or width < extent[1]:
        spanning = "" if dilation == (1, 1) else f" (dilation {dilation}, spanning {extent[0]}x{extent[1]})"
        raise ValueError(f"{layer}: the kernel {kernel_size[0]}x{kernel_size[1]}{spanning} is larger than the "
                         f"padded input ({height}x{width}, input shape {x.shape})")


def check_group_norm(layer, x, num_groups, weight, bias, num_channels=None):
    require_tensor(layer, x)
    if x.ndim < 2:
        raise ValueError(f"{layer}: expected an input of shape (N, C, *), got an input of shape {x.shape}")
    channels = x.shape[1]
    if num_channels is not None and channels != num_channels:
        raise ValueError(f"{layer}: expected {num_channels} channels in dimension 1, got an input of shape "
                         f"{x.shape}")
    if not isinstance(num_groups, int) or num_groups < 1 or channels % num_groups:
        raise ValueError(f"{layer}: num_groups ({num_groups}) must be a positive int dividing the number of "
                         f"channels ({channels}, input shape {x.shape})")
    for name, parameter in (("weight", weight), ("bias", bias)):
        if parameter is not None and parameter.shape != (channels,):
            raise ValueError(f"{layer}: {name} has shape {parameter.shape}, expected ({channels},) for an input "
                             f"of shape {x.shape}")


def check_momentum(layer, momentum):
    """BatchNorm's momentum, when it updates running statistics."""
    if not isinstance(momentum, (int, float)):
        raise TypeError(f"{layer}: momentum must be a number when updating running statistics, got {momentum!r}")


def check_rnn_cell(layer, x, h, input_size, hidden_size):
    require_tensor(layer, x)
    shape = x.shape
    if len(shape) not in (1, 2):
        raise ValueError(f"{layer}: expected an input of shape (batch, {input_size}) or unbatched "
                         f"({input_size},), got {shape}")
    if shape[-1] != input_size:
        raise ValueError(f"{layer}: expected an input with input_size {input_size} in its last dimension, got "
                         f"an input of shape {shape}")
    if h is None:
        return
    require_tensor(layer, h, "hidden state")
    expected = (hidden_size,) if len(shape) == 1 else (shape[0], hidden_size)
    if h.shape != expected:
        raise ValueError(f"{layer}: expected a hidden state of shape {expected} for an input of shape {x.shape} "
                         f"(hidden_size {hidden_size}), got a hidden state of shape {h.shape}")


def check_class_targets(layer, logits, target):
    require_tensor(layer, logits, "logits")
    require_tensor(layer, target, "target")
    if logits.ndim not in (1, 2):
        raise ValueError(f"{layer}: expected logits of shape (N, C) or unbatched (C,), got {logits.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{layer}: target must hold integer class indices (e.g. int64), got dtype {target.dtype} "
                        f"(target shape {target.shape}, logits shape {logits.shape}); class probabilities are "
                        "a floating target of the logits' shape")
    expected = logits.shape[:-1]
    if target.shape != expected:
        raise ValueError(f"{layer}: target of shape {target.shape} does not match logits of shape {logits.shape}; "
                         f"expected one class index per example, shape {expected}")
    classes = logits.shape[-1]
    if target.numel() and (int(target.data.min()) < 0 or int(target.data.max()) >= classes):
        raise ValueError(f"{layer}: target values must be class indices in [0, {classes}) for logits of shape "
                         f"{logits.shape}; got values from {int(target.data.min())} to {int(target.data.max())} "
                         f"in the target of shape {target.shape}")


def check_indices(layer, indices, count):
    """An integer tensor whose entries lie in [0, count)."""
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{layer}: expected integer indices (e.g. int64), got dtype {indices.dtype}")
    if indices.numel() and (int(indices.data.min()) < 0 or int(indices.data.max()) >= count):
        raise ValueError(f"{layer}: indices must lie in the range [0, {count}), got values from "
                         f"{int(indices.data.min())} to {int(indices.data.max())}")


def check_attention(layer, query, key, value, attn_mask, dropout_p, is_causal):
    """query (..., L, E), key (..., S, E), value (..., S, Ev) of one float dtype with broadcastable leading dims;
    attn_mask boolean or float, broadcastable to the scores' shape (..., L, S) without enlarging it."""
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        require_tensor(layer, tensor, name)
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ValueError(f"{layer}: expected query, key and value to be at least 2-dimensional, got shapes "
                         f"{query.shape}, {key.shape} and {value.shape}")
    if not query.dtype == key.dtype == value.dtype or query.dtype.kind != "f":
        raise TypeError(f"{layer}: query, key and value must have one floating dtype, got {query.dtype}, "
                        f"{key.dtype} and {value.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"{layer}: query and key must have the same embedding dim (last dim), got query "
                         f"{query.shape} and key {key.shape}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{layer}: key and value must have the same sequence length (dim -2), got key "
                         f"{key.shape} and value {value.shape}")
    try:
        batch = numpy.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"{layer}: the batch dims of query {query.shape}, key {key.shape} and value "
                         f"{value.shape} do not broadcast") from None
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{layer}: dropout_p must lie in [0, 1], got {dropout_p}")
    if attn_mask is None:
        return
    if is_causal:
        raise ValueError(f"{layer}: pass either attn_mask or is_causal=True, not both (is_causal builds the mask)")
    require_tensor(layer, attn_mask, "attn_mask")
    if attn_mask.dtype != bool and attn_mask.dtype.kind != "f":
        raise ValueError(f"{layer}: attn_mask must be boolean (True = may attend) or float (added to the scores), "
                         f"got dtype {attn_mask.dtype}")
    scores = batch + (query.shape[-2], key.shape[-2])
    try:
        fits = numpy.broadcast_shapes(scores, attn_mask.shape) == scores
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{layer}: attn_mask of shape {attn_mask.shape} does not broadcast to the scores' shape "
                         f"{scores} (batch, L, S)")
