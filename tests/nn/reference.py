"""Running a minigrad layer and its PyTorch counterpart side by side, in float64, with the same weights."""

import numpy
import torch

import minigrad
from tests.helpers import assert_close, host


def copy_weights_to_torch(module, torch_module):
    """Load minigrad's state_dict into the torch module, strictly: the key names must be PyTorch's."""
    torch_module.load_state_dict({key: torch.tensor(host(value)) for key, value in module.state_dict().items()})
    return torch_module


def random_inputs(*shapes, seed=0, scale=1.0):
    rng = numpy.random.default_rng(seed)
    return [scale * rng.standard_normal(shape) for shape in shapes]


def compare_calls(ours, theirs, arrays, seed=1, parameters=None, torch_parameters=None):
    """Call ours(*tensors) and theirs(*torch tensors) on the same float64 `arrays` (None passes through),
    backpropagate one random upstream gradient through both, and check the output, every input gradient and
    every parameter gradient to 1e-10. `parameters` default to the named parameters of the modules."""
    mine = [None if a is None else minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    reference = [None if a is None else torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    output, expected = ours(*mine), theirs(*reference)
    assert_close(output, expected, what="output")
    upstream = numpy.random.default_rng(seed).standard_normal(expected.shape)
    output.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for index, (a, b) in enumerate(zip(mine, reference)):
        if a is not None:
            assert_close(a.grad, b.grad, what=f"gradient of input {index}")
    if parameters is None:
        parameters, torch_parameters = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert parameters.keys() == torch_parameters.keys()
    for name, parameter in parameters.items():
        assert parameter.grad is not None, f"no gradient reached {name}"
        assert_close(parameter.grad, torch_parameters[name].grad, what=f"gradient of {name}")
    return output


def perturb_parameters(module, seed=5, scale=0.3, select=lambda name: True):
    """Add noise to the selected parameters (through load_state_dict, so on any backend): gains and shifts
    move off 1 and 0, where a swapped or ignored parameter would go unnoticed."""
    rng = numpy.random.default_rng(seed)
    state = {key: host(value) for key, value in module.state_dict().items()}
    for name, parameter in module.named_parameters():
        if select(name):
            state[name] = state[name] + scale * rng.standard_normal(parameter.shape)
    module.load_state_dict(state)
    return module


def train_then_evaluate(layer, reference, shape, steps):
    """`steps` training calls of a normalization layer and its PyTorch twin (outputs, gradients, and every
    state_dict entry after each step), then one call in evaluation mode, which must leave the state alone."""
    for step in range(steps):
        layer.zero_grad()
        reference.zero_grad()
        compare_calls(layer, reference, random_inputs(shape, seed=step, scale=2.0), seed=10 + step)
        for key, value in reference.state_dict().items():
            assert_close(layer.state_dict()[key], value, what=f"{key} after training step {step}")
    layer.eval()
    reference.eval()
    layer.zero_grad()
    reference.zero_grad()
    compare_calls(layer, reference, random_inputs(shape, seed=9, scale=2.0))
    for key, value in reference.state_dict().items():
        assert_close(layer.state_dict()[key], value, what=f"{key} after evaluation")
