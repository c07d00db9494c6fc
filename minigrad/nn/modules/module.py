"""``Module`` and ``Parameter``: how a layer keeps its weights, its buffers and its sub-layers.

Assigning in ``__init__`` is registering::

    class TwoLayer(Module):
        def __init__(self):
            super().__init__()
            self.hidden = Linear(4, 8)                     # a sub-module
            self.scale = Parameter(minigrad.ones(8))       # a parameter, trained by the optimizer
            self.register_buffer("steps", minigrad.zeros(1))  # state that is saved but not trained

        def forward(self, x):
            return self.hidden(x) * self.scale

``parameters()`` walks that tree; ``state_dict()`` names each entry by its path ("hidden.weight", as PyTorch
does), so a state saved from one model loads into another of the same architecture.
"""

from collections import namedtuple

import numpy

from minigrad import backends
from minigrad.tensor import Tensor


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable: ``requires_grad`` is True unless told otherwise.

    Only the Parameter itself is special: the results of ops on it, its ``.grad`` and its copies are plain
    Tensors.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad)

    def __deepcopy__(self, memo):
        return Parameter(self.data.copy(), self.requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor(self.data).__repr__()


class Module:
    """Base class of every layer: subclass it, assign parameters and sub-modules in ``__init__``, define
    ``forward``. Calling the module calls ``forward``."""

    def __init__(self):
        # Through object.__setattr__, because our own __setattr__ needs these dicts to exist.
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward(...)")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- registration by assignment ----------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called; call "
                                 f"super().__init__() first in {type(self).__name__}.__init__")
        if name in self._parameters and not isinstance(value, Parameter):
            if value is not None:  # e.g. ``self.weight = self.weight * 2`` would silently stop training it
                raise TypeError(f"cannot assign a {type(value).__name__} as parameter {name!r} of "
                                f"{type(self).__name__}: expected a Parameter or None")
            self._parameters[name] = None  # ``self.bias = None``: declared but absent, as in PyTorch
            return
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} as buffer {name!r} of "
                                f"{type(self).__name__}: expected a Tensor or None")
            self._buffers[name] = value  # reassigning a buffer keeps it a buffer
            return
        self._forget(name)
        if isinstance(value, Parameter):
            self._parameters[name] = value
            _read_quickly(type(self), name, "_parameters")
        elif isinstance(value, Module):
            self._modules[name] = value
            _read_quickly(type(self), name, "_modules")
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # when normal lookup fails (or _Registered finds no entry): the registries
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if not self._forget(name):
            raise AttributeError(name)

    def _forget(self, name):
        """Remove `name` from every registry and the instance dict; True if it was anywhere."""
        found = False
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                found = True
        if name in self.__dict__:
            object.__delattr__(self, name)
            found = True
        return found

    def register_buffer(self, name, tensor):
        """Keep `tensor` (or None) as state that is saved in ``state_dict`` and moved by ``to`` but not trained."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}, ...): a buffer is a Tensor or None, not "
                            f"{type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        _read_quickly(type(self), name, "_buffers")

    def register_parameter(self, name, parameter):
        """``self.name = parameter``, also for None (a declared but absent parameter, like ``bias=False``)."""
        if parameter is not None and not isinstance(parameter, Parameter):
            raise TypeError(f"register_parameter({name!r}, ...): expected a Parameter or None, not "
                            f"{type(parameter).__name__}")
        self._forget(name)
        self._parameters[name] = parameter
        _read_quickly(type(self), name, "_parameters")

    # --- walking the tree -------------------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(path, module) for this module and every module below it, depth first, each module once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield path, module
            children = [(f"{path}.{name}" if path else name, child)
                        for name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix="", recurse=True):
        """(path, parameter) pairs, e.g. ("0.weight", ...); a parameter shared by two layers appears once."""
        yield from self._named_entries("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self, prefix="", recurse=True):
        yield from self._named_entries("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def _named_entries(self, registry, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for path, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{path}.{name}" if path else name), value

    # --- modes and gradients -------------------------------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (BatchNorm uses batch statistics and updates its running averages); returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode (BatchNorm uses its running averages); the same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self):
        """Forget every parameter's gradient (set ``.grad`` to None, as PyTorch does by default)."""
        for parameter in self.parameters():
            parameter.grad = None

    # --- state ------------------------------------------------------------------------------------------------
    def state_dict(self):
        """{path: Tensor} for every parameter and buffer (PyTorch's key names and order).

        The Tensors share memory with the module (no copy), as PyTorch's do; copy them to keep a snapshot. A
        layer used twice appears under both of its paths, as in PyTorch.
        """
        return {key: Tensor(value.data) for key, value in self._state_entries()}

    def _state_entries(self, prefix=""):
        """(path, Tensor) for this module's parameters and buffers, then its children's, recursively."""
        for registry in (self._parameters, self._buffers):
            for name, value in registry.items():
                if value is not None:
                    yield prefix + name, value
        for name, child in self.named_children():
            yield from child._state_entries(f"{prefix}{name}.")

    def load_state_dict(self, state_dict, strict=True):
        """Copy the values of `state_dict` (Tensors or NumPy arrays) into this module's parameters and buffers.

        Each value is converted to the dtype and backend of the entry it replaces. Every key and shape is
        checked before anything is copied: a missing or unexpected key (with ``strict=True``), or a shape that
        differs, raises an error naming the key and leaves the module unchanged. Returns
        ``(missing_keys, unexpected_keys)`` as a named tuple, as PyTorch does.
        """
        targets = dict(self._state_entries())
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        where = f"loading a state_dict into {type(self).__name__}"
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append("missing key(s) " + ", ".join(repr(key) for key in missing))
            if unexpected:
                problems.append("unexpected key(s) " + ", ".join(repr(key) for key in unexpected))
            raise RuntimeError(f"error {where}: {'; '.join(problems)}")
        converted = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            shape = tuple(value.shape) if hasattr(value, "shape") else numpy.shape(value)
            if shape != target.shape:
                raise RuntimeError(f"error {where}: size mismatch for {key!r}: the state_dict has shape {shape}, "
                                   f"the module has shape {target.shape}")
            converted[key] = _copy_to(value, target)
        for key, data in converted.items():  # every check passed: now change the module
            targets[key].data = data
        return IncompatibleKeys(missing, unexpected)

    # --- where and how the numbers are stored ---------------------------------------------------------------
    def to(self, backend):
        """Move every parameter, gradient and buffer to `backend` ("numpy", "cupy", "strict"); returns self."""
        xp = backends.get_module(backend)
        return self._convert(lambda array: array if backends.backend_of(array) == backend
                             else xp.asarray(backends.to_numpy(array)))

    def double(self):
        """Convert floating-point parameters and buffers to float64 (for gradient checks); returns self."""
        return self._convert(lambda array: array.astype("float64") if array.dtype.kind == "f" else array)

    def float(self):
        """Convert floating-point parameters and buffers to float32; returns self."""
        return self._convert(lambda array: array.astype("float32") if array.dtype.kind == "f" else array)

    def _convert(self, convert):
        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor.data = convert(tensor.data)  # in place on the Tensor object: optimizers keep their reference
            if tensor.grad is not None:
                tensor.grad = Tensor(convert(tensor.grad.data))
        return self

    # --- printing ---------------------------------------------------------------------------------------------
    def extra_repr(self):
        """The settings shown between the parentheses of ``repr(module)``; layers override it."""
        return ""

    def _describe(self):
        """The module's one-line description, ``Linear(in_features=4, out_features=2, bias=True)``: error
        messages start with it, so they name the layer that failed."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self):
        children = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = ([self.extra_repr()] if self.extra_repr() else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class _Registered:
    """``module.weight`` read from the module's registry, by a class attribute of that name.

    A parameter, buffer or sub-module lives in its registry (``_parameters``, ...), not in the instance dict, so
    Python's normal lookup of ``self.weight`` fails and then calls ``Module.__getattr__``: 0.6 us, paid on every
    read in every forward. This descriptor makes the normal lookup succeed, in about a quarter of that, and still
    reads the registry each time, so that whatever writes the registry (``model._modules["fc"] = new_layer``, as
    done to PyTorch models) is what a read gives. It defines no ``__set__``: assignments still go through
    ``Module.__setattr__``, and a plain attribute of the same name in the instance dict still wins.
    """

    __slots__ = ("name", "registry")

    def __init__(self, name, registry):
        self.name, self.registry = name, registry

    def __get__(self, module, owner=None):
        if module is None:  # read on the class itself
            return self
        if owner.__getattr__ is not _module_getattr:  # a subclass that reads its attributes its own way
            return module.__getattr__(self.name)
        value = module.__dict__.get(self.registry, _NO_ENTRIES).get(self.name, _ABSENT)
        if value is _ABSENT:  # in another registry (another instance), or an AttributeError
            return module.__getattr__(self.name)
        return value


_module_getattr = Module.__getattr__
_NO_ENTRIES = {}  # for a module whose __init__ has not run yet
_ABSENT = object()


def _read_quickly(module_class, name, registry):
    """Give `module_class` a _Registered attribute for `name`, where that changes nothing but speed: not where the
    class (or a base) defines the name already (``forward``, a property: reading it gives the class's, as before
    and in PyTorch), nor on a class with its own ``__getattr__``, which then sees every read as before (as does a
    subclass of one that has the attribute: see _Registered.__get__)."""
    if (module_class.__getattr__ is not Module.__getattr__ or name.startswith("__")
            or hasattr(module_class, name)):
        return
    setattr(module_class, name, _Registered(name, registry))


def _copy_to(value, target):
    """A fresh array holding `value` (a Tensor, a backend array or array-like data) with the dtype and backend
    of the Tensor `target`."""
    data = value.data if isinstance(value, Tensor) else value
    source = backends.backend_of(data) if backends.is_array(data) else None
    if source == target.backend:
        return data.astype(target.dtype, copy=True)
    if source is not None:
        data = backends.to_numpy(data)  # an explicit copy to the host before moving to the target's backend
    return target.xp.array(numpy.asarray(data), dtype=target.dtype)
