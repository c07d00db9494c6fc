"""The fused ops of ``minigrad.nn``: each layer's math as one Function with a hand-derived backward.

Call them through :mod:`minigrad.nn.functional`, which checks the arguments first; read them here, where each
file's docstring derives its backward step by step. :mod:`minigrad.nn.composed` builds the same functions from
primitive ops, for comparison. Class names follow :mod:`minigrad.ops` (``Exp``, ``MatMul``): the op's name, as the
graph node shows it. LayerNorm and BatchNorm have faster subclasses in :mod:`minigrad.nn.ops.fast`.
"""

from minigrad.nn.ops.activations import LogSoftmax, Softmax
from minigrad.nn.ops.attention import ScaledDotProductAttention
from minigrad.nn.ops.batch_norm import BatchNorm
from minigrad.nn.ops.conv import Conv2d
from minigrad.nn.ops.embedding import Embedding
from minigrad.nn.ops.group_norm import GroupNorm
from minigrad.nn.ops.layer_norm import LayerNorm
from minigrad.nn.ops.linear import Linear
from minigrad.nn.ops.pooling import AvgPool2d, MaxPool2d
from minigrad.nn.ops.losses import CrossEntropy, MSELoss
from minigrad.nn.ops.recurrent import LayerNormRNNCell, RNNCell
from minigrad.nn.ops.rms_norm import RMSNorm

__all__ = ["Linear", "Conv2d", "LayerNorm", "BatchNorm", "GroupNorm", "RNNCell", "LayerNormRNNCell", "MaxPool2d",
           "AvgPool2d", "Softmax", "LogSoftmax", "CrossEntropy", "MSELoss", "Embedding", "ScaledDotProductAttention",
           "RMSNorm"]
