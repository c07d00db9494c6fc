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

from minigrad.tensor import Tensor, ValuesIndices, _where  # first: the engine, Function and the ops build on it

from minigrad import ops as _ops  # noqa: I001
from minigrad import autograd  # noqa: F401  (minigrad.autograd.grad, as torch.autograd.grad)
from minigrad.autograd import (Context, Function, GradcheckError, detect_anomaly, enable_grad, gradcheck,
                               gradgradcheck, is_grad_enabled, no_grad, unbroadcast)
from minigrad.backends import (BackendUnavailableError, get_array_module, get_backend, set_backend,
                               use_backend)
from minigrad.creation import (arange, empty, eye, full, full_like, get_default_dtype, linspace, ones, ones_like,
                               rand, rand_like, randint, randn, randn_like, set_default_dtype, tensor, zeros,
                               zeros_like)
from minigrad.functions import bmm, dot, einsum, mv, outer, tensordot
from minigrad.denormals import get_flush_denormal, set_flush_denormal
from minigrad.fast_path import fast_kernels_enabled, set_fast_kernels
from minigrad.random import manual_seed
from minigrad import heap as _heap

if _heap.enabled_by_environment():
    _heap.keep_freed_memory()  # a training step reuses the memory the last one freed (see minigrad/heap.py)

__version__ = "0.1.0"

float32 = _numpy.float32
float64 = _numpy.float64
int64 = _numpy.int64


# Module-level functions: each calls the Tensor method of the same name (one implementation, two spellings that
# PyTorch also has), or a function of minigrad.functions.
def exp(input):  # noqa: A002  (PyTorch's argument name)
    return input.exp()


def log(input):  # noqa: A002
    return input.log()


def sqrt(input):  # noqa: A002
    return input.sqrt()


def tanh(input):  # noqa: A002
    return input.tanh()


def sigmoid(input):  # noqa: A002
    return input.sigmoid()


def abs(input):  # noqa: A001, A002  (PyTorch's and NumPy's name)
    return input.abs()


def clamp(input, min=None, max=None):  # noqa: A002
    return input.clamp(min, max)


clip = clamp


def sum(input, dim=None, keepdim=False, **numpy_aliases):  # noqa: A001, A002
    return input.sum(dim, keepdim, **numpy_aliases)


def mean(input, dim=None, keepdim=False, **numpy_aliases):  # noqa: A002
    return input.mean(dim, keepdim, **numpy_aliases)


def var(input, dim=None, unbiased=None, keepdim=False, **options):  # noqa: A002
    """Variance over `dim`, unbiased (correction=1) unless ``correction``, ``unbiased`` or ``ddof`` says otherwise."""
    return input.var(dim, unbiased, keepdim, **options)


def std(input, dim=None, unbiased=None, keepdim=False, **options):  # noqa: A002
    return input.std(dim, unbiased, keepdim, **options)


def prod(input, dim=None, keepdim=False, **numpy_aliases):  # noqa: A002
    return input.prod(dim, keepdim, **numpy_aliases)


def amax(input, dim=None, keepdim=False, **numpy_aliases):  # noqa: A002
    return input.amax(dim, keepdim, **numpy_aliases)


def amin(input, dim=None, keepdim=False, **numpy_aliases):  # noqa: A002
    return input.amin(dim, keepdim, **numpy_aliases)


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    return input.logsumexp(dim, keepdim)


def cumsum(input, dim):  # noqa: A002
    return input.cumsum(dim)


def matmul(a, b):
    return a @ b if isinstance(a, Tensor) else b.__rmatmul__(a)


def maximum(a, b):
    return a.maximum(b) if isinstance(a, Tensor) else b.maximum(a)


def minimum(a, b):
    return a.minimum(b) if isinstance(a, Tensor) else b.minimum(a)


def reshape(input, shape):  # noqa: A002
    return input.reshape(shape if not isinstance(shape, int) else (shape,))


def transpose(input, dim0, dim1):  # noqa: A002
    """Swap dims `dim0` and `dim1` (PyTorch's ``transpose``; ``permute`` reorders all of them)."""
    return input.transpose(dim0, dim1)


def permute(input, dims):  # noqa: A002
    return input.permute(dims)


def broadcast_to(input, shape):  # noqa: A002
    return input.broadcast_to(shape)


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing axis."""
    return _ops.Concatenate.apply(axis, *tensors)


def stack(tensors, axis=0):
    """Join a sequence of same-shaped tensors along a new axis."""
    return _ops.Stack.apply(axis, *tensors)


def where(condition, x, y):
    """Elements of `x` where `condition` holds, of `y` elsewhere (all three broadcast; x and y promote)."""
    return _where(condition, x, y)


def gather(input, dim, index):  # noqa: A002
    return input.gather(dim, index)


def take_along_dim(input, indices, dim):  # noqa: A002
    return input.take_along_dim(indices, dim)


def index_select(input, dim, index):  # noqa: A002
    return input.index_select(dim, index)


def scatter_add(input, dim, index, src):  # noqa: A002
    return input.scatter_add(dim, index, src)


def sort(input, dim=-1, descending=False):  # noqa: A002
    return input.sort(dim, descending)


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    return input.topk(k, dim, largest, sorted)


__all__ = ["Tensor", "tensor", "Function", "Context", "gradcheck", "gradgradcheck", "GradcheckError", "autograd", "unbroadcast", "no_grad",
           "enable_grad", "is_grad_enabled", "detect_anomaly", "manual_seed", "set_default_dtype",
           "get_default_dtype", "set_backend", "get_backend", "use_backend", "get_array_module",
           "BackendUnavailableError", "ValuesIndices",
           "zeros", "ones", "full", "empty", "eye", "linspace", "arange", "randn", "rand", "randint", "zeros_like",
           "ones_like", "full_like", "rand_like", "randn_like",
           "exp", "log", "sqrt", "tanh", "sigmoid", "abs", "clamp", "clip", "sum", "mean", "var", "std", "prod",
           "amax", "amin", "logsumexp", "cumsum", "matmul", "maximum", "minimum", "reshape", "transpose", "permute",
           "broadcast_to", "concatenate", "stack", "where", "gather", "take_along_dim", "index_select",
           "scatter_add", "sort", "topk", "einsum", "dot", "mv", "bmm", "outer", "tensordot",
           "float32", "float64", "int64"]


_LAZY_SUBPACKAGES = ("nn", "optim", "data", "viz")


def __getattr__(name):
    """``minigrad.nn``, ``minigrad.optim``, ``minigrad.data`` and ``minigrad.viz`` load on first use, not with
    ``import minigrad``: the engine stands on its own (homework runs it without the layers)."""
    if name in _LAZY_SUBPACKAGES:
        import importlib
        return importlib.import_module(f"minigrad.{name}")
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
