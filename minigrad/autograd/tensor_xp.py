"""The array module ``xp`` that a backward sees while a graph of the backward is being recorded.

Under ``backward(create_graph=True)`` or ``autograd.grad(..., create_graph=True)`` the engine calls each op's
``backward`` with Tensors instead of arrays, and ``minigrad.get_array_module(tensor)`` returns this module's
namespace instead of NumPy (or CuPy). Its functions have NumPy's names and arguments and compute with minigrad's
Tensor ops, so the ``backward`` a student wrote for arrays, ``xp.exp(-x) * grad_output``, records a graph that can be
differentiated again, without a second version of the op.

Arrays and numbers passed in (masks, constants) are constants; a name NumPy has and this namespace does not raises
an AttributeError that says so, rather than running NumPy on the data and silently cutting the graph.
"""

import math

from minigrad import ops
from minigrad.tensor import Tensor, _where


class TensorNamespace:
    """NumPy's functions on the Tensors of one backend (`module`: numpy, cupy or strict)."""

    def __init__(self, module):
        self.module = module
        self.__name__ = f"minigrad.autograd.tensor_xp({module.__name__})"

    def _tensor(self, value):
        return value if isinstance(value, Tensor) else Tensor(self.module.asarray(value))

    # elementwise
    def exp(self, x):
        return self._tensor(x).exp()

    def log(self, x):
        return self._tensor(x).log()

    def sqrt(self, x):
        return self._tensor(x).sqrt()

    def tanh(self, x):
        return self._tensor(x).tanh()

    def sin(self, x):
        return self._tensor(x).sin()

    def cos(self, x):
        return self._tensor(x).cos()

    def abs(self, x):
        return self._tensor(x).abs()

    absolute = abs

    def sign(self, x):
        return self._tensor(x).sign()

    def log1p(self, x):
        return self._tensor(x).log1p()

    def expm1(self, x):
        return self._tensor(x).expm1()

    def log2(self, x):
        return self._tensor(x).log2()

    def log10(self, x):
        return self._tensor(x).log10()

    def exp2(self, x):
        return self._tensor(x).exp2()

    def square(self, x):
        return self._tensor(x).square()

    def reciprocal(self, x):
        return self._tensor(x).reciprocal()

    def clip(self, x, low, high):
        return self._tensor(x).clamp(low, high)

    def maximum(self, a, b):
        return self._tensor(a).maximum(b) if isinstance(a, Tensor) else self._tensor(b).maximum(a)

    def minimum(self, a, b):
        return self._tensor(a).minimum(b) if isinstance(a, Tensor) else self._tensor(b).minimum(a)

    def where(self, condition, a, b):
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # a constant, with NumPy's dtype rules
            return Tensor(self.module.asarray(self.module.where(getattr(condition, "data", condition), a, b)))
        return _where(condition, a, b)

    def isfinite(self, x):
        return self._tensor(x).isfinite()

    def isnan(self, x):
        return self._tensor(x).isnan()

    # reductions, shapes, products
    def sum(self, x, axis=None, keepdims=False):
        return self._tensor(x).sum(axis=axis, keepdims=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return self._tensor(x).mean(axis=axis, keepdims=keepdims)

    def cumsum(self, x, axis):
        return self._tensor(x).cumsum(axis)

    def reshape(self, x, shape):
        return self._tensor(x).reshape(shape)

    def broadcast_to(self, x, shape):
        return self._tensor(x).broadcast_to(shape)

    def transpose(self, x, axes=None):
        return ops.Transpose.apply(self._tensor(x), None if axes is None else tuple(axes))

    def swapaxes(self, x, first, second):
        return self._tensor(x).transpose(first, second)

    def flip(self, x, axis):
        return self._tensor(x)[(slice(None),) * (axis % x.ndim) + (slice(None, None, -1),)]

    def split(self, x, sections, axis=0):
        x = self._tensor(x)
        size = x.shape[axis] // sections
        return list(x.split(size, axis))

    def concatenate(self, arrays, axis=0):
        return ops.Concatenate.apply(axis, *(self._tensor(a) for a in arrays))

    def stack(self, arrays, axis=0):
        return ops.Stack.apply(axis, *(self._tensor(a) for a in arrays))

    def matmul(self, a, b):
        return self._tensor(a) @ b

    def einsum(self, equation, *operands):
        return ops.Einsum.apply(equation, *(self._tensor(operand) for operand in operands))

    # constants: no gradient flows to them
    def zeros(self, shape, dtype=None):
        return Tensor(self.module.zeros(shape, dtype=dtype))

    def ones(self, shape, dtype=None):
        return Tensor(self.module.ones(shape, dtype=dtype))

    def zeros_like(self, x, dtype=None):
        return Tensor(self.module.zeros(x.shape, dtype=x.dtype if dtype is None else dtype))

    def ones_like(self, x, dtype=None):
        return Tensor(self.module.ones(x.shape, dtype=x.dtype if dtype is None else dtype))

    def asarray(self, value, dtype=None):
        if isinstance(value, Tensor):
            return value if dtype is None or value.dtype == dtype else value.astype(dtype)
        return Tensor(self.module.asarray(value, dtype=dtype))

    def arange(self, *args, **kwargs):
        return self.module.arange(*args, **kwargs)  # integer positions (indices), not data

    pi, e, inf, nan, newaxis = math.pi, math.e, math.inf, math.nan, None

    def __getattr__(self, name):
        value = getattr(self.module, name)  # AttributeError for names NumPy lacks too
        if isinstance(value, type):  # dtypes (xp.float64, xp.bool_) are the backend's own
            return value
        raise AttributeError(
            f"xp.{name} has no differentiable version: under create_graph=True, backward runs on Tensors and "
            f"xp (minigrad.get_array_module) offers the functions minigrad has as Tensor ops. Write this part of "
            f"backward with operators and those functions (exp, log, sqrt, tanh, where, maximum, sum, ...).")


_namespaces = {}


def namespace(module):
    """The TensorNamespace of backend `module`, made once."""
    found = _namespaces.get(module)
    if found is None:
        found = _namespaces[module] = TensorNamespace(module)
    return found
