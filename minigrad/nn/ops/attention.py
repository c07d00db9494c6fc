"""Scaled dot-product attention as one graph node with a hand-derived backward.

Each of L queries q_i (rows of Q, shape (L, E)) asks which of S keys k_j (rows of K, (S, E)) it matches, and
returns the matching mix of the values v_j (rows of V, (S, Ev)):

    S_ij = scale * q_i . k_j            S = scale * Q K^T, (L, S); scale = 1/sqrt(E) unless given
    S_ij = -inf where (i, j) is masked  a boolean mask, False = masked; an additive float mask is added instead
    P_ij = exp(S_ij) / sum_k exp(S_ik)  P = softmax(S) along each row: query i's attention weights, summing to 1
    D    = P * M / (1 - p)              dropout of the weights (M a 0/1 mask, each 1 with probability 1 - p);
                                        D = P when p = 0
    O    = D V                          (L, Ev): output i is the weighted mean of the values

Leading (batch, head) dimensions are independent problems and broadcast as in matmul. ``is_causal`` masks
every key after the query's own position, j > i: the lower-triangular (L, S) matrix anchored at the top left,
as PyTorch's, also when L != S. A query whose row is masked everywhere has no softmax (0/0); PyTorch returns
zero weights there, so its output is 0 and no gradient flows through it, and so does this op.

Backward, given G = dL/dO. Walk the lines back up:

    dL/dV = D^T G                                  (O = D V is linear in V)
    dL/dD = G V^T                                  (and linear in D)
    dL/dP = dL/dD * M / (1 - p)                    (elementwise; dL/dP = dL/dD when p = 0)
    dL/dS_ik = sum_j dL/dP_ij P_ij (delta_jk - P_ik)       (the softmax Jacobian, row by row)
             = P_ik (dL/dP_ik - sum_j dL/dP_ij P_ij)
    i.e.  dS = P * (dP - rowsum(dP * P))
    dL/dQ = scale * dS K                           (S = scale Q K^T)
    dL/dK = scale * dS^T Q
    dL/d(float mask) = dS                          (it was added to S), summed over the dims it was broadcast

A masked entry has P_ij = 0, so its dS_ij = 0 as well: no gradient reaches the scores the mask removed, and
the fully masked rows (all P zero) send nothing back. Gradients of inputs that were broadcast over the batch
dimensions are summed over those dimensions.

Forward keeps P (L x S per problem, the one large array), the dropout mask, and Q, K, V; the composed twin in
:mod:`minigrad.nn.composed` keeps three L x S arrays (the scores before scaling, their exponentials and P), more
with dropout.
The dropout mask comes from minigrad's generator (``minigrad.manual_seed``), so it repeats exactly between runs
and between this op and its twin, but it cannot reproduce PyTorch's random stream.
"""

import math

from minigrad.autograd.broadcasting import unbroadcast
from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.backends import get_array_module
from minigrad.nn.ops.dropout import scaled_keep_mask


class ScaledDotProductAttention(Function):
    """O = dropout(softmax(scale Q K^T + mask)) V.    dV = D^T G; dP = G V^T (* M/(1-p)); dS = P (dP - rowsum(dP P));
    dQ = scale dS K; dK = scale dS^T Q   (derived above)."""

    twin = staticmethod(lambda *arguments: _twin(*arguments))

    @staticmethod
    def forward(ctx, query, key, value, attn_mask, dropout_p, is_causal, scale):
        xp = get_array_module(query)
        scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
        scores = (query @ xp.swapaxes(key, -1, -2)) * scale
        if attn_mask is not None:  # what a float mask's gradient must look like
            ctx.mask_shape, ctx.mask_dtype = attn_mask.shape, attn_mask.dtype
        if is_causal:
            attn_mask = xp.tril(xp.ones(scores.shape[-2:], dtype=bool))
        if attn_mask is not None and attn_mask.dtype == bool:
            scores = xp.where(attn_mask, scores, -xp.inf)
        elif attn_mask is not None:
            scores = scores + attn_mask.astype(scores.dtype)
        weights = masked_softmax(scores)
        keep = None if dropout_p == 0 else scaled_keep_mask(xp, weights.shape, weights.dtype, dropout_p)
        dropped = weights if keep is None else weights * keep
        ctx.save_for_backward(query, key, value, weights, keep)
        ctx.scale = scale
        return dropped @ value

    @staticmethod
    def backward(ctx, grad_output):
        query, key, value, weights, keep = ctx.saved_tensors
        xp = get_array_module(grad_output)
        needs_query, needs_key, needs_value, needs_mask = ctx.needs_input_grad[:4]
        grad_query = grad_key = grad_value = grad_mask = None
        if needs_value:
            dropped = weights if keep is None else weights * keep
            grad_value = unbroadcast(xp.swapaxes(dropped, -1, -2) @ grad_output, value.shape)
        if needs_query or needs_key or needs_mask:
            grad_weights = grad_output @ xp.swapaxes(value, -1, -2)
            if keep is not None:
                grad_weights = grad_weights * keep
            grad_scores = weights * (grad_weights - (grad_weights * weights).sum(axis=-1, keepdims=True))
            if needs_query:
                grad_query = unbroadcast((grad_scores @ key) * ctx.scale, query.shape)
            if needs_key:
                grad_key = unbroadcast((xp.swapaxes(grad_scores, -1, -2) @ query) * ctx.scale, key.shape)
            if needs_mask:
                grad_mask = unbroadcast(grad_scores, ctx.mask_shape).astype(ctx.mask_dtype)
        return grad_query, grad_key, grad_value, grad_mask, None, None, None


def masked_softmax(scores):
    """softmax along the last axis of raw `scores` that may hold -inf; a row that is -inf everywhere (a query
    that may attend to nothing) gives zeros, as PyTorch's attention does, instead of 0/0 = NaN."""
    xp = get_array_module(scores)
    row_max = scores.max(axis=-1, keepdims=True)
    row_max = xp.where(row_max == -xp.inf, 0.0, row_max)  # exp(-inf - 0) = 0 in the fully masked rows
    exponentials = xp.exp(scores - row_max)
    total = exponentials.sum(axis=-1, keepdims=True)
    return exponentials / xp.where(total == 0, 1.0, total)


def _twin(query, key, value, attn_mask, dropout_p, is_causal, scale):
    """The composed twin, for second derivatives; with dropout it would draw another mask than forward did."""
    if dropout_p > 0:
        raise RuntimeError("scaled_dot_product_attention: second derivatives (create_graph=True) with dropout_p > 0 "
                           "are not supported: differentiating the composed twin would draw a different dropout "
                           "mask from the one forward used. Use dropout_p=0 (or eval mode) for second derivatives.")
    return composed.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale)
