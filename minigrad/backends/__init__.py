"""Where tensors live: the NumPy, CuPy and strict array backends.

A backend is an *array module* ``xp`` with NumPy's API: ``numpy`` itself, ``cupy``, or ``strict`` (a NumPy-backed
stand-in for CuPy used by the tests, see :mod:`minigrad.backends.strict`). Ops never import NumPy to work on tensor
data; they ask the data which module it belongs to (Chainer's ``xp`` idiom)::

    xp = minigrad.get_array_module(x)
    y = xp.exp(x)

so the same op code runs on the CPU and the GPU.

The backend that *new* tensors are created on is chosen, in order of precedence, by ``use_backend(name)`` (a
context manager), ``set_backend(name)``, and the environment variable ``MINIGRAD_BACKEND``; the default is
"numpy". Asking for "cupy" where it cannot work raises :class:`BackendUnavailableError`: minigrad never falls back
to the CPU silently.
"""

import contextlib
import os

import numpy

BACKENDS = ("numpy", "cupy", "strict")


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot be used on this machine (CuPy missing, or no usable GPU)."""


_modules = {"numpy": numpy}          # name -> array module, filled lazily for cupy and strict
_array_types = {numpy.ndarray: "numpy"}  # array type -> backend name
_current = None                       # set below from MINIGRAD_BACKEND
tensor_namespace = None  # while a backward records its graph: backend module -> its namespace of Tensor functions


def _load_cupy():
    try:
        import cupy
    except ImportError as error:
        raise BackendUnavailableError(
            "backend 'cupy' is unavailable: CuPy is not installed "
            f"({error}). Install it with `pip install \"minigrad[gpu]\"` (or the cupy-cudaXXx wheel matching "
            "your CUDA), or use the 'numpy' backend."
        ) from None
    try:
        available = cupy.is_available()
    except Exception:  # a broken CUDA install raises instead of returning False
        available = False
    if not available:
        raise BackendUnavailableError(
            "backend 'cupy' is unavailable: CuPy is installed but no usable GPU was found (no CUDA device, or "
            "the driver is missing). Run on a machine with an NVIDIA GPU, or use the 'numpy' backend."
        )
    return cupy


def _load_strict():
    from minigrad.backends import strict
    return strict


def get_module(name):
    """Return the array module of backend `name`, loading it on first use."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(map(repr, BACKENDS))}")
    module = _modules.get(name)
    if module is None:
        module = _load_cupy() if name == "cupy" else _load_strict()
        _modules[name] = module
        _array_types[module.ndarray] = name
    return module


def is_array(value):
    """True when `value` is an array of a minigrad backend (a ``numpy.ndarray``, ``cupy.ndarray`` or strict array,
    or a subclass of one): the one question to ask before treating something as tensor data."""
    return _name_of_type(type(value)) is not None


def backend_of(array):
    """The backend name ("numpy", "cupy" or "strict") that owns `array`; TypeError if none does."""
    name = _name_of_type(type(array))
    if name is None:
        raise TypeError(f"{type(array).__name__} is not an array of any minigrad backend")
    return name


def get_array_module(*arrays):
    """The array module (``numpy``, ``cupy`` or the strict module) that `arrays` belong to.

    Accepts raw arrays, Tensors and Python scalars; scalars do not decide anything, and with no arrays at all the
    answer is NumPy. While a backward records a graph of itself (``create_graph=True``), a Tensor's module is the
    namespace of NumPy's functions on Tensors (:mod:`minigrad.autograd.tensor_xp`), so that backward's ``xp`` calls
    are recorded too.
    """
    for array in arrays:
        name = _array_types.get(type(array))
        if name is None:
            if hasattr(array, "_node"):  # a Tensor (tensor.py imports this module, so the class is not imported)
                if tensor_namespace is not None:
                    return tensor_namespace(get_array_module(array.data))
                array = array.data
            name = _name_of_type(type(array))
        if name is not None:
            return _modules[name]
    return numpy


def _name_of_type(array_type):
    """The backend name of an array type (exact, else by subclass), or None."""
    name = _array_types.get(array_type)
    if name is None:
        for known_type, known_name in _array_types.items():
            if issubclass(array_type, known_type):
                return known_name
    return name


def get_backend():
    """The name of the backend new tensors are created on."""
    return _current


def set_backend(name):
    """Create new tensors on backend `name` from now on ("numpy", "cupy" or "strict")."""
    global _current
    get_module(name)  # raises BackendUnavailableError before anything changes
    _current = name


@contextlib.contextmanager
def use_backend(name):
    """``with minigrad.use_backend("cupy"): ...`` creates the tensors of the block on `name`."""
    previous = _current
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def to_numpy(array):
    """Copy `array` of any backend to a NumPy array (an explicit device-to-host copy for CuPy)."""
    if isinstance(array, numpy.ndarray):
        return array
    return array.get()


_current = os.environ.get("MINIGRAD_BACKEND", "numpy").strip().lower() or "numpy"
if _current not in BACKENDS:
    raise ValueError(f"MINIGRAD_BACKEND={_current!r} is not a backend; expected one of {', '.join(BACKENDS)}")
