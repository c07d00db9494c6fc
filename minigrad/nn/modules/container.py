"""``Sequential``: layers applied one after another, registered under the names "0", "1", ... (PyTorch's keys)."""

from minigrad.nn.modules.module import Module


class Sequential(Module):
    """``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))(x)`` computes layer 2 of layer 1 of layer 0 of x."""

    def __init__(self, *layers):
        super().__init__()
        for layer in layers:
            self.append(layer)

    def append(self, layer):
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential holds Modules, got a {type(layer).__name__}")
        setattr(self, str(len(self._modules)), layer)
        return self

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, index):
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        return layers[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
