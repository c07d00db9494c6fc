"""The affine map of a fully connected layer, as one graph node.

Forward, for x of shape (..., in), W of shape (out, in) and b of shape (out,):

    y = x @ W^T + b,        y[n, o] = sum_i x[n, i] W[o, i] + b[o]

(every leading axis of x is a batch axis; view x as a matrix of shape (n, in) with n the product of them).

Backward, from dL/dy (written g, shape (n, out)), one index at a time:

    dL/dx[n, i] = sum_o g[n, o] dy[n, o]/dx[n, i] = sum_o g[n, o] W[o, i]    ->  dL/dx = g @ W
    dL/dW[o, i] = sum_n g[n, o] dy[n, o]/dW[o, i] = sum_n g[n, o] x[n, i]    ->  dL/dW = g^T @ x
    dL/db[o]    = sum_n g[n, o]                                              ->  dL/db = g summed over the batch

W and b are shared by every row of the batch, so their gradients are sums over the batch: the multivariable
chain rule adds up the contributions of each use. Composed from primitives, the same layer is three nodes
(transpose, matmul, add) that keep the same two arrays, x and W (W^T is a view); fused, it is one node, with one
output-sized temporary fewer (the bias is added in place).
"""

import math

from minigrad.autograd.function import Function


class Linear(Function):
    """y = x @ W^T + b.    dL/dx = g @ W,  dL/dW = g^T @ x,  dL/db = sum of g over the batch (derived above)."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        output = x @ weight.T
        if bias is not None:
            output += bias  # in place: output is a fresh array, so no second array of its size is made
        return output

    @staticmethod
    def backward(ctx, grad_output):
        x, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad
        out_features, in_features = weight.shape
        rows = math.prod(x.shape[:-1])  # n: every leading axis is a batch axis (named, as -1 is ambiguous at size 0)
        grad_rows = grad_output.reshape(rows, out_features)  # (n, out)
        grad_x = grad_weight = grad_bias = None
        if needs_x:
            grad_x = grad_output @ weight
        if needs_weight:
            grad_weight = grad_rows.T @ x.reshape(rows, in_features)
        if needs_bias:
            grad_bias = grad_rows.sum(axis=0)
        return grad_x, grad_weight, grad_bias
