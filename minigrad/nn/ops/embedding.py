"""Embedding lookup as one graph node: row i of the output is row indices[i] of the weight table.

    y[..., :] = W[indices[...], :]          W of shape (num_embeddings, embedding_dim)

Backward. y is a selection of W's rows, so dL/dW is zero except at the selected rows, and a row selected several
times (a token that occurs twice in a batch) collects the sum of the gradients of all its uses:

    dL/dW[r, :] = sum over positions p with indices[p] == r of dL/dy[p, :]

an add-at (scatter-add), never an assignment, which would keep only the last use. With ``padding_idx`` the row
of the padding token gets no gradient at all (it stays where it was initialized, zeros by default), as
PyTorch's ``padding_idx``: padding positions then leave the table untouched. The indices are integers and get
no gradient.
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.backends import get_array_module


class Embedding(Function):
    """y = weight[indices].    dL/dweight = add-at of dL/dy into the selected rows, zero at padding_idx."""

    twin = staticmethod(lambda *arguments: composed.embedding(*arguments))

    @staticmethod
    def forward(ctx, indices, weight, padding_idx):
        ctx.save_for_backward(indices)
        ctx.weight_shape, ctx.padding_idx = weight.shape, padding_idx
        return weight[indices]

    @staticmethod
    def backward(ctx, grad_output):
        (indices,) = ctx.saved_tensors
        xp = get_array_module(grad_output)
        grad_weight = xp.zeros(ctx.weight_shape, dtype=grad_output.dtype)
        xp.add.at(grad_weight, indices.reshape(-1), grad_output.reshape(-1, ctx.weight_shape[1]))
        if ctx.padding_idx is not None:
            grad_weight[ctx.padding_idx] = 0
        return None, grad_weight, None
