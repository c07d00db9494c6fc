"""``minigrad.models.CharTransformer`` written in PyTorch, layer for layer and with the same parameter names, so
that ``load_state_dict`` moves weights either way: the benchmark's PyTorch contender, and the reference the
model's tests compare against (forward, loss and every gradient in float64).

Nothing here is minigrad: torch.nn layers only, arranged as the minigrad model arranges its own."""

import torch


def _norm(norm_layer, embed_dim):
    if norm_layer == "layernorm":
        return torch.nn.LayerNorm(embed_dim)
    return torch.nn.RMSNorm(embed_dim) if norm_layer == "rmsnorm" else torch.nn.Identity()


class CausalSelfAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = torch.nn.Linear(embed_dim, 3 * embed_dim)
        self.out = torch.nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        batch, length, channels = x.shape
        query, key, value = (part.reshape(batch, length, self.num_heads, channels // self.num_heads).transpose(1, 2)
                             for part in self.qkv(x).split(channels, dim=-1))
        attended = torch.nn.functional.scaled_dot_product_attention(query, key, value, is_causal=True)
        return self.out(attended.transpose(1, 2).reshape(batch, length, channels))


class Block(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, norm, norm_layer):
        super().__init__()
        self.norm = norm
        self.norm1 = _norm(norm_layer, embed_dim)
        self.attention = CausalSelfAttention(embed_dim, num_heads)
        self.norm2 = _norm(norm_layer, embed_dim)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(embed_dim, 4 * embed_dim), torch.nn.GELU(),
                                       torch.nn.Linear(4 * embed_dim, embed_dim))

    def forward(self, x):
        if self.norm == "post":
            x = self.norm1(x + self.attention(x))
            return self.norm2(x + self.mlp(x))
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TorchCharTransformer(torch.nn.Module):
    """The same constructor arguments as CharTransformer but ``init``: load the weights from a minigrad model."""

    def __init__(self, vocab_size, context_length, embed_dim=64, num_heads=4, num_layers=2, norm="pre",
                 norm_layer="layernorm", tied=True):
        super().__init__()
        self.tied = tied
        self.token_embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.position_embedding = torch.nn.Embedding(context_length, embed_dim)
        self.blocks = torch.nn.ModuleList(Block(embed_dim, num_heads, norm, norm_layer) for _ in range(num_layers))
        self.final_norm = _norm(norm_layer, embed_dim) if norm == "pre" and norm_layer is not None else None
        if not tied:
            self.head = torch.nn.Linear(embed_dim, vocab_size, bias=False)

    def forward(self, ids):
        x = self.token_embedding(ids) + self.position_embedding(torch.arange(ids.shape[1]))
        for block in self.blocks:
            x = block(x)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return x @ self.token_embedding.weight.T if self.tied else self.head(x)


def from_minigrad(model, dtype=torch.float64):
    """The PyTorch twin of a minigrad CharTransformer, with its weights copied (strictly: the same names)."""
    twin = TorchCharTransformer(model.vocab_size, model.context_length, model.embed_dim, model.num_heads,
                                model.num_layers, model.norm, model.norm_layer, model.tied).to(dtype)
    twin.load_state_dict({key: torch.tensor(value.detach().to("numpy").numpy(), dtype=dtype)
                          for key, value in model.state_dict().items()})
    return twin
