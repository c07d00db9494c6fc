"""``Tensor``: an array of some backend, plus what autograd needs to know about it.

A Tensor holds

- ``data``: the raw array (``numpy.ndarray``, ``cupy.ndarray``, ...);
- ``requires_grad``: whether gradients should flow back to it;
- ``grad``: after ``backward()``, dL/d(this tensor) as a Tensor (leaves only, unless ``retain_grad()``);
- ``grad_fn``: the graph node (a Function call's ``ctx``) that produced it, None for a leaf.

Every operator and method below calls ops (each a :class:`~minigrad.autograd.function.Function`) from
:mod:`minigrad.ops`: most call one, a few compose several (``repeat``, ``split``, ``max(dim)``), and the Tensor
class itself computes nothing. They follow PyTorch's names and rules where PyTorch and NumPy differ: type
promotion (:mod:`minigrad.promotion`), ``dim``/``keepdim`` (NumPy's ``axis``/``keepdims`` accepted too),
``transpose(dim0, dim1)``, ``size()``, unbiased ``var``, ``max(dim)`` returning values and indices.
"""

import collections
import weakref

import numpy

from minigrad import backends
from minigrad.backends import backend_of, get_array_module, get_module, is_array
from minigrad.dims import normalize_dim as _dim
from minigrad.dims import normalize_dims as _axes


