"""``MaxPool2d``, ``AvgPool2d`` and ``AdaptiveAvgPool2d`` (the math and the backward are in
:mod:`minigrad.nn.ops.pooling`). Pooling has no parameters: each layer keeps its window settings and calls the
functional."""

from minigrad.nn import functional as F
from minigrad.nn.modules.module import Module


class MaxPool2d(Module):
    """The maximum of each kernel_size window, taps `dilation` apart, moved by stride (default: kernel_size),
    padding with -inf; ceil_mode and return_indices as :func:`minigrad.nn.functional.max_pool2d` (PyTorch's
    argument order: return_indices before ceil_mode here, after it in the functional)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean of each kernel_size window, moved by stride (default: kernel_size), padding with zeros that the
    divisor counts unless count_include_pad=False; ceil_mode and divisor_override as
    :func:`minigrad.nn.functional.avg_pool2d`."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Global average pooling: the mean over each channel's positions (output_size 1 only)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
