"""Containers: ``Sequential`` (layers applied one after another), ``ModuleList``, ``ModuleDict`` and
``ParameterList``, registering what they hold under PyTorch's keys ("0", "1", ... or the dict's keys)."""

from minigrad.nn.modules.module import Module, Parameter


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: modules registered under "0", "1", ..., indexed and iterated in order."""

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got a {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        return self._of(modules[index]) if isinstance(index, slice) else modules[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(_ModuleSequence):
    """``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))(x)`` computes layer 2 of layer 1 of layer 0 of x."""

    def __init__(self, *layers):
        super().__init__()
        for layer in layers:
            self.append(layer)

    @staticmethod
    def _of(layers):
        return Sequential(*layers)

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x


class ModuleList(_ModuleSequence):
    """A list of modules, registered under "0", "1", ... so that ``parameters()`` and ``state_dict()`` see them;
    unlike ``Sequential`` it has no ``forward``: the owner decides how to call them."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    @staticmethod
    def _of(modules):
        return ModuleList(modules)

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self


class ModuleDict(Module):
    """Modules under string keys, registered as sub-modules of those names (in insertion order)."""

    def __init__(self, modules=None):
        super().__init__()
        for key, module in dict(modules or {}).items():
            self[key] = module

    def __setitem__(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds Modules, got a {type(module).__name__}")
        setattr(self, key, module)

    def __getitem__(self, key):
        return self._modules[key]

    def __delitem__(self, key):
        delattr(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


class ParameterList(Module):
    """A list of Parameters, registered under "0", "1", ... (a plain Tensor is made a Parameter, as PyTorch does)."""

    def __init__(self, parameters=()):
        super().__init__()
        for parameter in parameters:
            self.append(parameter)

    def append(self, parameter):
        if not isinstance(parameter, Parameter):
            parameter = Parameter(parameter)
        self.register_parameter(str(len(self._parameters)), parameter)
        return self

    def __getitem__(self, index):
        return list(self._parameters.values())[index]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())
