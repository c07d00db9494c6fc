"""``minigrad.optim``: optimizers that update Parameters from their ``.grad`` (PyTorch's update rules)."""

from minigrad.optim.adam import Adam
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam"]
