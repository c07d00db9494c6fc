"""Max and average pooling over (KH, KW) windows of images (N, C, H, W), each as one graph node.

Both read the same windows as the convolution (:mod:`minigrad.nn.ops.conv`): with stride s, dilation d (max
pooling only) and the input padded,

    cols[n, c, i, j, p, q] = x[n, c, s p + d i, s q + d j]        (im2col, one strided slice per window offset)

and reduce each window, cols over (i, j), channel by channel (nothing mixes channels, no weights).

The padding is given per side, (top, bottom, left, right): `padding` rows and columns on every side, and with
ceil_mode some more at the bottom and right, so that the last window, which may hang over the edge, has numbers
to read ("overhang"). The functional works those out (``minigrad.nn.functional.pool_geometry``).

Average pooling: y[n, c, p, q] = (1 / D[p, q]) sum_{i, j} cols[n, c, i, j, p, q]. PyTorch's divisor D counts the
window's positions inside the input and its `padding` (count_include_pad=True, the default), or inside the input
only (count_include_pad=False), never the overhang; divisor_override replaces it by one number. Either way D is
the window sum of a map of ones over the positions it counts, zeros elsewhere. The op is linear, so
dL/dcols[n, c, i, j, p, q] = dL/dy[n, c, p, q] / D[p, q], and col2im adds each column back where it was read
from: a position in several windows collects a share from each.

Max pooling: y[n, c, p, q] = cols[n, c, k*, p, q] with k* the window offset of the largest value (padding is
-inf, so it is never chosen). Locally y is that one entry, so dL/dcols is dL/dy at k* and 0 at every other
offset: the gradient goes to the arg-max only. On ties the first offset in row-major order (i, then j) wins, the
order PyTorch's CPU kernel scans the window in, so exactly one of the tied inputs gets the gradient. PyTorch's
return_indices gives k* as a position of the unpadded input, h W + w (:func:`max_pool2d_indices`).
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.backends import get_array_module
from minigrad.nn.ops.conv import col2im, im2col

NO_DILATION = (1, 1)


def _padded(xp, x, sides, value):
    """x with (top, bottom, left, right) rows and columns of `value` around its last two dimensions."""
    if not any(sides):
        return x
    top, bottom, left, right = sides
    return xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def _gradient_to_input(xp, grad_cols, ctx):
    """col2im of the window gradients (N, C, KH, KW, P, Q), cut back to the unpadded input."""
    grad_padded = col2im(xp, grad_cols, ctx.padded_shape, ctx.stride, ctx.dilation)
    top, _, left, _ = ctx.sides
    return grad_padded[:, :, top:top + ctx.x_shape[2], left:left + ctx.x_shape[3]]


def _sides(padding, overhang):
    """(top, bottom, left, right) from `padding` (rows, columns) on every side and the overhang at the end."""
    (rows, columns), (extra_rows, extra_columns) = padding, overhang
    return rows, rows + extra_rows, columns, columns + extra_columns


def _windows(xp, x, kernel_size, stride, sides, dilation):
    """The -inf-padded input's windows, (N, C, KH KW, P, Q), and the padded shape."""
    padded = _padded(xp, x, sides, -xp.inf)
    cols = im2col(xp, padded, kernel_size, stride, dilation)
    n, channels, kh, kw, rows, columns = cols.shape
    return cols.reshape(n, channels, kh * kw, rows, columns), padded.shape


