"""The grader's references against PyTorch in float64, and the solutions against the references.

Every score the grader gives rests on the references in minigrad/grading/references/, so they are checked here
against an independent implementation (PyTorch's functions and autograd, in float64, to 1e-10) on every case
the grader draws: public, hidden, gradient-check, edge and BPTT cases. The solutions are then checked against the
references in this process on the same cases, on every backend: NumPy, strict (CuPy-like), and CuPy on a GPU.
"""

import numpy
import pytest
import torch

import minigrad
from minigrad.grading import spec
from minigrad.grading.grader import prepare, reference_unroll
from tests.helpers import assert_close

F = torch.nn.functional
SEED = 20160721  # any seed: the cases are drawn from it exactly as the grader draws them


def _torch_reference(task, args, grad_output):
    """(output, grads) from PyTorch autograd; None for arguments without gradient."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) if argument.kind == "tensor"
               else torch.tensor(a) if argument.kind == "index" else a
               for argument, a in zip(task.arguments, args)]
    name = task.task
    if name == "silu":
        output = F.silu(tensors[0])
    elif name == "matmul":
        output = torch.matmul(*tensors)
    elif name == "cross_entropy":
        output = F.cross_entropy(tensors[0], tensors[1])
    elif name == "layernorm":
        x, weight, bias, eps = tensors
        output = F.layer_norm(x, (x.shape[-1],), weight, bias, eps)
    elif name == "batchnorm":
        x, weight, bias, eps = tensors
        output = F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)
    elif name == "rnn_cell":
        output = torch.rnn_tanh_cell(*tensors)
    elif name == "weightnorm":
        v, g = tensors
        output = g[:, None] * v / v.norm(dim=1, keepdim=True)
    elif name == "rmsnorm":
        x, weight, eps = tensors
        output = F.rms_norm(x, (x.shape[-1],), weight, eps)
    else:
        raise AssertionError(f"no PyTorch counterpart written for {name}")
    output.backward(torch.tensor(grad_output, dtype=torch.float64))
    grads = [t.grad.numpy() if isinstance(t, torch.Tensor) and t.requires_grad else None for t in tensors]
    return output.detach().numpy(), grads


def _cases(task):
    return [task.public_case, task.gradcheck_case, *task.hidden_cases, *task.edge_cases,
            *([task.large_case] if task.large_case is not None else [])]


CASES = [(task.task, case.name) for task in spec.all_exercises() for case in _cases(task)]


def _find(task_name, case_name):
    task = spec.get(task_name)
    return task, next(case for case in _cases(task) if case.name == case_name)


def _float64(args):
    return [a.astype(numpy.float64) if isinstance(a, numpy.ndarray) and a.dtype.kind == "f" else a for a in args]


@pytest.mark.parametrize("task_name, case_name", CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_reference_matches_pytorch(task_name, case_name):
    task, case = _find(task_name, case_name)
    prepared = prepare(task, case, SEED)
    args = _float64(prepared.args)
    expected_output, expected_grads = _torch_reference(task, args, prepared.grad_output.astype(numpy.float64))
    # 1e-10, except where the case itself is ill-conditioned (rows with mean 1e8: x is only known to 1.5e-8)
    rtol, atol = (1e-10, 1e-10) if case.tolerance is None else (case.tolerance.rtol / 10, case.tolerance.atol / 10)
    scale = max(1.0, float(numpy.abs(expected_output).max()))
    assert_close(prepared.expected_output, expected_output, atol=atol * scale, rtol=rtol, what="output")
    for argument, ours, theirs in zip(task.arguments, prepared.expected_grads, expected_grads):
        if argument.differentiable:
            scale = max(1.0, float(numpy.abs(theirs).max()))
            assert_close(ours, theirs, atol=atol * scale, rtol=rtol, what=f"gradient of {argument.name}")
        else:
            assert ours is None


def test_bptt_reference_matches_pytorch_unrolled():
    task = spec.get("rnn_cell")
    prepared = prepare(task, task.bptt_case, SEED, unroll=True)
    x, h, *weights = (torch.tensor(a, requires_grad=True) for a in prepared.args)
    states, hidden = [], h
    for t in range(x.shape[0]):
        hidden = torch.rnn_tanh_cell(x[t], hidden, *weights)
        states.append(hidden)
    torch.stack(states).backward(torch.tensor(prepared.grad_output))
    assert_close(prepared.expected_output, torch.stack(states), what="hidden states")
    for name, ours, leaf in zip(["x", "h0", "weight_ih", "weight_hh", "bias_ih", "bias_hh"],
                                prepared.expected_grads, [x, h, *weights]):
        assert_close(ours, leaf.grad, atol=1e-10, what=f"BPTT gradient of {name}")


def test_the_upstream_gradient_is_random_and_never_all_ones():
    for task in spec.all_exercises():
        prepared = prepare(task, task.gradcheck_case, SEED)
        assert not numpy.allclose(prepared.grad_output, 1.0), task.task


def _load_solution(task):
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"solution_{task.task}", task.solution_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, task.function)


@pytest.mark.parametrize("task_name", spec.TASKS)
def test_solution_matches_reference_in_process(task_name, backend):
    """The solution called directly (as the child calls it) agrees with the reference on every case, on every
    backend (CuPy where a GPU is available)."""
    task = spec.get(task_name)
    function = _load_solution(task)
    xp = minigrad.backends.get_module(backend)
    for case in _cases(task):
        prepared = prepare(task, case, SEED)
        ctx = minigrad.Context()
        ctx.needs_input_grad = tuple(argument.differentiable for argument in task.arguments)
        device = [xp.asarray(a) if isinstance(a, numpy.ndarray) else a for a in prepared.args]
        output = function.forward(ctx, *device)
        grads = function.backward(ctx, xp.asarray(prepared.grad_output))
        grads = grads if isinstance(grads, tuple) else (grads,)
        tolerance = case.allowed
        scale = max(1.0, float(numpy.abs(prepared.expected_output).max()))
        assert_close(minigrad.backends.to_numpy(xp.asarray(output)), prepared.expected_output,
                     atol=tolerance.atol * scale, rtol=tolerance.rtol, what=f"{case.name}: output")
        for argument, ours, expected in zip(task.arguments, grads, prepared.expected_grads):
            if argument.differentiable:
                scale = max(1.0, float(numpy.abs(expected).max()))
                assert_close(minigrad.backends.to_numpy(ours), expected, atol=tolerance.atol * scale,
                             rtol=tolerance.rtol, what=f"{case.name}: gradient of {argument.name}")


def test_bptt_reference_agrees_with_the_solution_unrolled_through_the_engine():
    task = spec.get("rnn_cell")
    function = _load_solution(task)
    prepared = prepare(task, task.bptt_case, SEED, unroll=True)
    leaves = [minigrad.tensor(a, requires_grad=True) for a in prepared.args]
    hidden, states = leaves[1], []
    for t in range(prepared.args[0].shape[0]):
        hidden = function.apply(leaves[0][t], hidden, *leaves[2:])
        states.append(hidden)
    (minigrad.stack(states) * minigrad.tensor(prepared.grad_output)).sum().backward()
    for leaf, expected in zip(leaves, prepared.expected_grads):
        assert_close(leaf.grad, expected, atol=1e-12)
    again, _ = reference_unroll(task, prepared.args, None)
    assert_close(again, prepared.expected_output)
