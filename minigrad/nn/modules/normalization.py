"""``LayerNorm`` and ``BatchNorm1d`` (the math and its backward are in :mod:`minigrad.nn.ops.layer_norm` and
:mod:`minigrad.nn.ops.batch_norm`).

The two differ only in which numbers share a mean and a variance. LayerNorm normalizes each example over its
features, so an example's output does not depend on the rest of the batch, and training and evaluation compute
the same thing. BatchNorm1d normalizes each feature over the batch, so in training an example's output depends
on the batch it came in, and evaluation needs running averages of the statistics instead.
"""

from minigrad import int64
from minigrad.creation import ones, tensor, zeros
from minigrad.nn import functional as F
from minigrad.nn import validation
from minigrad.nn.modules.module import Module, Parameter


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
        validation.check_layer_norm(validation.Described(self), x, self.normalized_shape, self.weight, self.bias)
        return F.apply_layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class BatchNorm1d(Module):
    """Batch normalization of (N, C) or (N, C, L) inputs over N (and L), per channel C.

    Training: normalize with the batch's mean and biased variance, and update the buffers
    ``running_mean`` (starts at 0) and ``running_var`` (starts at 1, updated with the unbiased variance) with
    factor `momentum`, or with the cumulative average 1/num_batches_tracked if `momentum` is None.
    Evaluation: normalize with the running averages. ``track_running_stats=False``: no buffers, batch
    statistics in both modes. ``affine``: a learned gain ``weight`` (starts at 1) and shift ``bias`` (at 0);
    ``bias=False`` keeps only the gain (PyTorch 2.13's keyword).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *, bias=True):
        super().__init__()
        self.num_features = int(num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter("weight", Parameter(ones(self.num_features)) if affine else None)
        self.register_parameter("bias", Parameter(zeros(self.num_features)) if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(self.num_features))
            self.register_buffer("running_var", ones(self.num_features))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x):
        use_batch_statistics = self.training or self.running_mean is None
        validation.check_batch_norm(validation.Described(self), x, self.num_features, use_batch_statistics)
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
