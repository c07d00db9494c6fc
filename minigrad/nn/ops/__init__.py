"""The fused ops of ``minigrad.nn``: each layer's math as one Function with a hand-derived backward.

Call them through :mod:`minigrad.nn.functional`, which checks the arguments first; read them here, where each
file's docstring derives its backward step by step. :mod:`minigrad.nn.composed` builds the same functions from
primitive ops, for comparison.
"""

from minigrad.nn.ops.activations import LogSoftmaxFunction, SoftmaxFunction
from minigrad.nn.ops.linear import LinearFunction
from minigrad.nn.ops.losses import CrossEntropyFunction, MSELossFunction
from minigrad.nn.ops.normalization import BatchNormFunction, LayerNormFunction
from minigrad.nn.ops.recurrent import RNNCellFunction

__all__ = ["LinearFunction", "LayerNormFunction", "BatchNormFunction", "RNNCellFunction", "SoftmaxFunction",
           "LogSoftmaxFunction", "CrossEntropyFunction", "MSELossFunction"]
