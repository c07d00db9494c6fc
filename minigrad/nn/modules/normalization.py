"""``LayerNorm``, ``RMSNorm``, ``BatchNorm1d``, ``BatchNorm2d``, ``GroupNorm`` and ``InstanceNorm2d`` (the math
and the backward are in :mod:`minigrad.nn.ops.layer_norm`, :mod:`minigrad.nn.ops.rms_norm`,
:mod:`minigrad.nn.ops.batch_norm` and :mod:`minigrad.nn.ops.group_norm`).

They differ only in which numbers share a mean and a variance. LayerNorm normalizes each example over its
features, so an example's output does not depend on the rest of the batch, and training and evaluation compute
the same thing. BatchNorm normalizes each feature (each channel, for images) over the batch, so in training an
example's output depends on the batch it came in, and evaluation needs running averages of the statistics
instead. GroupNorm normalizes each example over groups of channels: LayerNorm's independence of the batch, with
several statistics per example instead of one. RMSNorm normalizes each example as LayerNorm does but shares only
a spread (the root mean square), not a mean.
"""

from minigrad import int64
from minigrad.creation import ones, tensor, zeros
from minigrad.nn import functional as F
from minigrad.nn import validation
from minigrad.nn.modules.module import Module, Parameter


def register_per_channel_state(module, num_features, eps, momentum, affine, track_running_stats, bias=True):
    """BatchNorm's and InstanceNorm's settings, their gain ``weight`` (1) and shift ``bias`` (0) per channel if
    `affine`, and the buffers ``running_mean`` (0), ``running_var`` (1) and ``num_batches_tracked`` if
    `track_running_stats` (else None, registered so that the state_dict keys are PyTorch's either way)."""
    module.num_features = int(num_features)
    module.eps, module.momentum = eps, momentum
    module.affine, module.track_running_stats = affine, track_running_stats
    module.register_parameter("weight", Parameter(ones(module.num_features)) if affine else None)
    module.register_parameter("bias", Parameter(zeros(module.num_features)) if affine and bias else None)
    tracked = track_running_stats
    module.register_buffer("running_mean", zeros(module.num_features) if tracked else None)
    module.register_buffer("running_var", ones(module.num_features) if tracked else None)
    module.register_buffer("num_batches_tracked", tensor(0, dtype=int64) if tracked else None)


class LayerNorm(Module):
    """Normalize over the trailing dims `normalized_shape`, then scale by ``weight`` and shift by ``bias``.

    ``weight`` (the gain) starts at 1 and ``bias`` at 0, both of shape `normalized_shape`;
    ``elementwise_affine=False`` drops both, ``bias=False`` only the shift.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        self.normalized_shape = F.as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        has_bias = elementwise_affine and bias
        self.register_parameter("weight", Parameter(ones(self.normalized_shape)) if elementwise_affine else None)
        self.register_parameter("bias", Parameter(zeros(self.normalized_shape)) if has_bias else None)

    def forward(self, x):
        weight, bias = self.weight, self.bias  # looked up once: each read of a registered name is a descriptor call
        validation.check_layer_norm(validation.Described(self), x, self.normalized_shape, weight, bias)
        return F.apply_layer_norm(x, self.normalized_shape, weight, bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """Divide by the root mean square over the trailing dims `normalized_shape`, then scale by ``weight``
    (Zhang and Sennrich, 2019; the math and the backward are in :mod:`minigrad.nn.ops.rms_norm`).

    ``weight`` (the gain) starts at 1, of shape `normalized_shape`; there is no bias. ``eps=None`` means the
    machine epsilon of the input's dtype, as in ``torch.nn.RMSNorm``; ``elementwise_affine=False`` drops the gain.
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.normalized_shape = F.as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.register_parameter("weight", Parameter(ones(self.normalized_shape)) if elementwise_affine else None)

    def forward(self, x):
        weight = self.weight  # looked up once: each read of a registered name is a descriptor call
        validation.check_layer_norm(validation.Described(self), x, self.normalized_shape, weight, None)
        return F.apply_rms_norm(x, self.normalized_shape, weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class BatchNorm1d(Module):
    """Batch normalization of (N, C) or (N, C, L) inputs over N (and L), per channel C.

    Training: normalize with the batch's mean and biased variance, and update the buffers
    ``running_mean`` (starts at 0) and ``running_var`` (starts at 1, updated with the unbiased variance) with
    factor `momentum`, or with the cumulative average 1/num_batches_tracked if `momentum` is None.
    Evaluation: normalize with the running averages. ``track_running_stats=False``: no buffers, batch
    statistics in both modes. ``affine``: a learned gain ``weight`` (starts at 1) and shift ``bias`` (at 0);
    ``bias=False`` keeps only the gain (PyTorch 2.13's keyword).
    """

    input_dims = (2, 3)  # the numbers of dimensions of the inputs it takes

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *, bias=True):
        super().__init__()
        register_per_channel_state(self, num_features, eps, momentum, affine, track_running_stats, bias)

    def forward(self, x):
        use_batch_statistics = self.training or self.running_mean is None
        validation.check_batch_norm(validation.Described(self), x, self.num_features, use_batch_statistics,
                                    self.input_dims)
        updates_running_stats = self.training and self.track_running_stats
        momentum = self.momentum
        if updates_running_stats and momentum is None:
            momentum = 1.0 / (int(self.num_batches_tracked.item()) + 1)  # cumulative average of all batches
        if updates_running_stats:
            validation.check_momentum(validation.Described(self), momentum)
        output = F.apply_batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                    use_batch_statistics, momentum, self.eps)
        if updates_running_stats:  # only after the call succeeded: a failed call changes nothing
            self.num_batches_tracked.data += 1
        return output

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(BatchNorm1d):
    """Batch normalization of images (N, C, H, W) over N, H and W, per channel C: BatchNorm1d's layer (the same
    buffers, modes and fused op) for 4-D inputs. In a convolutional network a channel is one feature detector
    applied at every position, so all its positions share one mean and one variance."""

    input_dims = (4,)


