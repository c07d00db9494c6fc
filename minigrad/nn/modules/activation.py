"""Elementwise nonlinearities as modules, for use inside ``Sequential``."""

from minigrad.nn import functional as F
from minigrad.nn.modules.module import Module


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x):
        return F.relu(x)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x):
        return F.tanh(x)
