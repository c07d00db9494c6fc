"""``MaxPool2d``, ``AvgPool2d`` and ``AdaptiveAvgPool2d`` (the math and the backward are in
:mod:`minigrad.nn.ops.pooling`). Pooling has no parameters: each layer keeps its window settings and calls the
functional."""

from minigrad.nn import functional as F
from minigrad.nn.modules.module import Module


class MaxPool2d(Module):
    """The maximum of each kernel_size window, moved by stride (default: kernel_size), padding with -inf."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean of each kernel_size window, moved by stride (default: kernel_size), padding with zeros that the
    divisor counts unless count_include_pad=False."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"count_include_pad={self.count_include_pad}")


class AdaptiveAvgPool2d(Module):
    """Global average pooling: the mean over each channel's positions (output_size 1 only)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
