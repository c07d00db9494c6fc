"""Argument checks shared by ``minigrad.nn.functional`` and the layers.

Each argument is checked once: by the functional when it is called directly, or by the layer, which then calls
the functional's ``apply_*`` function. Each check runs before anything is computed or changed, so a bad call raises and leaves running statistics,
parameters and counters exactly as they were. `layer` names the caller in the message: the functional op
("layer_norm") or the module with its settings ("LayerNorm((8,), eps=1e-05, elementwise_affine=True)").
"""

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
    count = len(normalized_shape)
    if x.ndim < count or x.shape[x.ndim - count:] != normalized_shape:
        raise ValueError(f"{layer}: the last {count} dimension(s) of the input must be normalized_shape "
                         f"{normalized_shape}, but the input has shape {x.shape}")
    for name, parameter in (("weight", weight), ("bias", bias)):
        if parameter is not None and parameter.shape != normalized_shape:
            raise ValueError(f"{layer}: {name} has shape {parameter.shape}, expected normalized_shape "
                             f"{normalized_shape}")


def check_batch_norm(layer, x, num_features, use_batch_statistics):
    require_tensor(layer, x)
    if x.ndim not in (2, 3):
        raise ValueError(f"{layer}: expected a 2-D input (N, C) or a 3-D input (N, C, L), got an input of shape "
                         f"{x.shape}")
    if x.shape[1] != num_features:
        raise ValueError(f"{layer}: expected {num_features} channels in dimension 1, got an input of shape "
                         f"{x.shape}")
    if use_batch_statistics and x.size // max(x.shape[1], 1) <= 1:
        # PyTorch's message: one value per channel has variance 0 and normalizes to exactly 0.
        raise ValueError(f"{layer}: Expected more than 1 value per channel when training, got input size "
                         f"{x.shape}")


def check_momentum(layer, momentum):
    """BatchNorm's momentum, when it updates running statistics."""
    if not isinstance(momentum, (int, float)):
        raise TypeError(f"{layer}: momentum must be a number when updating running statistics, got {momentum!r}")


def check_rnn_cell(layer, x, h, input_size, hidden_size):
    require_tensor(layer, x)
    if x.ndim not in (1, 2):
        raise ValueError(f"{layer}: expected an input of shape (batch, {input_size}) or unbatched "
                         f"({input_size},), got {x.shape}")
    if x.shape[-1] != input_size:
        raise ValueError(f"{layer}: expected an input with input_size {input_size} in its last dimension, got "
                         f"an input of shape {x.shape}")
    if h is None:
        return
    require_tensor(layer, h, "hidden state")
    expected = (hidden_size,) if x.ndim == 1 else (x.shape[0], hidden_size)
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
                        f"(target shape {target.shape}, logits shape {logits.shape}); class probabilities as "
                        "targets are not supported")
    expected = logits.shape[:-1]
    if target.shape != expected:
        raise ValueError(f"{layer}: target of shape {target.shape} does not match logits of shape {logits.shape}; "
                         f"expected one class index per example, shape {expected}")
    classes = logits.shape[-1]
    if target.size and (int(target.data.min()) < 0 or int(target.data.max()) >= classes):
        raise ValueError(f"{layer}: target values must be class indices in [0, {classes}) for logits of shape "
                         f"{logits.shape}; got values from {int(target.data.min())} to {int(target.data.max())} "
                         f"in the target of shape {target.shape}")
