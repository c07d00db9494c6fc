"""Making tensors: ``minigrad.tensor`` from any data, and the zeros/ones/randn family.

New tensors live on the current backend (``minigrad.set_backend``) unless ``backend=`` says otherwise, and have
the default floating dtype (float32 unless ``minigrad.set_default_dtype`` changed it) unless ``dtype=`` says
otherwise or the data carries its own (a NumPy array keeps its dtype; Python ints become int64).
"""

import numpy

from minigrad import backends, random
from minigrad.tensor import Tensor

_default_dtype = numpy.dtype(numpy.float32)


def set_default_dtype(dtype):
    """The dtype of new floating-point tensors: float32 (the default) or float64 (for gradient checks)."""
    global _default_dtype
    dtype = numpy.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"the default dtype must be a floating-point type (float32 or float64), not {dtype}")
    _default_dtype = dtype


def get_default_dtype():
    return _default_dtype


def _module(backend):
    return backends.get_module(backends.get_backend() if backend is None else backend)


def _dtype(dtype):
    return _default_dtype if dtype is None else numpy.dtype(dtype)


def _finish(array, requires_grad):
    return Tensor(array, requires_grad)  # validates: only floating-point tensors can require grad


def tensor(data, dtype=None, requires_grad=False, backend=None):
    """A new leaf tensor holding a copy of `data` (a number, nested lists, a NumPy/CuPy array or a Tensor)."""
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)):
        data = _values_of_tensors(data)
    # None for Python data (and anything else NumPy can convert)
    source = backends.backend_of(data) if backends.is_array(data) else None
    if backend is None:  # device data stays on its device; host data goes to the current backend
        backend = source if source not in (None, "numpy") else backends.get_backend()
    if dtype is None:
        if hasattr(data, "dtype"):
            dtype = data.dtype  # arrays keep their dtype, as in NumPy and PyTorch
        else:  # Python data: floats take the default dtype, integers int64, booleans bool
            kind = numpy.asarray(data).dtype.kind
            dtype = _default_dtype if kind == "f" else numpy.int64 if kind in "iu" else None
    if source not in (None, "numpy", backend):
        data = backends.to_numpy(data)  # an explicit device -> host copy before moving to another backend
    array = _module(backend).array(data, dtype=dtype, copy=True)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"minigrad.tensor: {type(data).__name__} data gives an array of dtype {array.dtype}, but "
                        "tensors hold numbers (bool, integer or floating point)")
    return _finish(array, requires_grad)


def _values_of_tensors(data):
    """Nested lists may hold Tensors (a list of per-batch losses, say): take their values, copied to the host,
    so that NumPy builds a numeric array instead of an array of Tensor objects."""
    if isinstance(data, Tensor):
        return backends.to_numpy(data.data)
    if isinstance(data, (list, tuple)):
        return [_values_of_tensors(item) for item in data]
    return data


def zeros(*shape, dtype=None, requires_grad=False, backend=None):
    return _finish(_module(backend).zeros(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False, backend=None):
    return _finish(_module(backend).ones(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False, backend=None):
    return _finish(_module(backend).full(_shape((shape,)), fill_value, dtype=_dtype(dtype)), requires_grad)


def zeros_like(other, dtype=None, requires_grad=False):
    return zeros(other.shape, dtype=other.dtype if dtype is None else dtype, requires_grad=requires_grad,
                 backend=other.backend)


def ones_like(other, dtype=None, requires_grad=False):
    return ones(other.shape, dtype=other.dtype if dtype is None else dtype, requires_grad=requires_grad,
                backend=other.backend)


def arange(start, stop=None, step=1, dtype=None, backend=None):
    """NumPy's arange; integer arguments give int64 unless `dtype` says otherwise."""
    return _finish(_module(backend).arange(start, stop, step, dtype=dtype), False)


def randn(*shape, dtype=None, requires_grad=False, backend=None):
    """Standard normal draws from minigrad's generator (see ``minigrad.manual_seed``)."""
    draws = random.generator().standard_normal(_shape(shape)).astype(_dtype(dtype))
    return _finish(_module(backend).asarray(draws), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, backend=None):
    """Uniform [0, 1) draws from minigrad's generator."""
    draws = random.generator().random(_shape(shape)).astype(_dtype(dtype))
    return _finish(_module(backend).asarray(draws), requires_grad)


def _shape(shape):
    """Accept ``zeros(2, 3)`` and ``zeros((2, 3))`` as NumPy and PyTorch users both expect."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(size) for size in shape)
