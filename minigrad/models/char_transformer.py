"""A small decoder-only transformer over characters: GPT-2's shape, small enough to train on two CPU cores.

    ids (B, T) -> token embedding + position embedding -> N blocks -> [final norm] -> logits (B, T, vocab)

Each block is causal multi-head self-attention and a two-layer MLP with GELU, each added to the residual stream
x, with the normalization in one of two places (``norm``):

    "post" (the original Transformer, BERT):  x = norm1(x + attention(x));   x = norm2(x + mlp(x))
    "pre"  (GPT-2 and most models since):     x = x + attention(norm1(x));   x = x + mlp(norm2(x))

and ``final_norm`` applied to the last block's output in pre-LN, whose residual stream is otherwise never
normalized before the output layer (post-LN's last block already ends in a norm). ``norm_layer`` picks the
normalization: ``"layernorm"`` (``nn.LayerNorm``, eps 1e-5), ``"rmsnorm"`` (``nn.RMSNorm``, PyTorch's default eps)
or None (no normalization anywhere: ``nn.Identity``).

Attention is one fused op, ``F.scaled_dot_product_attention(q, k, v, is_causal=True)``: position t attends to
positions 0..t only, so the logits at t predict character t + 1 from what came before. There is no dropout.

Initialization, as GPT-2's (Radford et al. 2019; the values of its released code): every Linear weight and both
embeddings ~ N(0, 0.02^2), every bias 0, norm gains 1; and the two Linear layers that write into the residual
stream (``attention.out`` and ``mlp.2``) ~ N(0, (0.02 / sqrt(2 N))^2), so that the 2N additions to the stream
keep its variance about the same whatever the depth N. With ``tied=True`` the output layer is the token
embedding itself (logits = h @ token_embedding.weight^T, no separate parameter), as in GPT-2; ``tied=False``
adds a ``head`` Linear without bias.

``init="xavier"`` is instead the setting Xiong et al. (2020) analyse for post-LN and pre-LN: every Linear weight
(the head included) Glorot-uniform (variance 2 / (fan_in + fan_out); ``qkv`` counts fan_out = 3C, as
MultiheadAttention's stacked projection does), biases 0, embeddings ~ N(0, 1) (``nn.Embedding``'s default),
so that the residual stream and every branch added to it start at comparable scale. Under GPT-2's init a post-LN
block's branches start hundreds of times smaller than the stream they are added to, its norms barely change the
stream, and post-LN and pre-LN differ far less at the start (lesson 15 measures both). Use it with ``tied=False``: a tied output layer with N(0, 1) embeddings gives logits
of standard deviation about sqrt(embed_dim).
"""

import math

import numpy

from minigrad import arange, nn, no_grad, tensor
from minigrad.nn import functional as F
from minigrad.nn import init

NORMS = ("post", "pre")
NORM_LAYERS = {"layernorm": lambda size: nn.LayerNorm(size), "rmsnorm": lambda size: nn.RMSNorm(size),
               None: lambda size: nn.Identity()}
INITS = ("gpt2", "xavier")
INIT_STD = 0.02


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which each position sees only itself and the positions before it.

    ``qkv`` projects x (B, T, C) to queries, keys and values at once (its output split in that order), each viewed
    as (B, heads, T, C / heads); the heads attend independently, their outputs are concatenated back to (B, T, C)
    and mixed by ``out``.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"CausalSelfAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        batch, length, channels = x.shape
        head_dim = channels // self.num_heads
        query, key, value = (part.reshape(batch, length, self.num_heads, head_dim).transpose(1, 2)
                             for part in self.qkv(x).split(channels, dim=-1))
        attended = F.scaled_dot_product_attention(query, key, value, is_causal=True)
        return self.out(attended.transpose(1, 2).reshape(batch, length, channels))

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