class Tensor:
    __slots__ = ("data", "grad", "_requires_grad", "_node", "__weakref__")
    __array_ufunc__ = None   # `numpy_array + tensor` defers to Tensor.__radd__ instead of looping over elements
    __hash__ = object.__hash__  # == is elementwise (returns a Tensor), so hash by identity

    def __init__(self, data, requires_grad=False):
        """Wrap an existing backend array (no copy). Use :func:`minigrad.tensor` to build one from any data."""
        backend_of(data)  # raises TypeError for anything that is not a backend array
        self.data = data
        self.grad = None
        self._node = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, data, node=None):
        """``Tensor(data)`` without its checks, for the engine, which wraps arrays it knows to be valid; `node` is the
        graph node that produced `data`, or None. (``Function.apply`` does the same inline: it runs once per op.)"""
        tensor = object.__new__(cls)
        tensor.data = data
        tensor.grad = None
        tensor._node = node
        tensor._requires_grad = node is not None
        return tensor

    # --- autograd ---------------------------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self._node is not None and not value:
            raise RuntimeError("requires_grad can only be turned off on a leaf tensor; use .detach() instead")
        if value and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"only floating-point tensors can require gradients, not {self.data.dtype}")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        """The graph node that produced this tensor (None for a leaf): see ``Context.function`` and ``.parents``."""
        return self._node

    @property
    def is_leaf(self):
        return self._node is None

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Compute d(self)/d(leaf) for every leaf of the graph and add it to the leaf's ``.grad``.

        `gradient` is dL/d(self); it may be left out only when self has one element (a loss), where it is 1.
        ``create_graph=True``: the ``.grad`` are Tensors in a graph of their own, which can be differentiated again
        (see :func:`minigrad.autograd.grad`). ``retain_graph`` (keep what forward saved, for another backward)
        defaults to ``create_graph``, as in PyTorch.
        """
        if not self._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn: "
                               "nothing to differentiate (did you forget requires_grad=True, or is this inside "
                               "no_grad()?)")
        xp = self.xp
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                                   f"{self.shape}, so pass backward(gradient) with dL/d(output) of that shape")
            grad = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            grad = gradient.data if isinstance(gradient, Tensor) else gradient
            if not is_array(grad) or backend_of(grad) != self.backend:
                grad = xp.asarray(grad)
            if grad.shape != self.data.shape:
                raise RuntimeError(f"backward: grad has shape {tuple(grad.shape)} but the tensor has shape "
                                   f"{self.shape}; they must match")
            grad = grad.astype(self.data.dtype, copy=False)
        if retain_graph is None:
            retain_graph = create_graph
        if create_graph:  # dL/d(self) stays the caller's Tensor, so the gradients can be differentiated in it too
            given = gradient if isinstance(gradient, Tensor) and gradient.dtype == self.dtype else Tensor(grad)
            higher_order.backward(self, given, retain_graph)
            return
        engine.run_backward(self, grad, retain_graph)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor too (leaves always keep theirs)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on a tensor that does not require grad")
        if self._node is not None:
            self._node._retained = weakref.ref(self)  # weak: the graph must not keep its outputs alive

    def detach(self):
        """The same data (shared, not copied) as a new leaf outside the graph."""
        return Tensor(self.data)

    # --- array facts --------------------------------------------------------------------------------------------
    shape = property(lambda self: tuple(self.data.shape))
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)

    def size(self, dim=None):
        """The shape as a tuple, or the length of dimension `dim`, as PyTorch's ``size()`` (NumPy's element
        count ``size`` is ``numel()`` here)."""
        if dim is None:
            return self.shape
        return self.data.shape[_dim(dim, self.ndim)]

    def numel(self):
        """The number of elements."""
        return self.data.size

    def dim(self):
        """The number of dimensions (``ndim``)."""
        return self.data.ndim

    @property
    def backend(self):
        """"numpy", "cupy" or "strict": where the data lives."""
        return backend_of(self.data)

    @property
    def xp(self):
        """The array module of this tensor's backend (numpy, cupy, ...)."""
        return get_array_module(self.data)

    def numpy(self):
        """The data as a NumPy array: the array itself on the NumPy backend, a copy from the GPU on CuPy."""
        if self._requires_grad:
            raise RuntimeError("can't call numpy() on a tensor that requires grad; use .detach().numpy()")
        return backends.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        """``numpy.asarray(t)`` and ``plt.plot(t)`` see the data, as with a PyTorch CPU tensor. Only on the NumPy
        backend: device data refuses implicit conversion (use ``t.numpy()``), as CuPy itself does."""
        if self._requires_grad:
            raise RuntimeError("can't convert a tensor that requires grad to a NumPy array; use .detach() first")
        if backend_of(self.data) != "numpy":
            raise TypeError(f"implicit conversion of a tensor on the {self.backend!r} backend to a NumPy array is "
                            "not allowed; use .numpy() to copy it to the host explicitly")
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def to(self, backend):
        """A copy of this tensor on `backend` ("numpy", "cupy", "strict"); self if it is already there.

        The copy is a new leaf with the same ``requires_grad`` (like ``detach``, it is not connected to the graph).
        """
        if backend == self.backend:
            return self
        xp = get_module(backend)
        host_copy = backends.to_numpy(self.data)  # device -> host copy (.get()); NumPy data comes back as it is
        if host_copy is self.data:
            host_copy = host_copy.copy()           # so copy it here: the moved tensor must not share memory
        moved = Tensor(xp.asarray(host_copy), self._requires_grad)
        return moved

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                               "use .any() or .all()")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __repr__(self):
        body = repr(backends.to_numpy(self.data)).replace("array(", "tensor(", 1)
        if self._node is not None:
            return body[:-1] + f", grad_fn=<{self._node.name}>)"
        if self._requires_grad:
            return body[:-1] + ", requires_grad=True)"
        return body

    def __deepcopy__(self, memo):
        return Tensor(self.data.copy(), self._requires_grad)

    # --- ops: each is a Function from minigrad.ops ---------------------------------------------------------
    # Binary ops first bring their operands to one dtype by PyTorch's rules (minigrad.promotion), then call the
    # op; inside the op, on raw arrays of that one dtype, NumPy's rules agree with PyTorch's.
    def _operand(self, other):
        """Bring the other operand of a binary op into a form ops accept: Tensors and Python numbers as they are."""
        if isinstance(other, Tensor):
            return other
        if type(other) in _PYTHON_NUMBERS:
            return other  # Python numbers stay "weak" (minigrad.promotion)
        # Checked before Python numbers, since numpy.float64 is a subclass of float but is not "weak" in NumPy.
        if type(other).__module__ == "numpy" and getattr(other, "shape", None) == ():
            return other.item()  # a NumPy scalar acts like a Python number, as a 0-d tensor does in PyTorch
        if isinstance(other, (int, float, bool)):
            return other
        if isinstance(other, (list, tuple)):
            return Tensor(self.xp.asarray(other, dtype=self.data.dtype))
        return Tensor(self.xp.asarray(other))

    def _binary(self, function, other, reflected=False, floating=False):
        # The common cases need no promotion: a float tensor with a Python number, or two tensors of one dtype.
        if type(other) in _PYTHON_NUMBERS and self.data.dtype.kind == "f" or (
                isinstance(other, Tensor) and other.data.dtype == self.data.dtype
                and (not floating or self.data.dtype.kind in "fc")):
            return function.apply(other, self) if reflected else function.apply(self, other)
        other = self._operand(other)
        first, second = _promoted((other, self) if reflected else (self, other), floating)
        return function.apply(first, second)

    def _arithmetic(self, function, other, reflected=False, floating=False):
        """``_binary`` for + - * /: next to a NumPy float tensor, a Python number goes in as a 0-d array of the
        tensor's dtype. That is what NumPy makes of the number inside the op anyway (NEP 50: a Python number takes
        the array's dtype), so the op computes the same bits; the conversion, which costs NumPy more than the
        arithmetic on a small array, is made once per number and dtype instead of on every call."""
        if type(other) in _PYTHON_NUMBERS:
            data = self.data
            if type(data) is numpy.ndarray and data.dtype.kind == "f":
                number = _number_arrays[data.dtype].get(other)
                if number is None:
                    number = _number_as_array(other, data.dtype)
                return function.apply(number, self) if reflected else function.apply(self, number)
        return self._binary(function, other, reflected, floating)

    def _floating(self):
        """self for floating tensors; bool and integer tensors as the default float dtype (``exp`` of an int)."""
        if self.data.dtype.kind in "fc":
            return self
        return ops.Cast.apply(self, promotion.floating(self.data.dtype))

    def __add__(self, other):
        return self._arithmetic(ops.Add, other)

    def __radd__(self, other):
        return self._arithmetic(ops.Add, other, reflected=True)

    def __sub__(self, other):
        return self._arithmetic(ops.Sub, other)

    def __rsub__(self, other):
        return self._arithmetic(ops.Sub, other, reflected=True)

    def __mul__(self, other):
        return self._arithmetic(ops.Mul, other)

    def __rmul__(self, other):
        return self._arithmetic(ops.Mul, other, reflected=True)

    def __truediv__(self, other):
        return self._arithmetic(ops.Div, other, floating=True)  # int / int is a float, as in Python and PyTorch

    def __rtruediv__(self, other):
        return self._arithmetic(ops.Div, other, reflected=True, floating=True)

    def __floordiv__(self, other):
        return self.detach()._binary(ops.FloorDivide, _detached(other))

    def __rfloordiv__(self, other):
        return self.detach()._binary(ops.FloorDivide, _detached(other), reflected=True)

    def __mod__(self, other):
        return self.detach()._binary(ops.Remainder, _detached(other))

    def __rmod__(self, other):
        return self.detach()._binary(ops.Remainder, _detached(other), reflected=True)

    def __pow__(self, exponent):
        return self._binary(ops.Pow, exponent)

    def __rpow__(self, base):
        return self._binary(ops.Pow, base, reflected=True)

    def __matmul__(self, other):
        return self._binary(ops.MatMul, other)

    def __rmatmul__(self, other):
        return self._binary(ops.MatMul, other, reflected=True)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    # comparisons and logical operators give boolean tensors outside the graph
    def __lt__(self, other):
        return self._binary(ops.Less, other)

    def __le__(self, other):
        return self._binary(ops.LessEqual, other)

    def __gt__(self, other):
        return self._binary(ops.Greater, other)

    def __ge__(self, other):
        return self._binary(ops.GreaterEqual, other)

    def __eq__(self, other):
        return self._binary(ops.Equal, other)

    def __ne__(self, other):
        return self._binary(ops.NotEqual, other)

    def __and__(self, other):
        return self._binary(ops.BitwiseAnd, other)

    __rand__ = __and__

    def __or__(self, other):
        return self._binary(ops.BitwiseOr, other)

    __ror__ = __or__

    def __xor__(self, other):
        return self._binary(ops.BitwiseXor, other)

    __rxor__ = __xor__

    def __invert__(self):
        return ops.BitwiseNot.apply(self)

    def isnan(self):
        return ops.IsNan.apply(self)

    def isinf(self):
        return ops.IsInf.apply(self)

    def isfinite(self):
        return ops.IsFinite.apply(self)

    # elementwise functions; bool and integer tensors are taken as the default float dtype first
    def exp(self):
        return ops.Exp.apply(self._floating())

    def log(self):
        return ops.Log.apply(self._floating())

    def sqrt(self):
        return ops.Sqrt.apply(self._floating())

    def tanh(self):
        return ops.Tanh.apply(self._floating())

    def sigmoid(self):
        return ops.Sigmoid.apply(self._floating())

    def sin(self):
        return ops.Sin.apply(self._floating())

    def cos(self):
        return ops.Cos.apply(self._floating())

    def rsqrt(self):
        return ops.Rsqrt.apply(self._floating())

    def reciprocal(self):
        return ops.Reciprocal.apply(self._floating())

    def log1p(self):
        return ops.Log1p.apply(self._floating())

    def expm1(self):
        return ops.Expm1.apply(self._floating())

    def log2(self):
        return ops.Log2.apply(self._floating())

    def log10(self):
        return ops.Log10.apply(self._floating())

    def exp2(self):
        return ops.Exp2.apply(self._floating())

    def square(self):
        return ops.Square.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def __abs__(self):
        return ops.Abs.apply(self)

    def sign(self):
        return ops.Sign.apply(self)

    def floor(self):
        return ops.Floor.apply(self)

    def ceil(self):
        return ops.Ceil.apply(self)

    def round(self):
        return ops.Round.apply(self)

    def trunc(self):
        return ops.Trunc.apply(self)

    def clamp(self, min=None, max=None):  # noqa: A002  (PyTorch's argument names)
        """Limit every element to [min, max] (either bound may be None): PyTorch's ``clamp``/``clip``."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            raise TypeError("clamp takes numbers as bounds; for tensor bounds use maximum(...) and minimum(...)")
        return ops.Clamp.apply(self, min, max)

    clip = clamp

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return ops.NanToNum.apply(self, nan, posinf, neginf)

    def maximum(self, other):
        return self._binary(ops.Maximum, other)

    def minimum(self, other):
        return self._binary(ops.Minimum, other)

    def masked_fill(self, mask, value):
        """self with `value` where the boolean `mask` (broadcast to self's shape) is True."""
        if isinstance(value, Tensor):
            value = ops.Cast.apply(value, self.dtype) if value.dtype != self.dtype else value
        return ops.Where.apply(_mask_array(mask), value, self)

    def where(self, condition, other):
        """``x.where(condition, y)``: x where condition holds, y elsewhere (``torch.where(condition, x, y)``)."""
        return _where(condition, self, other)

    # --- reductions: PyTorch's dim and keepdim, and NumPy's axis and keepdims as aliases ---------------------
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.Sum.apply(self, *_reduction_args(dim, keepdim, axis, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.Mean.apply(self, *_reduction_args(dim, keepdim, axis, keepdims))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None, axis=None,
            keepdims=None):
        """sum((x - mean)^2) / (n - correction) over `dim`: ``correction=1`` (the unbiased estimate) unless asked
        otherwise, as PyTorch. ``unbiased=False`` means correction 0, and NumPy's ``ddof`` is the correction.
        """
        if isinstance(dim, bool):  # PyTorch's older var(unbiased) spelling
            dim, unbiased = None, dim
        dim, keepdim = _reduction_args(dim, keepdim, axis, keepdims)
        return ops.Var.apply(self, dim, _correction(correction, unbiased, ddof), keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None, axis=None,
            keepdims=None):
        """sqrt(var): the same arguments as ``var``."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        dim, keepdim = _reduction_args(dim, keepdim, axis, keepdims)
        return ops.Std.apply(self, dim, _correction(correction, unbiased, ddof), keepdim)

    def prod(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.Prod.apply(self, *_reduction_args(dim, keepdim, axis, keepdims))

    def logsumexp(self, dim, keepdim=False):
        return ops.LogSumExp.apply(self._floating(), dim, keepdim)

    def cumsum(self, dim):
        return ops.CumSum.apply(self, _dim(dim, self.ndim))

    def norm(self, p=2, dim=None, keepdim=False):
        """The p-norm over `dim` (all elements by default): p = 2, 1, or ``float("inf")``."""
        return ops.Norm.apply(self, p, dim, keepdim)

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _reduction_args(dim, keepdim, axis, keepdims)
        return ops.Any.apply(self, _axes(dim, self.ndim), keepdim)

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _reduction_args(dim, keepdim, axis, keepdims)
        return ops.All.apply(self, _axes(dim, self.ndim), keepdim)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The maximum over `dim` (an int, a tuple, or None for all); ties share the gradient equally."""
        return ops.Max.apply(self, *_reduction_args(dim, keepdim, axis, keepdims))

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.Min.apply(self, *_reduction_args(dim, keepdim, axis, keepdims))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """``max()``: the largest element (ties share the gradient, as ``amax``). ``max(dim)``: the named pair
        ``(values, indices)`` along one dim, the gradient going to the first maximal element, as PyTorch.
        ``max(other_tensor)`` is ``maximum``."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        dim, keepdim = _reduction_args(dim, keepdim, axis, keepdims)
        if dim is None:
            return ops.Max.apply(self, None, False)
        return self._extremum_along(dim, keepdim, self.argmax)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """As ``max``, for the smallest elements."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        dim, keepdim = _reduction_args(dim, keepdim, axis, keepdims)
        if dim is None:
            return ops.Min.apply(self, None, False)
        return self._extremum_along(dim, keepdim, self.argmin)

    def _extremum_along(self, dim, keepdim, argument_of_extremum):
        if not isinstance(dim, int):
            raise TypeError(f"max/min(dim) reduce one dim and return (values, indices); got dim={dim!r}: use "
                            "amax/amin to reduce several dims")
        if self.ndim == 0:
            _dim(dim, 0)
            return ValuesIndices(self.reshape(()), argument_of_extremum())
        indices = argument_of_extremum(dim, keepdim=True)
        values = self.gather(dim, indices)
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return ValuesIndices(values, indices)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The index of the (first) largest element along `dim`, or in the flattened tensor (int64, no grad)."""
        dim, keepdim = _reduction_args(dim, keepdim, axis, keepdims)
        return ops.ArgMax.apply(self, None if dim is None else _dim(dim, self.ndim) if self.ndim else None, keepdim)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _reduction_args(dim, keepdim, axis, keepdims)
        return ops.ArgMin.apply(self, None if dim is None else _dim(dim, self.ndim) if self.ndim else None, keepdim)

    # --- shapes ---------------------------------------------------------------------------------------------
    def reshape(self, *shape):
        """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one dimension may be -1."""
        return ops.Reshape.apply(self, _shape_arguments(shape))

    view = reshape  # minigrad has no strided views: view and reshape are the same op

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge dims start_dim..end_dim into one (a 0-d tensor becomes shape (1,))."""
        if self.ndim == 0:
            return ops.Reshape.apply(self, (1,))
        start, end = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        if start > end:
            raise IndexError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return ops.Reshape.apply(self, self.shape[:start] + (-1,) + self.shape[end + 1:])

    def unflatten(self, dim, sizes):
        """Split dim `dim` into `sizes` (one of them may be -1)."""
        dim = _dim(dim, self.ndim)
        return ops.Reshape.apply(self, self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    def unsqueeze(self, dim):
        """A new dim of size 1 at position `dim` (in [-ndim - 1, ndim])."""
        dim = _dim(dim, self.ndim + 1)
        return ops.Reshape.apply(self, self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        """Remove dims of size 1: all of them, or those of `dim` (an int or a tuple) that have size 1."""
        dims = range(self.ndim) if dim is None else _axes(dim, self.ndim)
        return ops.Reshape.apply(self, tuple(size for d, size in enumerate(self.shape)
                                             if not (d in dims and size == 1)))

    def expand(self, *sizes):
        """Broadcast to `sizes`; -1 keeps a dim's size. New dims may be added in front."""
        sizes = _shape_arguments(sizes)
        offset = len(sizes) - self.ndim
        if offset < 0:
            raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's number of "
                               f"dimensions ({self.ndim})")
        target = tuple(self.shape[d - offset] if size == -1 and d >= offset else size for d, size in enumerate(sizes))
        return ops.BroadcastTo.apply(self, target)

    def broadcast_to(self, shape):
        return ops.BroadcastTo.apply(self, tuple(shape))

    def repeat(self, *repeats):
        """Tile the tensor `repeats[d]` times along each dim (PyTorch's ``repeat``, NumPy's ``tile``).

        Composed of three ops: each dim of size n becomes (1, n), the 1 is broadcast to r, and (r, n) merges into
        r * n, so the gradient is the sum over the r copies (BroadcastTo's backward).
        """
        repeats = _shape_arguments(repeats)
        if len(repeats) < self.ndim:
            raise RuntimeError(f"repeat: the number of repeats ({len(repeats)}) can not be smaller than the "
                               f"tensor's number of dimensions ({self.ndim})")
        shape = (1,) * (len(repeats) - self.ndim) + self.shape
        spread = tuple(size for pair in ((1, n) for n in shape) for size in pair)
        tiled = tuple(size for pair in zip(repeats, shape) for size in pair)
        return self.reshape(spread).broadcast_to(tiled).reshape(tuple(r * n for r, n in zip(repeats, shape)))

    def clone(self):
        return ops.Clone.apply(self)

    def contiguous(self):
        """Every minigrad tensor is contiguous as far as its user can tell: this returns self."""
        return self

    def split(self, split_size_or_sections, dim=0):
        """Pieces of `split_size_or_sections` along `dim` (the last may be smaller), or of the given sizes."""
        dim = _dim(dim, self.ndim)
        length = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            sizes = [min(step, length - start) for start in range(0, length, step)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != length:
                raise RuntimeError(f"split: sizes {sizes} do not add up to {length}, the length of dim {dim}")
        pieces, start = [], 0
        for size in sizes:
            pieces.append(self[(slice(None),) * dim + (slice(start, start + size),)])
            start += size
        return tuple(pieces)

    def chunk(self, chunks, dim=0):
        """`chunks` pieces (or fewer) of ceil(n / chunks) along `dim`, as PyTorch's ``chunk``."""
        length = self.shape[_dim(dim, self.ndim)]
        return self.split(max(-(-length // chunks), 1), dim)

    def transpose(self, dim0, dim1):
        """Swap two dims (PyTorch's ``transpose``; for a full reordering of the dims use ``permute``)."""
        order = list(range(self.ndim))
        if self.ndim == 0:
            _dim(dim0, 0), _dim(dim1, 0)
            return ops.Transpose.apply(self, ())
        first, second = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        order[first], order[second] = order[second], order[first]
        return ops.Transpose.apply(self, tuple(order))

    def swapaxes(self, axis0, axis1):
        """``transpose(axis0, axis1)``, under NumPy's name (PyTorch has both)."""
        return self.transpose(axis0, axis1)

    def permute(self, *dims):
        """The dims in a new order: ``y.shape[i] = x.shape[dims[i]]``; dims may be negative."""
        dims = _shape_arguments(dims)
        if len(dims) != self.ndim:
            raise ValueError(f"permute needs {self.ndim} dims for a tensor of shape {self.shape}, got {dims}")
        dims = tuple(_dim(d, self.ndim) for d in dims)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"permute: repeated dim in {dims}")
        return ops.Transpose.apply(self, dims)

    def movedim(self, source, destination):
        """Move dim(s) `source` to position(s) `destination`, keeping the other dims in order."""
        source = [_dim(d, self.ndim) for d in (source if isinstance(source, (tuple, list)) else (source,))]
        destination = [_dim(d, self.ndim) for d in
                       (destination if isinstance(destination, (tuple, list)) else (destination,))]
        if len(source) != len(destination):
            raise ValueError(f"movedim: {len(source)} source dims but {len(destination)} destination dims")
        rest = iter(d for d in range(self.ndim) if d not in source)
        placed = dict(zip(destination, source))
        return self.permute(tuple(placed[d] if d in placed else next(rest) for d in range(self.ndim)))

    @property
    def T(self):
        """The dims reversed (for a matrix, its transpose)."""
        return ops.Transpose.apply(self, None)

    @property
    def mT(self):  # noqa: N802  (PyTorch's name)
        """The last two dims swapped: a batch of matrices, each transposed."""
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on tensors of at least 2 dimensions, not {self.ndim}")
        return self.transpose(-2, -1)

    # --- indexing ---------------------------------------------------------------------------------------------
    def gather(self, dim, index):
        """y[i][j][k] = x[i][index[i][j][k]][k] for dim 1: values picked along `dim` by an int64 `index` of the
        same number of dims (its other sizes at most x's)."""
        index = _index_tensor(index)
        if self.ndim == 0:
            return self.reshape(1).gather(0, index.reshape(1)).reshape(())
        return ops.Gather.apply(self, _dim(dim, self.ndim), index)

    def take_along_dim(self, indices, dim):
        """As ``gather``, with `indices` and x broadcast against each other in every dim but `dim`."""
        indices = _index_tensor(indices)
        dim = _dim(dim, self.ndim)
        shape = list(numpy.broadcast_shapes(self.shape[:dim] + (1,) + self.shape[dim + 1:],
                                            indices.shape[:dim] + (1,) + indices.shape[dim + 1:]))
        source = self.broadcast_to(shape[:dim] + [self.shape[dim]] + shape[dim + 1:])
        indices = indices.broadcast_to(shape[:dim] + [indices.shape[dim]] + shape[dim + 1:])
        return source.gather(dim, indices)

    def index_select(self, dim, index):
        """The slices at positions `index` (a 1-D int64 tensor) along `dim`; repeats accumulate in backward."""
        return self[(slice(None),) * _dim(dim, self.ndim) + (_index_tensor(index),)]

    def scatter_add(self, dim, index, src):
        """A copy of self with src[i][j] added at [index[i][j]][j] (dim 0), summing where indices repeat."""
        return ops.ScatterAdd.apply(self, _dim(dim, self.ndim), _index_tensor(index), src)

    def sort(self, dim=-1, descending=False):
        """The named pair (values, indices) in ascending order along `dim` (descending=True: the reverse); the
        values are ``gather``-ed, so their gradient goes back to the elements they came from."""
        indices = ops.ArgSort.apply(self, _dim(dim, self.ndim), descending)
        return ValuesIndices(self.gather(dim, indices), indices)

    def argsort(self, dim=-1, descending=False):
        return ops.ArgSort.apply(self, _dim(dim, self.ndim), descending)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002  (PyTorch's argument name)
        """The k largest (or smallest) elements along `dim` and their indices, largest first."""
        dim = _dim(dim, self.ndim)
        length = self.shape[dim] if self.ndim else 1
        if not 0 <= k <= length:
            raise RuntimeError(f"topk: k ({k}) is out of range for dim {dim} of size {length}")
        indices = ops.ArgSort.apply(self, dim, largest)
        indices = indices[(slice(None),) * dim + (slice(0, k),)] if self.ndim else indices
        return ValuesIndices(self.gather(dim, indices), indices)

    def nonzero(self):
        """The indices of the nonzero elements as an (n, ndim) int64 tensor."""
        return ops.Nonzero.apply(self)

    # --- linear algebra ----------------------------------------------------------------------------------------
    def dot(self, other):
        return _linalg().dot(self, other)

    def mv(self, vector):
        return _linalg().mv(self, vector)

    def bmm(self, other):
        return _linalg().bmm(self, other)

    def outer(self, other):
        return _linalg().outer(self, other)

    # --- dtypes and new tensors like this one ---------------------------------------------------------------
    def astype(self, dtype):
        """A copy converted to `dtype`; differentiable between floating types."""
        return ops.Cast.apply(self, dtype)

    def double(self):
        return self.astype("float64")

    def float(self):
        return self.astype("float32")

    def long(self):
        return self.astype("int64")

    def bool(self):
        return self.astype("bool")

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        """Zeros of `size` with this tensor's dtype (unless `dtype` is given) and backend."""
        return self.new_full(_shape_arguments(size), 0, dtype=dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return self.new_full(_shape_arguments(size), 1, dtype=dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        made = Tensor(self.xp.full(tuple(size), fill_value, dtype=self.dtype if dtype is None else dtype))
        return made.requires_grad_() if requires_grad else made

    def __getitem__(self, index):
        index = _raw_index(index)
        selected = _integers_first(index)
        if selected is not None:  # PyTorch: integers select first, then the array indices apply to what is left
            integers, rest = selected
            return ops.GetItem.apply(ops.GetItem.apply(self, integers), rest)
        return ops.GetItem.apply(self, index)

    def __setitem__(self, index, value):
        raise TypeError("minigrad tensors do not support assignment into elements (no in-place ops on the graph); "
                        "build the new tensor with masked_fill(...), minigrad.where(...) or minigrad.concatenate(...), "
                        "or assign into .data outside the graph")


ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "What max(dim), min(dim), sort and topk return, as PyTorch's (values, indices) pairs."

_PYTHON_NUMBERS = (float, int, bool)

# Python numbers as read-only 0-d NumPy arrays, per float dtype (see Tensor._arithmetic). Kept only where the
# conversion gives a normal number of the dtype: zero is left out (0.0 and -0.0 are equal keys but different
# numbers), NaN (it equals nothing), a number that overflows (it warns, in the op, as NumPy warns), and one that
# becomes subnormal (the processor's flush-to-zero setting, which minigrad.set_flush_denormal changes per thread,
# decides those at each conversion). The conversions round to nearest, the mode Python, NumPy and PyTorch assume;
# a program that changes the processor's rounding mode (through ctypes) keeps the numbers cached before. A bounded
# number per dtype: a loop multiplying by a new number every step (a decaying learning rate) fills it once, then
# goes on as NumPy does.
_number_arrays = collections.defaultdict(dict)
_number_array_ids = {}  # id() -> array, for every array made here: kept alive, so that no other object takes its id
_MAX_NUMBER_ARRAYS = 256


def _number_as_array(number, dtype):
    """`number` (a Python number) as the read-only 0-d array of `dtype` that NumPy would convert it to, kept in
    _number_arrays; the number itself where it is not kept."""
    arrays = _number_arrays[dtype]
    if not number or len(arrays) >= _MAX_NUMBER_ARRAYS:
        return number
    try:
        with numpy.errstate(all="ignore"):
            array = numpy.asarray(number, dtype=dtype)
    except OverflowError:
        return number
    if not numpy.isfinite(array) or abs(array) < numpy.finfo(dtype).tiny:
        return number
    array.flags.writeable = False
    arrays[number] = array
    _number_array_ids[id(array)] = array
    return array


def is_number_array(value):
    """Whether `value` is one of the 0-d arrays that Tensor arithmetic passes to an op in place of a Python number."""
    return _number_array_ids.get(id(value)) is value


def _promoted(operands, floating=False):
    """`operands` (Tensors and Python numbers) cast to their common dtype by PyTorch's rules; with `floating`,
    bool and integer results become the default float dtype (true division)."""
    dtype = promotion.result_type(*operands)
    if floating:
        dtype = promotion.floating(dtype)
    return tuple(ops.Cast.apply(operand, dtype) if isinstance(operand, Tensor) and operand.data.dtype != dtype
                 else operand for operand in operands)


def _detached(value):
    return value.detach() if isinstance(value, Tensor) else value


def _where(condition, x, y):
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError("where needs at least one of x and y to be a Tensor")
    x, y = _promoted((x, y))
    return ops.Where.apply(_mask_array(condition), x, y)


def _mask_array(mask):
    return mask.data if isinstance(mask, Tensor) else mask


def _reduction_args(dim, keepdim, axis, keepdims):
    """PyTorch's (dim, keepdim) from either spelling: NumPy's axis and keepdims are accepted as aliases."""
    if axis is not None:
        if dim is not None:
            raise TypeError("pass dim or axis (NumPy's name for it), not both")
        dim = axis
    return dim, keepdim if keepdims is None else keepdims


def _correction(correction, unbiased, ddof):
    given = [(name, value) for name, value in (("correction", correction), ("unbiased", unbiased), ("ddof", ddof))
             if value is not None]
    if len(given) > 1:
        raise TypeError(f"var/std: pass one of correction, unbiased and ddof, not {' and '.join(n for n, _ in given)}")
    if unbiased is not None:
        return 1 if unbiased else 0
    value = correction if correction is not None else ddof
    return 1 if value is None else value


def _shape_arguments(shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` as NumPy and PyTorch users both expect."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _index_tensor(index):
    if not isinstance(index, Tensor):
        raise TypeError(f"expected an int64 index Tensor, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise TypeError(f"an index tensor must hold integers, not {index.dtype}")
    return index


def _raw_index(index):
    """The index with Tensors replaced by their arrays, and tuples or lists inside a tuple index taken as
    integer-array indices (``x[(0, 0), :]`` picks row 0 twice, as in NumPy and PyTorch)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(item.data if isinstance(item, Tensor) else
                     numpy.asarray(item) if isinstance(item, (tuple, list)) else item for item in index)
    return index


def _is_array_index(item):
    return hasattr(item, "shape") and item.ndim > 0 or isinstance(item, list)


def _integers_first(index):
    """For an index mixing integers with array indices, the two steps PyTorch takes: (integers and full slices,
    the rest). NumPy counts an integer as an array index there, which moves the result's dims around:
    for x of shape (2, 3, 4), ``x[0, :, [0, 1]]`` is (3, 2) in PyTorch and (2, 3) in NumPy. None when there is
    nothing to split."""
    if not isinstance(index, tuple):
        return None
    integers = [item for item in index if isinstance(item, int) and not isinstance(item, bool)]
    if not integers or not any(_is_array_index(item) for item in index):
        return None
    first, rest = [], []
    for item in index:
        if isinstance(item, int) and not isinstance(item, bool):
            first.append(item)
        elif item is None:
            first.append(None)          # the new axis is made in the first step ...
            rest.append(slice(None))    # ... and kept whole in the second
        elif item is Ellipsis:
            first.append(Ellipsis)
            rest.append(Ellipsis)
        else:
            consumed = item.ndim if getattr(item, "dtype", None) is not None and item.dtype == bool else 1
            first.extend([slice(None)] * consumed)
            rest.append(item)
    return tuple(first), tuple(rest)


def _linalg():
    from minigrad import functions
    return functions


# Tensor's methods call the ops and the engine, which are built on Tensor: imported once the class exists.
from minigrad import ops, promotion  # noqa: E402
from minigrad.autograd import engine, higher_order  # noqa: E402
