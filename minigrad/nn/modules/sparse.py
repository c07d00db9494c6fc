"""``Embedding``: a table of learned vectors, one per token (the math is in :mod:`minigrad.nn.ops.embedding`)."""

from minigrad.creation import zeros
from minigrad.nn import functional as F
from minigrad.nn import init, validation
from minigrad.nn.modules.module import Module, Parameter


class Embedding(Module):
    """y = weight[indices] for integer indices of any shape; weight (num_embeddings, embedding_dim) ~ N(0, 1), as
    PyTorch's, with the row `padding_idx` (if given) zero and kept out of every gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = F.embedding_padding_idx("Embedding", padding_idx, self.num_embeddings)
        self.weight = Parameter(zeros(self.num_embeddings, self.embedding_dim))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input):  # noqa: A002  (PyTorch's name)
        described = validation.Described(self)
        validation.require_tensor(described, input)
        validation.check_indices(described, input, self.num_embeddings)
        return F.apply_embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
