"""``minigrad.optim``: optimizers that update Parameters from their ``.grad`` (PyTorch's update rules), and
``lr_scheduler`` for learning-rate schedules."""

from minigrad.optim import lr_scheduler
from minigrad.optim.adam import Adam
from minigrad.optim.adamw import AdamW
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
