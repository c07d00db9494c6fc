"""Parameter initialization, in place, with every draw from minigrad's generator.

The numbers are drawn on the host by ``minigrad.random.generator()`` (so ``minigrad.manual_seed`` reproduces
them, on every backend) and then moved to the tensor's backend and dtype. Each function replaces the tensor's
data and returns the tensor, like PyTorch's ``torch.nn.init`` functions with a trailing underscore.

The layers' defaults, PyTorch's: Linear draws weight and bias from U(-1/sqrt(in), 1/sqrt(in));
RNNCell draws every weight and bias from U(-1/sqrt(hidden), 1/sqrt(hidden)); LayerNorm and BatchNorm start at
gain 1 and shift 0.
"""

import numpy

from minigrad import random


def _fill(tensor, host_values):
    tensor.data = tensor.xp.asarray(numpy.asarray(host_values, dtype=tensor.dtype))
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with draws from U(a, b)."""
    return _fill(tensor, random.generator().uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with draws from N(mean, std^2)."""
    return _fill(tensor, random.generator().normal(mean, std, size=tensor.shape))


def constant_(tensor, value):
    return _fill(tensor, numpy.full(tensor.shape, value))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def orthogonal_(tensor, gain=1.0):
    """Fill a 2-D tensor with a (semi-)orthogonal matrix times `gain` (Saxe et al., 2014).

    The Q factor of the QR decomposition of a Gaussian matrix, with the signs of R's diagonal moved into Q so
    that Q is uniformly distributed. A square orthogonal W_hh preserves the norm of the hidden state it
    multiplies, which is why it is the usual starting point for recurrent weights.
    """
    if tensor.ndim != 2:
        raise ValueError(f"orthogonal_: needs a 2-D tensor, got shape {tensor.shape}")
    rows, columns = tensor.shape
    gaussian = random.generator().standard_normal((max(rows, columns), min(rows, columns)))
    q, r = numpy.linalg.qr(gaussian)
    q = q * numpy.sign(numpy.diag(r))
    if rows < columns:
        q = q.T
    return _fill(tensor, gain * q)


def uniform_fan_in_(tensor, fan_in):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear and RNN layers (0 for a layer with no
    inputs, as in PyTorch: its bias starts at 0)."""
    bound = 1.0 / numpy.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(tensor, -bound, bound)


def xavier_uniform_(tensor, gain=1.0):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) for a 2-D (out, in) weight (Glorot and Bengio, 2010):
    the variance that keeps activations and gradients at one scale in both directions. MultiheadAttention's
    stacked projection (3E, E) counts fan_out = 3E, as PyTorch does."""
    if tensor.ndim != 2:
        raise ValueError(f"xavier_uniform_: needs a 2-D tensor, got shape {tensor.shape}")
    fan_out, fan_in = tensor.shape
    bound = gain * numpy.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


__all__ = ["uniform_", "normal_", "constant_", "zeros_", "ones_", "orthogonal_", "uniform_fan_in_", "xavier_uniform_"]
