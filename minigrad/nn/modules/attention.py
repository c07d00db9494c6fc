"""``MultiheadAttention``: h attention heads over learned projections of the queries, keys and values.

    Q = query W_q^T + b_q,  K = key W_k^T + b_k,  V = value W_v^T + b_v     (the rows of ``in_proj_weight``)
    split the E features into h heads of d = E / h features each
    head_i = softmax(Q_i K_i^T / sqrt(d) + mask) V_i                   (one scaled dot-product attention)
    output = concat(head_1, ..., head_h) W_o^T + b_o                    (``out_proj``)

Masks follow ``torch.nn.MultiheadAttention``, whose boolean masks say the opposite of
``F.scaled_dot_product_attention``'s: here True means "may NOT attend" (for ``attn_mask`` and for
``key_padding_mask``, True at padding keys); float masks are added to the scores in both. Both masks are turned into
one additive mask (-inf where masked) before the attention, as PyTorch does.
"""

import math

from minigrad.creation import zeros
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.modules.linear import Linear
from minigrad.nn.modules.module import Module, Parameter


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's parameters: ``in_proj_weight`` (3E, E) stacks W_q, W_k, W_v in that
    order (Xavier-uniform), ``in_proj_bias`` (3E,) starts at zero, ``out_proj`` is a Linear(E, E) whose bias starts
    at zero. Inputs are (L, N, E), or (N, L, E) with ``batch_first=True``, or unbatched (L, E).

    forward returns (output, weights): the attention weights (N, L, S), averaged over the heads unless
    ``average_attn_weights=False`` gives (N, h, L, S); None with ``need_weights=False``, which runs the fused
    :func:`~minigrad.nn.functional.scaled_dot_product_attention` (with weights, the scores, softmax and dropout
    are separate nodes, as PyTorch computes them on that path, so a fully masked query gives NaN weights and
    output there, and 0 output with ``need_weights=False``, as in PyTorch).

    ``is_causal=True`` is a hint that ``attn_mask`` is the causal mask, and needs ``attn_mask``, as in PyTorch:
    with ``need_weights=False`` and no ``key_padding_mask`` the causal mask is built and ``attn_mask`` itself is
    not read; otherwise ``attn_mask`` is used.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False):
        super().__init__()
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        if self.num_heads <= 0 or self.embed_dim % self.num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must lie in [0, 1], got {dropout}")
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(zeros(3 * self.embed_dim, self.embed_dim))
        self.register_parameter("in_proj_bias", Parameter(zeros(3 * self.embed_dim)) if bias else None)
        self.out_proj = Linear(self.embed_dim, self.embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        batched = query.ndim == 3
        self._check(query, key, value, key_padding_mask, attn_mask, is_causal, batched)
        if not batched:  # a batch of one, in the (L, N, E) layout
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        length, batch, source_length = query.shape[0], query.shape[1], key.shape[0]
        q, k, v = (self._heads(F.linear(x, *self._projection(index)), batch)
                   for index, x in enumerate((query, key, value)))  # each (N, h, L or S, d)
        dropout_p = self.dropout if self.training else 0.0
        if is_causal and key_padding_mask is None and not need_weights:
            attended, weights = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True), None
        else:
            mask = self._additive_mask(attn_mask, key_padding_mask, q.dtype, batch, length, source_length)
            if need_weights:
                scores = (q * (1.0 / math.sqrt(self.head_dim))) @ k.transpose(-2, -1)
                weights = F.softmax(scores if mask is None else scores + mask, -1)
                weights = F.dropout(weights, dropout_p) if dropout_p > 0 else weights
                attended = weights @ v
            else:
                attended, weights = F.scaled_dot_product_attention(q, k, v, mask, dropout_p), None
        output = self.out_proj(attended.transpose(1, 2).reshape(batch, length, self.embed_dim))  # (N, L, E)
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            return output[0], None if weights is None else weights[0]
        return (output if self.batch_first else output.transpose(0, 1)), weights

    def _projection(self, index):
        """W and b of the query (0), key (1) or value (2) projection: rows of the stacked in_proj."""
        rows = slice(index * self.embed_dim, (index + 1) * self.embed_dim)
        return self.in_proj_weight[rows], None if self.in_proj_bias is None else self.in_proj_bias[rows]

    def _heads(self, x, batch):
        """(T, N, E) -> (N, h, T, d): the features split into the heads, each head an attention problem."""
        return x.reshape(x.shape[0], batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def _additive_mask(self, attn_mask, key_padding_mask, dtype, batch, length, source_length):
        """attn_mask ((L, S) or (N h, L, S)) and key_padding_mask ((N, S)) as one float mask broadcasting to
        (N, h, L, S): -inf where a boolean mask is True, a float mask as it is, the two added."""
        mask = None
        if attn_mask is not None:
            mask = additive(attn_mask, dtype)
            if mask.ndim == 3:
                mask = mask.reshape(batch, self.num_heads, length, source_length)
        if key_padding_mask is not None:
            padding = additive(key_padding_mask, dtype).reshape(batch, 1, 1, source_length)
            mask = padding if mask is None else mask + padding
        return mask

    def _check(self, query, key, value, key_padding_mask, attn_mask, is_causal, batched):
        name = f"MultiheadAttention({self.embed_dim}, {self.num_heads})"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: query, key and value must all be 3-D (batched) or 2-D (unbatched), got "
                             f"shapes {query.shape}, {key.shape} and {value.shape}")
        for what, tensor in (("query", query), ("key", key), ("value", value)):
            if tensor.shape[-1] != self.embed_dim:
                raise ValueError(f"{name}: {what} must have embed_dim {self.embed_dim} features, got {tensor.shape}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{name}: key {key.shape} and value {value.shape} must have the same length and batch")
        batch_dim = 0 if self.batch_first else 1
        if batched and query.shape[batch_dim] != key.shape[batch_dim]:
            raise ValueError(f"{name}: query {query.shape} and key {key.shape} have different batch sizes")
        length = query.shape[-2] if not batched else query.shape[1 if self.batch_first else 0]
        source_length = key.shape[-2] if not batched else key.shape[1 if self.batch_first else 0]
        batch = 1 if not batched else query.shape[batch_dim]
        if is_causal and attn_mask is None:
            raise ValueError(f"{name}: is_causal=True is a hint that attn_mask is the causal mask and needs the "
                             "attn_mask itself (as in PyTorch)")
        shapes = {"attn_mask": [(length, source_length), (batch * self.num_heads, length, source_length)],
                  "key_padding_mask": [(batch, source_length) if batched else (source_length,)]}
        for what, mask in (("attn_mask", attn_mask), ("key_padding_mask", key_padding_mask)):
            if mask is None:
                continue
            if mask.dtype != bool and mask.dtype.kind != "f":
                raise ValueError(f"{name}: {what} must be boolean (True = may not attend) or float (added to the "
                                 f"scores), got dtype {mask.dtype}")
            if mask.shape not in shapes[what]:
                raise ValueError(f"{name}: {what} has shape {mask.shape}, expected one of {shapes[what]}")

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")


def additive(mask, dtype):
    """A boolean mask (True = masked) as a float mask of `dtype` with -inf there and 0 elsewhere; a float mask as
    it is, in `dtype`."""
    if mask.dtype == bool:
        return zeros(mask.shape, dtype=dtype, backend=mask.backend).masked_fill(mask, float("-inf"))
    return mask.astype(dtype)