class GroupNorm(Module):
    """Normalize each example of (N, C, *) over groups of C / num_groups consecutive channels and all positions,
    then a gain ``weight`` (starts at 1) and a shift ``bias`` (at 0) per channel; ``affine=False`` drops both.
    num_groups=1 is LayerNorm over (C, H, W) with per-channel parameters; num_groups=C is InstanceNorm.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        self.register_parameter("weight", Parameter(ones(self.num_channels)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(self.num_channels)) if affine else None)

    def forward(self, x):
        validation.check_group_norm(validation.Described(self), x, self.num_groups, self.weight, self.bias,
                                    self.num_channels)
        return F.apply_group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(Module):
    """Normalize each channel of each example of (N, C, H, W) or (C, H, W) over its H W positions: GroupNorm
    with one group per channel, which is the fused op that runs (:mod:`minigrad.nn.ops.group_norm`).

    PyTorch's defaults: ``affine=False`` (no gain or shift) and ``track_running_stats=False`` (instance
    statistics in training and evaluation). With ``track_running_stats=True`` training also folds the batch's
    average of the per-instance means and unbiased variances into ``running_mean`` and ``running_var`` (factor
    `momentum`; None means 0, no update, as PyTorch, and ``num_batches_tracked`` stays 0 as there), and evaluation
    normalizes with them (the fused BatchNorm in evaluation mode). Unlike PyTorch, which only warns when
    affine=False, an input whose channel count is not num_features is an error.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False):
        super().__init__()
        register_per_channel_state(self, num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        layer = validation.Described(self)
        validation.require_tensor(layer, x)
        if x.ndim not in (3, 4):
            raise ValueError(f"{layer}: expected a 4-D input (N, C, H, W) or an unbatched 3-D input (C, H, W), "
                             f"got an input of shape {x.shape}")
        images = x if x.ndim == 4 else x.reshape((1,) + x.shape)
        validation.check_group_norm(layer, images, self.num_features, self.weight, self.bias, self.num_features)
        if not self.training and self.track_running_stats:
            output = F.apply_batch_norm(images, self.running_mean, self.running_var, self.weight, self.bias, False,
                                        0.0, self.eps)
        else:
            if self.track_running_stats:
                self._update_running_statistics(images.data)
            output = F.apply_group_norm(images, self.num_features, self.weight, self.bias, self.eps)
        return output if x.ndim == 4 else output[0]

    def _update_running_statistics(self, images):
        """The batch's average of the per-instance means and unbiased variances, folded in with momentum:
        bookkeeping outside the graph, as BatchNorm's update."""
        momentum = 0.0 if self.momentum is None else self.momentum
        count = images.shape[2] * images.shape[3]
        mean = images.mean(axis=(2, 3))
        variance = ((images - mean[:, :, None, None]) ** 2).sum(axis=(2, 3)) / (count - 1)
        for buffer, batch_value in ((self.running_mean, mean), (self.running_var, variance)):
            buffer.data *= 1 - momentum
            buffer.data += momentum * batch_value.mean(axis=0)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
