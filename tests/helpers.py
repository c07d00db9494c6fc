"""Helpers shared by the tests: moving values between minigrad, NumPy and PyTorch, and comparing them."""

import numpy

import minigrad
from minigrad import backends


def host(value):
    """A NumPy array from a minigrad Tensor, a backend array, a torch tensor, or anything array-like."""
    if isinstance(value, minigrad.Tensor):
        value = value.data
    if hasattr(value, "detach"):  # torch
        return value.detach().cpu().numpy()
    if backends.is_array(value) and backends.backend_of(value) != "numpy":
        return backends.to_numpy(value)
    return numpy.asarray(value)


def to_torch(value, requires_grad=False):
    import torch
    tensor = torch.tensor(host(value))
    return tensor.requires_grad_(requires_grad) if tensor.is_floating_point() else tensor


def assert_close(actual, expected, atol=1e-10, rtol=0.0, what=""):
    actual, expected = host(actual), host(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    numpy.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=what)


class Cube(minigrad.Function):
    """The README's example op, unchanged: y = x^3, its backward written with operators (so twice differentiable)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad_output
