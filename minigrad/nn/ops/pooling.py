"""Max and average pooling over (KH, KW) windows of images (N, C, H, W), each as one graph node.

Both read the same windows as the convolution (:mod:`minigrad.nn.ops.conv`): with stride s and the input padded,

    cols[n, c, i, j, p, q] = x[n, c, s p + i, s q + j]        (im2col, one strided slice per window offset)

and reduce each window, cols over (i, j), channel by channel (nothing mixes channels, no weights).

Average pooling: y[n, c, p, q] = (1 / D) sum_{i, j} cols[n, c, i, j, p, q], with D = KH KW (padding zeros
counted, PyTorch's default) or the number of real input positions in the window (count_include_pad=False).
It is linear, so dL/dcols[n, c, i, j, p, q] = dL/dy[n, c, p, q] / D, and col2im adds each column back where it
was read from: a position in several windows collects a share from each.

Max pooling: y[n, c, p, q] = cols[n, c, k*, p, q] with k* the window offset of the largest value (padding is
-inf, so it is never chosen). Locally y is that one entry, so dL/dcols is dL/dy at k* and 0 at every other
offset: the gradient goes to the arg-max only. On ties the first offset in row-major order (i, then j) wins, the
order PyTorch's CPU kernel scans the window in, so exactly one of the tied inputs gets the gradient.
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.backends import get_array_module
from minigrad.nn.ops.conv import col2im, im2col

NO_DILATION = (1, 1)


def _padded(xp, x, padding, value):
    rows, columns = padding
    if not rows and not columns:
        return x
    return xp.pad(x, ((0, 0), (0, 0), (rows, rows), (columns, columns)), constant_values=value)


def _gradient_to_input(xp, grad_cols, ctx):
    """col2im of the window gradients (N, C, KH, KW, P, Q), cut back to the unpadded input."""
    grad_padded = col2im(xp, grad_cols, ctx.padded_shape, ctx.stride, NO_DILATION)
    rows, columns = ctx.padding
    return grad_padded[:, :, rows:rows + ctx.x_shape[2], columns:columns + ctx.x_shape[3]]


class MaxPool2d(Function):
    """y = the maximum of each (KH, KW) window, moved by `stride`, over x padded with -inf by `padding`."""

    twin = staticmethod(composed.max_pool2d)

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding):
        xp = get_array_module(x)
        padded = _padded(xp, x, padding, -xp.inf)
        cols = im2col(xp, padded, kernel_size, stride, NO_DILATION)
        n, channels, kh, kw, rows, columns = cols.shape
        cols = cols.reshape(n, channels, kh * kw, rows, columns)
        winner = cols.argmax(axis=2)  # the first largest offset in row-major order, as PyTorch
        ctx.x_shape, ctx.padded_shape, ctx.kernel_size, ctx.stride, ctx.padding = (
            x.shape, padded.shape, kernel_size, stride, padding)
        ctx.save_for_backward(winner)
        return xp.take_along_axis(cols, winner[:, :, None], axis=2)[:, :, 0]

    @staticmethod
    def backward(ctx, grad_output):
        (winner,) = ctx.saved_tensors
        xp = get_array_module(grad_output)
        kh, kw = ctx.kernel_size
        offsets = xp.arange(kh * kw).reshape(1, 1, kh * kw, 1, 1)
        # dL/dy at the arg-max offset of each window, 0 at the others
        grad_cols = (offsets == winner[:, :, None]) * grad_output[:, :, None]
        n, channels, _, rows, columns = grad_cols.shape
        return _gradient_to_input(xp, grad_cols.reshape(n, channels, kh, kw, rows, columns), ctx), None, None, None


class AvgPool2d(Function):
    """y = the mean of each (KH, KW) window, moved by `stride`, over x padded with zeros by `padding`; the
    divisor counts the padding zeros if `count_include_pad`, else only the real inputs in the window."""

    twin = staticmethod(composed.avg_pool2d)

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, count_include_pad):
        xp = get_array_module(x)
        padded = _padded(xp, x, padding, 0)
        kh, kw = kernel_size
        sums = im2col(xp, padded, kernel_size, stride, NO_DILATION).sum(axis=(2, 3))
        if count_include_pad:
            divisor = xp.asarray(kh * kw, dtype=x.dtype)
        else:  # the same windows over a map of ones that is 0 on the padding: the number of real inputs in each
            ones = _padded(xp, xp.ones((1, 1) + x.shape[2:], dtype=x.dtype), padding, 0)
            divisor = im2col(xp, ones, kernel_size, stride, NO_DILATION).sum(axis=(2, 3))
        ctx.x_shape, ctx.padded_shape, ctx.kernel_size, ctx.stride, ctx.padding = (
            x.shape, padded.shape, kernel_size, stride, padding)
        ctx.save_for_backward(divisor)
        return sums / divisor

    @staticmethod
    def backward(ctx, grad_output):
        (divisor,) = ctx.saved_tensors
        xp = get_array_module(grad_output)
        kh, kw = ctx.kernel_size
        share = grad_output / divisor  # (N, C, P, Q): every input of a window gets the same share
        n, channels, rows, columns = share.shape
        grad_cols = xp.broadcast_to(share[:, :, None, None], (n, channels, kh, kw, rows, columns))
        return _gradient_to_input(xp, grad_cols, ctx), None, None, None, None
