"""The layers of ``minigrad.nn``, one file per family; :mod:`.module` has the base class they share."""

from minigrad.nn.modules.activation import (GELU, Dropout, Flatten, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid,
                                            SiLU, Softmax, Tanh)
from minigrad.nn.modules.attention import MultiheadAttention
from minigrad.nn.modules.conv import Conv2d
from minigrad.nn.modules.container import ModuleDict, ModuleList, ParameterList, Sequential
from minigrad.nn.modules.linear import Linear
from minigrad.nn.modules.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                                      NLLLoss)
from minigrad.nn.modules.lstm import LSTM, LayerNormLSTMCell, LSTMCell
from minigrad.nn.modules.module import Module, Parameter
from minigrad.nn.modules.normalization import (BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm,
                                               RMSNorm)
from minigrad.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from minigrad.nn.modules.rnn import RNN, LayerNormRNNCell, RNNCell
from minigrad.nn.modules.sparse import Embedding
from minigrad.nn.modules.transformer import TransformerEncoder, TransformerEncoderLayer

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "Linear", "Conv2d",
           "LayerNorm", "RMSNorm",
           "BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm2d", "MaxPool2d", "AvgPool2d",
           "AdaptiveAvgPool2d", "RNNCell", "LayerNormRNNCell", "RNN", "ReLU", "Tanh", "Sigmoid", "Softmax",
           "LogSoftmax", "GELU", "SiLU", "LeakyReLU", "Identity", "Flatten", "Dropout", "CrossEntropyLoss", "NLLLoss", "MSELoss",
           "BCELoss", "BCEWithLogitsLoss", "L1Loss", "HuberLoss", "LSTMCell", "LayerNormLSTMCell", "LSTM",
           "Embedding", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]
