"""``Optimizer``: what SGD and Adam share — parameter groups, per-parameter state, ``zero_grad`` and
``state_dict``.

An optimizer holds references to the Parameters (not copies), reads each one's ``.grad`` after backward, and
changes ``.data`` in place in ``step()``, outside the graph. ``param_groups`` is a list of dicts, each with its
own hyperparameters (``optimizer.param_groups[0]["lr"] = 1e-4`` changes the learning rate), as in PyTorch.
"""

from minigrad import backends
from minigrad.tensor import Tensor


class Optimizer:
    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors (e.g. model.parameters()), not a single Tensor")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # Parameter -> {name: array or number}; Tensors hash by identity
        for group in groups:
            group = {**self.defaults, **group, "params": list(group["params"])}
            for parameter in group["params"]:
                if not isinstance(parameter, Tensor) or not parameter.requires_grad:
                    raise TypeError(f"{type(self).__name__} can only optimize Tensors that require grad, got "
                                    f"{type(parameter).__name__}")
            self.param_groups.append(group)

    def zero_grad(self):
        """Forget every parameter's gradient (``.grad = None``), so the next backward starts from zero."""
        for group in self.param_groups:
            for parameter in group["params"]:
                parameter.grad = None

    def step(self):
        raise NotImplementedError

    def state_dict(self):
        """{"state": {index: {name: value}}, "param_groups": [{hyperparameters, "params": [index, ...]}]}.

        Parameters are named by their position across the groups, as in PyTorch; array state is given as
        Tensors that share memory with the optimizer's.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            indices = []
            for parameter in group["params"]:
                index_of.setdefault(id(parameter), len(index_of))
                indices.append(index_of[id(parameter)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": indices})
        state = {}
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter in self.state:
                    state[index_of[id(parameter)]] = {
                        name: Tensor(value) if backends.is_array(value) else value
                        for name, value in self.state[parameter].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and per-parameter state saved by :meth:`state_dict` (copies are made)."""
        if len(state_dict["param_groups"]) != len(self.param_groups):
            raise ValueError(f"the state_dict has {len(state_dict['param_groups'])} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        parameters = [p for group in self.param_groups for p in group["params"]]
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"a parameter group of the state_dict has {len(saved['params'])} parameters, "
                                 f"this optimizer's has {len(group['params'])}")
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for index, entries in state_dict["state"].items():
            parameter = parameters[int(index)]
            self.state[parameter] = {name: _array_like(value, parameter) for name, value in entries.items()}


def _array_like(value, parameter):
    """A copy of saved state on the parameter's backend (arrays and Tensors), or the value itself (numbers)."""
    data = value.data if isinstance(value, Tensor) else value
    if not backends.is_array(data):
        return value
    if backends.backend_of(data) != parameter.backend:
        data = parameter.xp.asarray(backends.to_numpy(data))
    return data.astype(parameter.dtype, copy=True)
