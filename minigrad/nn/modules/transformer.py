"""The transformer encoder: self-attention and a feed-forward block, each with a residual connection and LayerNorm.

    post-LN (``norm_first=False``, the original transformer and BERT):
        x = norm1(x + dropout1(self_attn(x)))
        x = norm2(x + dropout2(ff(x)))
    pre-LN (``norm_first=True``, GPT-2 and most models since):
        x = x + dropout1(self_attn(norm1(x)))
        x = x + dropout2(ff(norm2(x)))
    ff(x) = linear2(dropout(activation(linear1(x))))

Post-LN normalizes the residual stream itself after every sub-layer; pre-LN leaves the stream alone and only
normalizes what each sub-layer reads, so the stream's variance grows with depth and a final LayerNorm
(``TransformerEncoder(norm=...)``) usually closes a pre-LN stack. Names and defaults are PyTorch's, so a
state_dict from ``torch.nn.TransformerEncoder`` loads unchanged.
"""

import copy

from minigrad.creation import arange, zeros
from minigrad.nn import functional as F
from minigrad.nn.modules.activation import Dropout
from minigrad.nn.modules.attention import MultiheadAttention
from minigrad.nn.modules.container import ModuleList
from minigrad.nn.modules.linear import Linear
from minigrad.nn.modules.module import Module
from minigrad.nn.modules.normalization import LayerNorm

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """One encoder block (see the module docstring). Masks as :class:`MultiheadAttention`'s: a boolean
    ``src_mask`` or ``src_key_padding_mask`` is True where attention is NOT allowed; ``is_causal=True`` is the
    hint that ``src_mask`` is the causal mask. ``activation`` is "relu", "gelu" or a callable."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True):
        super().__init__()
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation should be 'relu' or 'gelu' (or a callable), "
                                 f"not {activation!r}")
            activation = ACTIVATIONS[activation]
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _self_attention(self, x, mask, key_padding_mask, is_causal):
        output, _ = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
                                   is_causal=is_causal)
        return self.dropout1(output)

    def _feed_forward(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """`num_layers` deep copies of `encoder_layer` (each with its own parameters, all starting from the layer's),
    applied in turn, then `norm` if given. ``is_causal=None`` finds out whether `mask` is the causal mask, as
    PyTorch does, and passes that hint to the layers.

    PyTorch's encoder, in evaluation mode under ``no_grad`` with a ``src_key_padding_mask``, takes a fast path
    through nested tensors that returns zeros at the padded positions (``enable_nested_tensor=True``, its
    default); minigrad has one path, PyTorch's training-mode one, which computes those positions like any other
    (nothing attends to them, and the other positions agree)."""

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        if is_causal is None:
            is_causal = mask is not None and is_causal_mask(mask)
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return output if self.norm is None else self.norm(output)


def generate_square_subsequent_mask(size, dtype=None, backend=None):
    """The (size, size) causal float mask: 0 where key j <= query i, -inf above the diagonal, as PyTorch's
    ``nn.Transformer.generate_square_subsequent_mask``."""
    later = arange(size, backend=backend).reshape(1, -1) > arange(size, backend=backend).reshape(-1, 1)
    return zeros(size, size, dtype=dtype, backend=backend).masked_fill(later, float("-inf"))


def is_causal_mask(mask):
    """True if `mask` (boolean, True = masked, or float, -inf = masked) is exactly the square causal mask."""
    size = mask.shape[-1]
    if mask.shape != (size, size):
        return False
    causal = generate_square_subsequent_mask(size, backend=mask.backend)
    expected = causal == float("-inf") if mask.dtype == bool else causal.astype(mask.dtype)
    return bool((mask == expected).all().item())
