"""The layers of ``minigrad.nn``, one file per family; :mod:`.module` has the base class they share."""

from minigrad.nn.modules.activation import ReLU, Tanh
from minigrad.nn.modules.container import Sequential
from minigrad.nn.modules.linear import Linear
from minigrad.nn.modules.lstm import LSTM, LayerNormLSTMCell, LSTMCell
from minigrad.nn.modules.module import Module, Parameter
from minigrad.nn.modules.normalization import BatchNorm1d, LayerNorm
from minigrad.nn.modules.rnn import RNN, LayerNormRNNCell, RNNCell

__all__ = ["Module", "Parameter", "Sequential", "Linear", "LayerNorm", "BatchNorm1d", "RNNCell",
           "LayerNormRNNCell", "RNN", "ReLU", "Tanh", "LSTMCell", "LayerNormLSTMCell", "LSTM"]
