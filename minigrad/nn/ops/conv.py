"""Two-dimensional convolution (PyTorch's cross-correlation) as one graph node with a hand-derived backward.

For x of shape (N, C, H, W), a weight of shape (O, C/G, KH, KW) in G groups, bias (O,), stride s, dilation d and
zero padding (x is padded first, so below x means the padded input), output channel o of group g(o) is

    y[n, o, p, q] = b[o] + sum_{c in group g(o)} sum_{i, j} w[o, c, i, j] x[n, c, s p + d i, s q + d j]

with p < P = (H - d (KH - 1) - 1) // s + 1 and q < Q likewise.

Forward by im2col. For each kernel offset (i, j) the numbers x[n, c, s p + d i, s q + d j] over all (p, q) are one
strided slice of x, x[:, :, d i : ... : s, d j : ... : s]; stacking the KH KW slices gives the "columns"

    cols[n, c, i, j, p, q] = x[n, c, s p + d i, s q + d j]         (N, C, KH, KW, P, Q)

and the sum over (c, i, j) becomes one matrix product per group: with K = (C/G) KH KW,

    y[n, g] = W_g @ cols[n, g]        W_g of shape (O/G, K),  cols[n, g] of shape (K, P Q).

The loop runs over the KH KW kernel offsets (9 for a 3x3 kernel), never over pixels; the arithmetic is the matmul.

Backward, from g = dL/dy (N, O, P, Q), reading the same sum the other way:

    dL/db[o]          = sum_{n, p, q} g[n, o, p, q]
    dL/dw[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x[n, c, s p + d i, s q + d j]
                      -> dL/dW_g = sum_n g[n, g] @ cols[n, g]^T
    a correlation of the input with dL/dy: the weight gradient is itself a convolution, of x by g.

    dL/dx[n, c, h, v] = sum over every (o, i, j, p, q) with s p + d i = h, s q + d j = v of g[n, o, p, q] w[o, c, i, j]
                      -> dcols[n, g] = W_g^T @ g[n, g], then every column is added back where it was read from
                         (col2im: dx[:, :, d i : ... : s, d j : ... : s] += dcols[:, :, i, j])

That last step is a transposed convolution of dL/dy: g spread out with stride s (s - 1 zeros between its
entries), padded by d (K - 1) on each side (and by the rows and columns no window reached), correlated with the kernel dilated by d, flipped in i and j, and with
its in and out channels swapped (within each group). Reading it as "add each column back where forward
read it" is the same sum without building the spread-out g. Finally the padding is cut off: positions of the
padded input that were zeros get gradients, but they are no inputs.
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.backends import get_array_module


class Conv2d(Function):
    """y = conv2d(x, weight) + bias for x (N, C, H, W) and weight (O, C/groups, KH, KW); bias may be None.

    `padding` is (top, bottom, left, right) zeros, `stride` and `dilation` are (rows, columns).
    """

    twin = staticmethod(lambda *arguments: composed.conv2d(*arguments))

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        xp = get_array_module(x)
        top, bottom, left, right = padding
        padded = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right))) if any(padding) else x
        cols = im2col(xp, padded, weight.shape[2:], stride, dilation)
        n, channels, kh, kw, rows, columns = cols.shape
        out_channels = weight.shape[0]
        cols = cols.reshape(n, groups, channels // groups * kh * kw, rows * columns)  # (N, G, K, P Q)
        weight_groups = weight.reshape(groups, out_channels // groups, -1)               # (G, O/G, K)
        output = (weight_groups @ cols).reshape(n, out_channels, rows, columns)
        if bias is not None:
            output += bias.reshape(1, out_channels, 1, 1)
        ctx.save_for_backward(cols, weight_groups)
        ctx.geometry = (x.shape, padded.shape, weight.shape, stride, padding, dilation, groups)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        cols, weight_groups = ctx.saved_tensors
        x_shape, padded_shape, weight_shape, stride, padding, dilation, groups = ctx.geometry
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        xp = get_array_module(grad_output)
        n, out_channels, rows, columns = grad_output.shape
        grad_groups = grad_output.reshape(n, groups, out_channels // groups, rows * columns)  # (N, G, O/G, P Q)
        grad_x = grad_weight = grad_bias = None
        if needs_bias:
            grad_bias = grad_output.sum(axis=(0, 2, 3))
        if needs_weight:  # sum_n g[n, g] @ cols[n, g]^T
            grad_weight = (grad_groups @ cols.swapaxes(-1, -2)).sum(axis=0).reshape(weight_shape)
        if needs_x:
            grad_cols = weight_groups.swapaxes(-1, -2) @ grad_groups                      # (N, G, K, P Q)
            kh, kw = weight_shape[2:]
            grad_cols = grad_cols.reshape(n, padded_shape[1], kh, kw, rows, columns)
            grad_padded = col2im(xp, grad_cols, padded_shape, stride, dilation)
            top, _, left, _ = padding
            grad_x = grad_padded[:, :, top:top + x_shape[2], left:left + x_shape[3]]
        return grad_x, grad_weight, grad_bias, None, None, None, None


def output_size(size, kernel, stride, dilation):
    """Positions of a kernel of `kernel` taps `dilation` apart, moved by `stride` over `size` (padded) numbers."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def window(offset, count, stride):
    """The slice of the positions s p + offset for p = 0 .. count - 1."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def im2col(xp, padded, kernel_size, stride, dilation):
    """cols[n, c, i, j, p, q] = padded[n, c, s p + d i, s q + d j]: one strided slice per kernel offset (i, j)."""
    n, channels, height, width = padded.shape
    kh, kw = kernel_size
    rows, columns = (output_size(height, kh, stride[0], dilation[0]),
                     output_size(width, kw, stride[1], dilation[1]))
    cols = xp.empty((n, channels, kh, kw, rows, columns), dtype=padded.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = padded[:, :, window(dilation[0] * i, rows, stride[0]),
                                      window(dilation[1] * j, columns, stride[1])]
    return cols


def col2im(xp, cols, padded_shape, stride, dilation):
    """The adjoint of :func:`im2col`: add every column back at the positions it was read from."""
    _, _, kh, kw, rows, columns = cols.shape
    padded = xp.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, window(dilation[0] * i, rows, stride[0]),
                   window(dilation[1] * j, columns, stride[1])] += cols[:, :, i, j]
    return padded