class Block(nn.Module):
    """One transformer block: attention then MLP, each a residual branch, normalized after ("post") or before
    ("pre") as the module docstring shows. ``mlp`` is Linear(C, 4C), GELU, Linear(4C, C)."""

    def __init__(self, embed_dim, num_heads, norm="pre", norm_layer="layernorm"):
        super().__init__()
        self.norm = norm
        self.norm1 = NORM_LAYERS[norm_layer](embed_dim)
        self.attention = CausalSelfAttention(embed_dim, num_heads)
        self.norm2 = NORM_LAYERS[norm_layer](embed_dim)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, 4 * embed_dim), nn.GELU(), nn.Linear(4 * embed_dim, embed_dim))

    def forward(self, x):
        if self.norm == "post":
            x = self.norm1(x + self.attention(x))
            return self.norm2(x + self.mlp(x))
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CharTransformer(nn.Module):
    """``CharTransformer(vocab_size, context_length, embed_dim=64, num_heads=4, num_layers=2, norm="pre",
    norm_layer="layernorm", tied=True)(ids)``: next-character logits (B, T, vocab_size) for ids (B, T), T at most
    `context_length`. See the module docstring for the architecture and its initialization.

    Parameters: ``token_embedding.weight`` (vocab, C), ``position_embedding.weight`` (context_length, C),
    ``blocks.<i>.norm1``, ``.attention.qkv``, ``.attention.out``, ``.norm2``, ``.mlp.0``, ``.mlp.2``, then
    ``final_norm`` (pre-LN with a norm layer) and ``head.weight`` (untied).
    """

    def __init__(self, vocab_size, context_length, embed_dim=64, num_heads=4, num_layers=2, norm="pre",
                 norm_layer="layernorm", tied=True, init="gpt2"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"CharTransformer: norm must be 'post' or 'pre', not {norm!r}")
        if norm_layer not in NORM_LAYERS:
            raise ValueError(f"CharTransformer: norm_layer must be 'layernorm', 'rmsnorm' or None, not {norm_layer!r}")
        if init not in INITS:
            raise ValueError(f"CharTransformer: init must be 'gpt2' or 'xavier', not {init!r}")
        self.vocab_size, self.context_length = int(vocab_size), int(context_length)
        self.embed_dim, self.num_heads, self.num_layers = int(embed_dim), int(num_heads), int(num_layers)
        self.norm, self.norm_layer, self.tied, self.init = norm, norm_layer, tied, init
        self.token_embedding = nn.Embedding(self.vocab_size, self.embed_dim)
        self.position_embedding = nn.Embedding(self.context_length, self.embed_dim)
        self.blocks = nn.ModuleList(Block(self.embed_dim, self.num_heads, norm, norm_layer)
                                 for _ in range(self.num_layers))
        if norm == "pre" and norm_layer is not None:
            self.final_norm = NORM_LAYERS[norm_layer](self.embed_dim)
        if not tied:
            self.head = nn.Linear(self.embed_dim, self.vocab_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        """The initialization named by ``init`` (module docstring), drawn from minigrad's generator."""
        for module in self.modules():
            if isinstance(module, nn.Linear) and module.bias is not None:
                init.zeros_(module.bias)
            if self.init == "xavier" and isinstance(module, nn.Linear):
                init.xavier_uniform_(module.weight)
            elif isinstance(module, (nn.Linear, nn.Embedding)):
                init.normal_(module.weight, 0.0, 1.0 if self.init == "xavier" else INIT_STD)
        if self.init == "gpt2":
            for block in self.blocks:  # the two layers that add into the residual stream
                for layer in (block.attention.out, block.mlp[2]):
                    init.normal_(layer.weight, 0.0, INIT_STD / math.sqrt(2 * self.num_layers))

    def forward(self, ids):
        if ids.ndim != 2 or ids.shape[1] > self.context_length:
            raise ValueError(f"CharTransformer: expected ids of shape (batch, length) with length at most "
                             f"context_length={self.context_length}, got shape {ids.shape}")
        positions = arange(ids.shape[1], backend=ids.backend)
        x = self.token_embedding(ids) + self.position_embedding(positions)
        for block in self.blocks:
            x = block(x)
        if hasattr(self, "final_norm"):
            x = self.final_norm(x)
        return self.head(x) if not self.tied else x @ self.token_embedding.weight.T

    def generate(self, prompt, length, temperature=1.0, seed=0):
        """`prompt` (a sequence of ids) followed by `length` sampled ids, as a NumPy int64 array.

        Each new id is drawn from softmax(logits / temperature) at the last position, the model seeing at most the
        last `context_length` ids; ``temperature=0`` takes the most likely id instead. The draws come from a NumPy
        generator seeded by `seed` and nothing else, so the same seed and weights give the same text, whatever
        minigrad's global generator has done. Runs in evaluation mode without building a graph.
        """
        ids = [int(i) for i in numpy.asarray(prompt, dtype=numpy.int64).reshape(-1)]
        if not ids:
            raise ValueError("CharTransformer.generate: the prompt needs at least one id")
        if temperature < 0:
            raise ValueError(f"CharTransformer.generate: temperature must be >= 0, got {temperature}")
        rng = numpy.random.default_rng(seed)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(int(length)):
                    window = tensor([ids[-self.context_length:]], backend=self.token_embedding.weight.backend)
                    logits = self(window)[0, -1].numpy().astype(numpy.float64)
                    if temperature == 0:
                        ids.append(int(logits.argmax()))
                        continue
                    scaled = logits / temperature
                    probabilities = numpy.exp(scaled - scaled.max())
                    ids.append(int(rng.choice(self.vocab_size, p=probabilities / probabilities.sum())))
        finally:
            self.train(was_training)
        return numpy.array(ids, dtype=numpy.int64)

    def extra_repr(self):
        return (f"vocab_size={self.vocab_size}, context_length={self.context_length}, embed_dim={self.embed_dim}, "
                f"num_heads={self.num_heads}, num_layers={self.num_layers}, norm={self.norm!r}, "
                f"norm_layer={self.norm_layer!r}, tied={self.tied}")
