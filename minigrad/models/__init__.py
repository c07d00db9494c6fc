"""``minigrad.models``: whole models built from ``minigrad.nn``'s layers, for the lessons and the benchmark.

- ``CharTransformer``: a small decoder-only (GPT-like) character language model with post-LN or pre-LN blocks
  and LayerNorm, RMSNorm or no normalization (:mod:`minigrad.models.char_transformer`).
"""

from minigrad.models.char_transformer import Block, CausalSelfAttention, CharTransformer

__all__ = ["CharTransformer", "Block", "CausalSelfAttention"]