class MaxPool2d(Function):
    """y = the maximum of each (KH, KW) window, taps `dilation` apart, moved by `stride`, over x padded with -inf:
    `padding` (rows, columns) on every side and `overhang` more at the bottom and right."""

    # an overhang comes only from ceil_mode, and the twin works it out again from ceil_mode as the functional did
    twin = staticmethod(lambda x, kernel_size, stride, padding, overhang, dilation: composed.max_pool2d(
        x, kernel_size, stride, padding, dilation, ceil_mode=any(overhang)))

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, overhang, dilation):
        xp = get_array_module(x)
        sides = _sides(padding, overhang)
        cols, padded_shape = _windows(xp, x, kernel_size, stride, sides, dilation)
        winner = cols.argmax(axis=2)  # the first largest offset in row-major order, as PyTorch
        ctx.x_shape, ctx.padded_shape, ctx.kernel_size, ctx.stride, ctx.sides, ctx.dilation = (
            x.shape, padded_shape, kernel_size, stride, sides, dilation)
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
        grad_x = _gradient_to_input(xp, grad_cols.reshape(n, channels, kh, kw, rows, columns), ctx)
        return grad_x, None, None, None, None, None


def max_pool2d_indices(x, kernel_size, stride, padding, overhang, dilation):
    """Where each window's maximum sits in the unpadded input, as h W + w (int64), as PyTorch's return_indices:
    window (p, q)'s offset k* = i KW + j reads row s p + d i - top and column s q + d j - left."""
    xp = get_array_module(x)
    sides = _sides(padding, overhang)
    cols, _ = _windows(xp, x, kernel_size, stride, sides, dilation)
    winner = cols.argmax(axis=2)
    _, kw = kernel_size
    rows, columns = winner.shape[2:]
    top, _, left, _ = sides
    row = stride[0] * xp.arange(rows).reshape(rows, 1) + dilation[0] * (winner // kw) - top
    column = stride[1] * xp.arange(columns).reshape(1, columns) + dilation[1] * (winner % kw) - left
    return (row * x.shape[3] + column).astype(xp.int64)


class AvgPool2d(Function):
    """y = the mean of each (KH, KW) window, moved by `stride`, over x padded with zeros: `padding` (rows,
    columns) on every side and `overhang` more at the bottom and right; the divisor as PyTorch's (above)."""

    twin = staticmethod(lambda x, kernel_size, stride, padding, overhang, count_include_pad, divisor_override:
                        composed.avg_pool2d(x, kernel_size, stride, padding, any(overhang), count_include_pad,
                                            divisor_override))

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, overhang, count_include_pad, divisor_override):
        xp = get_array_module(x)
        sides = _sides(padding, overhang)
        padded = _padded(xp, x, sides, 0)
        sums = im2col(xp, padded, kernel_size, stride, NO_DILATION).sum(axis=(2, 3))
        divisor = avg_pool2d_divisor(xp, x.dtype, x.shape[2:], kernel_size, stride, padding, overhang,
                                     count_include_pad, divisor_override)
        ctx.x_shape, ctx.padded_shape, ctx.kernel_size, ctx.stride, ctx.sides, ctx.dilation = (
            x.shape, padded.shape, kernel_size, stride, sides, NO_DILATION)
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
        return _gradient_to_input(xp, grad_cols, ctx), None, None, None, None, None, None


def avg_pool2d_divisor(xp, dtype, input_size, kernel_size, stride, padding, overhang, count_include_pad,
                       divisor_override):
    """D[p, q] of :class:`AvgPool2d` (shape (P, Q)): the window sums of a map of ones over the input (and its
    `padding` if count_include_pad), zeros over the rest of the padding and the overhang; or divisor_override."""
    (height, width), (rows, columns) = input_size, padding
    counted = (height + 2 * rows, width + 2 * columns) if count_include_pad else (height, width)
    skipped = (0, 0) if count_include_pad else padding
    ones = xp.ones((1, 1) + counted, dtype=dtype)
    ones = _padded(xp, ones, (skipped[0], skipped[0] + overhang[0], skipped[1], skipped[1] + overhang[1]), 0)
    divisor = im2col(xp, ones, kernel_size, stride, NO_DILATION).sum(axis=(2, 3))[0, 0]
    if divisor_override is not None:
        divisor = xp.full(divisor.shape, divisor_override, dtype=dtype)
    return divisor
