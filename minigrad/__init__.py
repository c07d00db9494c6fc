"""minigrad: a small tensor library with reverse-mode autograd, written to be read.

    import minigrad
    x = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    loss = (x.tanh() * x).sum()
    loss.backward()
    x.grad            # dL/dx

Where to read: ``tensor.py`` (the Tensor), ``autograd/function.py`` (the op API), ``autograd/engine.py``
(backward), ``ops/`` (every primitive op with its derivative), ``nn/ops/`` (the layers' fused ops),
``autograd/gradcheck.py`` (finite differences).
"""

import numpy as _numpy

from minigrad.tensor import Tensor  # first: the engine, Function and the ops all build on the Tensor class

from minigrad import ops as _ops  # noqa: I001
from minigrad.autograd import (Context, Function, GradcheckError, detect_anomaly, enable_grad, gradcheck,
                               is_grad_enabled, no_grad, unbroadcast)
from minigrad.backends import (BackendUnavailableError, get_array_module, get_backend, set_backend,
                               use_backend)
from minigrad.creation import (arange, full, get_default_dtype, ones, ones_like, rand, randn, set_default_dtype,
                               tensor, zeros, zeros_like)
from minigrad.denormals import get_flush_denormal, set_flush_denormal
from minigrad.fast_path import fast_kernels_enabled, set_fast_kernels
from minigrad.random import manual_seed

__version__ = "0.1.0"

float32 = _numpy.float32
float64 = _numpy.float64
int64 = _numpy.int64


# Module-level functions where NumPy has one of the same name.
def exp(x):
    return _ops.Exp.apply(x)


def log(x):
    return _ops.Log.apply(x)


def sqrt(x):
    return _ops.Sqrt.apply(x)


def tanh(x):
    return _ops.Tanh.apply(x)


def abs(x):  # noqa: A001  (NumPy's name)
    return _ops.Abs.apply(x)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return _ops.Sum.apply(x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _ops.Mean.apply(x, axis, keepdims)


def var(x, axis=None, ddof=0, keepdims=False):
    return _ops.Var.apply(x, axis, ddof, keepdims)


def matmul(a, b):
    return _ops.MatMul.apply(a, b)


def maximum(a, b):
    return _ops.Maximum.apply(a, b)


def minimum(a, b):
    return _ops.Minimum.apply(a, b)


def reshape(x, shape):
    return _ops.Reshape.apply(x, tuple(shape) if not isinstance(shape, int) else (shape,))


def transpose(x, axes=None):
    return _ops.Transpose.apply(x, None if axes is None else tuple(axes))


def broadcast_to(x, shape):
    return _ops.BroadcastTo.apply(x, tuple(shape))


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing axis."""
    return _ops.Concatenate.apply(axis, *tensors)


def stack(tensors, axis=0):
    """Join a sequence of same-shaped tensors along a new axis."""
    return _ops.Stack.apply(axis, *tensors)


def where(condition, x, y):
    """Elements of `x` where `condition` holds, of `y` elsewhere (all three broadcast)."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return _ops.Where.apply(condition, x, y)


__all__ = ["Tensor", "tensor", "Function", "Context", "gradcheck", "GradcheckError", "unbroadcast", "no_grad",
           "enable_grad", "is_grad_enabled", "detect_anomaly", "manual_seed", "set_default_dtype",
           "get_default_dtype", "set_backend", "get_backend", "use_backend", "get_array_module",
           "BackendUnavailableError", "set_fast_kernels", "fast_kernels_enabled", "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "randn",
           "rand", "exp", "log", "sqrt", "tanh", "abs", "sum", "mean", "var", "matmul", "maximum", "minimum",
           "reshape", "transpose", "broadcast_to", "concatenate", "stack", "where", "float32", "float64", "int64"]


_LAZY_SUBPACKAGES = ("nn", "optim", "data")


def __getattr__(name):
    """``minigrad.nn``, ``minigrad.optim`` and ``minigrad.data`` load on first use, not with ``import minigrad``:
    the engine stands on its own (homework runs it without the layers)."""
    if name in _LAZY_SUBPACKAGES:
        import importlib
        return importlib.import_module(f"minigrad.{name}")
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
