"""``minigrad.nn``: layers built on minigrad's autograd, with PyTorch's names, defaults and state_dict keys.

Where to read:

- ``ops/``: each layer's math as one fused Function; the docstrings derive every backward step by step.
- ``functional.py``: those ops as functions (``F.layer_norm(x, (8,), weight, bias)``), with argument checks.
- ``composed.py``: the same functions built from primitive ops only, for comparison with the fused ones.
- ``modules/``: the layers as Modules that own their parameters (``Linear``, ``Conv2d``, ``LayerNorm``, ``RMSNorm``,
  ``BatchNorm1d``, ``BatchNorm2d``, ``GroupNorm``, ``InstanceNorm2d``, ``MaxPool2d``, ``AvgPool2d``,
  ``AdaptiveAvgPool2d``, ``RNNCell``, ``LayerNormRNNCell``, ``RNN``, ``LSTMCell``, ``LayerNormLSTMCell``, ``LSTM``,
  ``Embedding``, ``MultiheadAttention``, ``TransformerEncoderLayer``, ``TransformerEncoder``, ...).
- ``init.py``: initializers; ``utils.py``: gradient clipping and saving/loading a state_dict to ``.npz``.
"""

from minigrad.nn import composed, functional, init, utils
from minigrad.nn.modules import *  # noqa: F401,F403  (every layer, as torch.nn has them at the top)
from minigrad.nn.modules import __all__ as _modules

__all__ = [*_modules, "functional", "composed", "init", "utils"]
