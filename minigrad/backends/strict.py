"""The "strict" backend: NumPy underneath, CuPy's rules on top.

CI machines have no GPU, yet code that works on NumPy can still break on CuPy. The usual ways are:

- converting device data to NumPy implicitly (``numpy.asarray(x)``, ``numpy.exp(x)`` on a list of arrays, ...):
  CuPy raises ``TypeError`` and asks for an explicit ``.get()``;
- mixing a NumPy array into an operation on device arrays (``x + numpy.ones(3)``): CuPy raises ``TypeError``;
- expecting a reduction to return a Python/NumPy scalar: CuPy returns a 0-d device array.

This module is an array module (``xp``) with its own array type that reproduces exactly those rules, so running the
test suite with ``MINIGRAD_BACKEND=strict`` catches such code on a CPU. Everything else is NumPy's: the numbers
are identical to the NumPy backend.
"""

import numpy
from numpy.lib.mixins import NDArrayOperatorsMixin

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed on the strict (CuPy-like) backend. "
             "Use `.get()` or `Tensor.numpy()` to make a NumPy array explicitly.")


def _mixing_error(where):
    return TypeError(f"strict backend: cannot mix a NumPy array with strict (CuPy-like) arrays in {where}; "
                     "move it to the backend first with xp.asarray(...) or Tensor.to(...)")


class ndarray(NDArrayOperatorsMixin):
    """A device-array stand-in: wraps a ``numpy.ndarray`` and refuses implicit host conversion."""

    __slots__ = ("_array", "__weakref__")

    def __init__(self, array):
        if not isinstance(array, numpy.ndarray):
            raise TypeError("strict.ndarray wraps a numpy.ndarray; create arrays with strict.asarray(...)")
        self._array = array

    # --- the rules that differ from NumPy -------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}"
        inputs = tuple(_unwrap(value, where) for value in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(value, where) for value in kwargs["out"])
        result = getattr(ufunc, method)(*inputs, **kwargs)
        return None if method == "at" else _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        where = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, where), **_unwrap(kwargs, where)))

    def get(self):
        """An explicit copy to a NumPy array, as ``cupy.ndarray.get()``."""
        return self._array.copy()

    # --- plain array behaviour ------------------------------------------------------------------------------
    shape = property(lambda self: self._array.shape)
    dtype = property(lambda self: self._array.dtype)
    ndim = property(lambda self: self._array.ndim)
    size = property(lambda self: self._array.size)
    itemsize = property(lambda self: self._array.itemsize)
    nbytes = property(lambda self: self._array.nbytes)
    strides = property(lambda self: self._array.strides)
    T = property(lambda self: ndarray(self._array.T))

    def __getitem__(self, index):
        return _wrap(self._array[_unwrap_index(index)])

    def __setitem__(self, index, value):
        self._array[_unwrap_index(index)] = _unwrap(value, "__setitem__")

    def __len__(self):
        return len(self._array)

    def __iter__(self):
        return (_wrap(row) for row in self._array)

    def __float__(self):
        return float(self._array)

    def __int__(self):
        return int(self._array)

    def __bool__(self):
        return bool(self._array)

    def __index__(self):
        return self._array.__index__()

    def __repr__(self):
        return "strict." + repr(self._array)

    def __getattr__(self, name):
        if name.startswith("__"):
            # NumPy looks for __array_interface__ / __array_struct__ before __array__; forwarding those to the
            # wrapped array would hand NumPy the data behind our back and defeat the refusal above.
            raise AttributeError(f"strict.ndarray has no attribute {name!r}")
        attribute = getattr(self._array, name)
        if not callable(attribute):
            return _wrap(attribute)

        def method(*args, **kwargs):
            where = f"ndarray.{name}"
            return _wrap(attribute(*_unwrap(args, where), **_unwrap(kwargs, where)))

        return method


def _wrap(value):
    """NumPy results become strict arrays; NumPy scalars become 0-d arrays, as CuPy's reductions return."""
    if isinstance(value, numpy.ndarray):
        return ndarray(value)
    if isinstance(value, numpy.generic):
        return ndarray(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(item) for item in value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


def _unwrap(value, where):
    if isinstance(value, ndarray):
        return value._array
    if isinstance(value, numpy.ndarray):
        raise _mixing_error(where)
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(item, where) for item in value)
    if isinstance(value, dict):
        return {key: _unwrap(item, where) for key, item in value.items()}
    return value


def _unwrap_index(index):
    # CuPy accepts host (NumPy) integer arrays as indices and copies them over, so they are allowed here.
    if isinstance(index, ndarray):
        return index._array
    if isinstance(index, tuple):
        return tuple(_unwrap_index(item) for item in index)
    return index


# --- the module-level API: explicit transfers, then NumPy's functions behind the same rules -------------------

def asarray(obj, dtype=None, order=None):
    """Make a strict array; NumPy arrays and lists are accepted here, as ``cupy.asarray`` accepts them."""
    return ndarray(numpy.asarray(_explicit(obj), dtype=dtype, order=order))


def _explicit(obj):
    # An explicit transfer: strict arrays (also inside lists) give their data, host data is taken as it is.
    if isinstance(obj, ndarray):
        return obj._array
    if isinstance(obj, (list, tuple)):
        return type(obj)(_explicit(item) for item in obj)
    return obj


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    return ndarray(numpy.array(_explicit(obj), dtype=dtype, copy=copy, order=order, ndmin=ndmin))


def asnumpy(obj):
    """An explicit copy to NumPy, as ``cupy.asnumpy``."""
    return obj.get() if isinstance(obj, ndarray) else numpy.asarray(obj)


class _Namespace:
    """Wraps a NumPy namespace (the top level, ``linalg``, ...) so every function follows the strict rules."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return _lift(getattr(self._module, name), name)


class _Ufunc:
    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _call(self._ufunc, self.__name__, args, kwargs)

    def __getattr__(self, name):  # .at, .reduce, .outer, ...
        method = getattr(self._ufunc, name)
        if not callable(method):
            return method

        def call(*args, **kwargs):
            result = _call(method, f"{self.__name__}.{name}", args, kwargs)
            return None if name == "at" else result

        return call


def _call(function, name, args, kwargs):
    where = f"numpy.{name}"
    return _wrap(function(*_unwrap(args, where), **_unwrap(kwargs, where)))


def _lift(attribute, name):
    if isinstance(attribute, numpy.ufunc):
        return _Ufunc(attribute)
    if isinstance(attribute, type(numpy)):
        return _Namespace(attribute)
    if callable(attribute) and not isinstance(attribute, type):
        return lambda *args, **kwargs: _call(attribute, name, args, kwargs)
    return attribute  # dtypes (float32, ...), constants (pi, newaxis)


def __getattr__(name):
    return _lift(getattr(numpy, name), name)
