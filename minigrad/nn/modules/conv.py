"""``Conv2d``: the 2-D convolution layer (the math and its backward are in :mod:`minigrad.nn.ops.conv`)."""

import numpy

from minigrad.creation import tensor, zeros
from minigrad.nn import functional as F
from minigrad.nn import init, validation
from minigrad.nn.modules.module import Module, Parameter


class Conv2d(Module):
    """y = conv2d(x, weight) + bias for x of shape (N, in_channels, H, W) or (in_channels, H, W).

    weight has shape (out_channels, in_channels / groups, kH, kW); weight and bias are drawn from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * kH * kW, PyTorch's default.
    `padding` is an int, a pair, "valid" or "same". padding_mode says what the padding holds, as PyTorch:
    "zeros", or the input's own numbers: "reflect" (mirrored at the edge, which is not repeated: padding must be
    smaller than the input), "replicate" (the edge repeated) or "circular" (the other side's, padding at most
    the input's size). The non-zero modes pad first (:func:`pad_by_mode`, the gradient of a padded position
    flowing back to the input position it copies) and then convolve without padding, as PyTorch does.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__()
        describe = "Conv2d"
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{describe}: padding_mode must be one of {PADDING_MODES}, not {padding_mode!r}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{describe}: groups ({groups}) must divide in_channels ({in_channels}) and "
                             f"out_channels ({out_channels})")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = F.pair(describe, "kernel_size", kernel_size)
        self.stride = F.pair(describe, "stride", stride)
        self.dilation = F.pair(describe, "dilation", dilation)
        if not isinstance(padding, str):
            padding = validation.padding_pair(describe, padding, None, self.kernel_size)
        self.padding, self.padding_mode = padding, padding_mode
        self._padding = F.conv_padding(describe, self.padding, self.kernel_size, self.stride, self.dilation)
        self.weight = Parameter(zeros(self.out_channels, self.in_channels // self.groups, *self.kernel_size))
        self.register_parameter("bias", Parameter(zeros(self.out_channels)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        init.uniform_fan_in_(self.weight, fan_in)
        if self.bias is not None:
            init.uniform_fan_in_(self.bias, fan_in)

    def forward(self, x):
        layer = validation.Described(self)
        validation.check_conv2d(layer, x, self.weight, self.bias, self.stride, self._padding, self.dilation,
                                self.groups)
        if self.padding_mode == "zeros":
            return F.apply_conv2d(x, self.weight, self.bias, self.stride, self._padding, self.dilation, self.groups)
        padded = pad_by_mode(layer, x, self._padding, self.padding_mode)
        return F.apply_conv2d(padded, self.weight, self.bias, self.stride, (0, 0, 0, 0), self.dilation,
                              self.groups)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}" + ("" if self.padding_mode == "zeros" else
                                                     f", padding_mode={self.padding_mode}"))


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def padding_positions(size, before, after, mode):
    """The input position each of the before + size + after padded positions copies, for one axis: position
    -1 reads 1 ("reflect"), 0 ("replicate") or size - 1 ("circular"); position size reads size - 2, size - 1 or 0."""
    positions = numpy.arange(-before, size + after)
    if mode == "reflect":
        positions = numpy.abs(positions)
        return numpy.where(positions > size - 1, 2 * (size - 1) - positions, positions)
    if mode == "replicate":
        return numpy.clip(positions, 0, size - 1)
    return positions % size


def pad_by_mode(layer, x, sides, mode):
    """x (..., H, W) with (top, bottom, left, right) rows and columns copied from x itself, by index_select along
    H and then W: a graph of two gathers, whose backward adds each padded position's gradient to the position it
    copies (the edge rows collect several, in "replicate")."""
    top, bottom, left, right = sides
    for size, before, after in ((x.shape[-2], top, bottom), (x.shape[-1], left, right)):
        too_far = before >= size or after >= size if mode == "reflect" else before > size or after > size
        if too_far:
            limit = "smaller than" if mode == "reflect" else "at most"
            raise ValueError(f"{layer}: padding_mode={mode!r} needs padding {limit} the input's size, got padding "
                             f"{sides} (top, bottom, left, right) for an input of shape {x.shape}")
    rows = tensor(padding_positions(x.shape[-2], top, bottom, mode), backend=x.backend)
    columns = tensor(padding_positions(x.shape[-1], left, right, mode), backend=x.backend)
    return x.index_select(-2, rows).index_select(-1, columns)
