"""``Tensor``: an array of some backend, plus what autograd needs to know about it.

A Tensor holds

- ``data``: the raw array (``numpy.ndarray``, ``cupy.ndarray``, ...);
- ``requires_grad``: whether gradients should flow back to it;
- ``grad``: after ``backward()``, dL/d(this tensor) as a Tensor (leaves only, unless ``retain_grad()``);
- ``grad_fn``: the graph node (a Function call's ``ctx``) that produced it, None for a leaf.

Every operator and method below is a one-line call of a :class:`~minigrad.autograd.function.Function` from
:mod:`minigrad.ops`: the Tensor class itself computes nothing.
"""

import weakref

from minigrad import backends
from minigrad.backends import backend_of, get_array_module, get_module, is_array


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
        """``Tensor(data)`` without its checks, for ``Function.apply`` and the engine, which run once per op and
        wrap arrays they know to be valid; `node` is the graph node that produced `data`, or None."""
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

    def backward(self, grad=None, retain_graph=False):
        """Compute d(self)/d(leaf) for every leaf of the graph and add it to the leaf's ``.grad``.

        `grad` is dL/d(self); it may be left out only when self has one element (a loss), where it is 1.
        """
        if not self._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn: "
                               "nothing to differentiate (did you forget requires_grad=True, or is this inside "
                               "no_grad()?)")
        xp = self.xp
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                                   f"{self.shape}, so pass backward(grad) with dL/d(output) of that shape")
            grad = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            if not is_array(grad) or backend_of(grad) != self.backend:
                grad = xp.asarray(grad)
            if grad.shape != self.data.shape:
                raise RuntimeError(f"backward: grad has shape {tuple(grad.shape)} but the tensor has shape "
                                   f"{self.shape}; they must match")
            grad = grad.astype(self.data.dtype, copy=False)
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
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)

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
    def _operand(self, other):
        """Bring the other operand of a binary op into a form ops accept, without changing its dtype rules."""
        if isinstance(other, Tensor):
            return other
        if type(other) in _PYTHON_NUMBERS:
            return other  # Python numbers stay "weak": float32 * 2.0 stays float32, as in NumPy and PyTorch
        # Checked before Python numbers, since numpy.float64 is a subclass of float but is not "weak" in NumPy.
        if type(other).__module__ == "numpy" and getattr(other, "shape", None) == ():
            return other.item()  # a NumPy scalar acts like a Python number, as a 0-d tensor does in PyTorch
        if isinstance(other, (int, float, bool)):
            return other  # Python numbers stay "weak": float32 * 2.0 stays float32, as in NumPy and PyTorch
        if isinstance(other, (list, tuple)):
            return Tensor(self.xp.asarray(other, dtype=self.data.dtype))
        return Tensor(self.xp.asarray(other))

    def __add__(self, other):
        return ops.Add.apply(self, self._operand(other))

    def __radd__(self, other):
        return ops.Add.apply(self._operand(other), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, self._operand(other))

    def __rsub__(self, other):
        return ops.Sub.apply(self._operand(other), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, self._operand(other))

    def __rmul__(self, other):
        return ops.Mul.apply(self._operand(other), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other):
        return ops.Div.apply(self._operand(other), self)

    def __pow__(self, exponent):
        return ops.Pow.apply(self, self._operand(exponent))

    def __rpow__(self, base):
        return ops.Pow.apply(self._operand(base), self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(self._operand(other), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    # comparisons give boolean tensors outside the graph
    def _compare(self, other, compare):
        other = self._operand(other)
        return Tensor(self.xp.asarray(compare(self.data, other.data if isinstance(other, Tensor) else other)))

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def __abs__(self):
        return ops.Abs.apply(self)

    def maximum(self, other):
        return ops.Maximum.apply(self, self._operand(other))

    def minimum(self, other):
        return ops.Minimum.apply(self, self._operand(other))

    def sum(self, axis=None, keepdims=False):
        return ops.Sum.apply(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.Mean.apply(self, axis, keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        """Variance with NumPy's convention: ``ddof=0`` (biased) unless asked otherwise."""
        return ops.Var.apply(self, axis, ddof, keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.Max.apply(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.Min.apply(self, axis, keepdims)

    def argmax(self, axis=None):
        """Indices of the maxima (an integer tensor, outside the graph)."""
        return Tensor(self.xp.asarray(self.data.argmax(axis=axis)))

    def argmin(self, axis=None):
        return Tensor(self.xp.asarray(self.data.argmin(axis=axis)))

    def reshape(self, *shape):
        """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one dimension may be -1."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape)

    def flatten(self):
        return ops.Reshape.apply(self, (-1,))

    def transpose(self, *axes):
        """NumPy's transpose: no arguments reverse the axes; otherwise ``axes`` is the new order."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes or None)

    def permute(self, *dims):
        """PyTorch's name for ``transpose(*axes)``: the new order of the axes."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != self.ndim:
            raise ValueError(f"permute needs {self.ndim} dims for a tensor of shape {self.shape}, got {dims}")
        return ops.Transpose.apply(self, dims)

    @property
    def T(self):
        return ops.Transpose.apply(self, None)

    def broadcast_to(self, shape):
        return ops.BroadcastTo.apply(self, tuple(shape))

    def astype(self, dtype):
        """A copy converted to `dtype`; differentiable between floating types."""
        return ops.Cast.apply(self, dtype)

    def double(self):
        return self.astype("float64")

    def float(self):
        return self.astype("float32")

    def __getitem__(self, index):
        return ops.GetItem.apply(self, _raw_index(index))

    def __setitem__(self, index, value):
        raise TypeError("minigrad tensors do not support assignment into elements (no in-place ops on the graph); "
                        "build the new tensor with minigrad.where(...) or minigrad.concatenate(...), "
                        "or assign into .data outside the graph")


_PYTHON_NUMBERS = (float, int, bool)


def _raw_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(item.data if isinstance(item, Tensor) else item for item in index)
    return index


# Tensor's methods call the ops and the engine, which are built on Tensor: imported once the class exists.
from minigrad import ops  # noqa: E402
from minigrad.autograd import engine  # noqa: E402
