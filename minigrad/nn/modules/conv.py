"""``Conv2d``: the 2-D convolution layer (the math and its backward are in :mod:`minigrad.nn.ops.conv`)."""

from minigrad.creation import zeros
from minigrad.nn import functional as F
from minigrad.nn import init, validation
from minigrad.nn.modules.module import Module, Parameter


class Conv2d(Module):
    """y = conv2d(x, weight) + bias for x of shape (N, in_channels, H, W) or (in_channels, H, W).

    weight has shape (out_channels, in_channels / groups, kH, kW); weight and bias are drawn from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * kH * kW, PyTorch's default.
    `padding` is an int, a pair, "valid" or "same"; only padding_mode="zeros" is supported.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__()
        describe = "Conv2d"
        if padding_mode != "zeros":
            raise ValueError(f"{describe}: only padding_mode='zeros' is supported, not {padding_mode!r}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{describe}: groups ({groups}) must divide in_channels ({in_channels}) and "
                             f"out_channels ({out_channels})")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = F.pair(describe, "kernel_size", kernel_size)
        self.stride = F.pair(describe, "stride", stride)
        self.dilation = F.pair(describe, "dilation", dilation)
        self.padding = padding if isinstance(padding, str) else (padding, padding) if isinstance(padding, int) \
            else tuple(padding)
        self.padding_mode = padding_mode
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
        validation.check_conv2d(validation.Described(self), x, self.weight, self.bias, self.stride, self._padding,
                                self.dilation, self.groups)
        return F.apply_conv2d(x, self.weight, self.bias, self.stride, self._padding, self.dilation, self.groups)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}")
