"""gradcheck must fail on wrong backwards (the ones students actually write) and pass on right ones.

The wrong backwards here are the classic ones: a LayerNorm that returns zeros for dx (which an all-ones upstream
gradient cannot see), a derivative off by 1%, a bias gradient that is not summed over the broadcast batch axis, and
a backward that depends on leftover state.
"""

import numpy
import pytest

import minigrad
from tests.helpers import assert_close, host


def leaf(values):
    return minigrad.tensor(values, dtype="float64", requires_grad=True)


def random_leaf(*shape, seed=0):
    """Seeds apart from gradcheck's own (0, 1): an upstream gradient equal to the input is a degenerate case."""
    return leaf(numpy.random.default_rng(100 + seed).standard_normal(shape))


# --- LayerNorm over the last axis: right, and with the zero-dx bug ------------------------------------------------

class LayerNorm(minigrad.Function):
    """y = (x - mean) / sqrt(var + eps) over the last axis (N elements), var biased and computed in two passes.

    With g = dL/dy:  dL/dx = (inv_std / N) * (N g - sum(g) - normalized * sum(g * normalized)).
    """

    @staticmethod
    def forward(ctx, x, eps):
        xp = minigrad.get_array_module(x)
        centered = x - x.mean(axis=-1, keepdims=True)
        inv_std = 1 / xp.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
        normalized = centered * inv_std
        ctx.save_for_backward(normalized, inv_std)
        return normalized

    @staticmethod
    def backward(ctx, grad_output):
        normalized, inv_std = ctx.saved_tensors
        n = normalized.shape[-1]
        grad_input = (inv_std / n) * (n * grad_output - grad_output.sum(axis=-1, keepdims=True)
                                      - normalized * (grad_output * normalized).sum(axis=-1, keepdims=True))
        return grad_input, None


class LayerNormZeroDx(LayerNorm):
    """The bug: dx returned as zeros. With gamma = 1 the true dx of sum(y) IS zero, so only a random upstream
    gradient exposes it."""

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 0, None


def layer_norm_with_unit_gamma(function):
    gamma = minigrad.ones(5, dtype="float64")
    return lambda x: function.apply(x, 1e-5) * gamma


def test_a_correct_layer_norm_passes(backend):
    assert minigrad.gradcheck(layer_norm_with_unit_gamma(LayerNorm), random_leaf(3, 5))


def test_a_layer_norm_returning_zeros_for_dx_is_caught(backend):
    with pytest.raises(minigrad.GradcheckError) as error:
        minigrad.gradcheck(layer_norm_with_unit_gamma(LayerNormZeroDx), random_leaf(3, 5))
    assert error.value.input_index == 0 and error.value.analytic == 0.0 and abs(error.value.numeric) > 1e-3


def test_the_upstream_gradient_is_random_not_ones():
    seen = []

    class Record(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad_output):
            seen.append(host(grad_output).copy())
            return grad_output

    minigrad.gradcheck(Record.apply, random_leaf(4, 3))
    assert len(seen) == 2 and numpy.array_equal(seen[0], seen[1]), "both analytic passes use the same upstream"
    assert numpy.unique(seen[0]).size == 12, "the upstream gradient should be random, not constant"
    minigrad.gradcheck(Record.apply, random_leaf(4, 3), seed=1)
    assert not numpy.array_equal(seen[0], seen[2]), "the seed chooses the upstream gradient"


# --- a derivative that is slightly off --------------------------------------------------------------------------

def tanh_with_derivative_scaled_by(factor):
    class Tanh(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            output = minigrad.get_array_module(x).tanh(x)
            ctx.save_for_backward(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            (output,) = ctx.saved_tensors
            return grad_output * (1 - output * output) * factor

    return Tanh


def test_a_backward_with_a_one_percent_error_is_caught(backend):
    x = random_leaf(2, 3)
    assert minigrad.gradcheck(tanh_with_derivative_scaled_by(1.0).apply, x)
    with pytest.raises(minigrad.GradcheckError, match="out of tolerance"):
        minigrad.gradcheck(tanh_with_derivative_scaled_by(1.01).apply, x)


def test_raise_exception_false_returns_false_instead():
    x = random_leaf(2, 3)
    assert minigrad.gradcheck(tanh_with_derivative_scaled_by(1.01).apply, x, raise_exception=False) is False
    assert minigrad.gradcheck(tanh_with_derivative_scaled_by(1.0).apply, x, raise_exception=False) is True


# --- a bias gradient not summed over the broadcast axis ---------------------------------------------------------

class AddBiasUnsummed(minigrad.Function):
    """y = x + bias, bias broadcast over rows. The bug: the bias gradient keeps x's shape."""

    @staticmethod
    def forward(ctx, x, bias):
        return x + bias

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output


class AddBiasFirstRowOnly(AddBiasUnsummed):
    """The same bug made to fit the shape: the gradient of one row instead of the sum over all rows."""

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output[0]


class AddBias(AddBiasUnsummed):
    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, minigrad.unbroadcast(grad_output, (grad_output.shape[-1],))


def test_a_bias_gradient_not_summed_over_the_broadcast_axis_is_caught(backend):
    x, bias = random_leaf(4, 3), random_leaf(3, seed=1)
    assert minigrad.gradcheck(AddBias.apply, (x, bias))
    with pytest.raises(minigrad.GradcheckError, match=r"AddBiasUnsummed.*\(4, 3\).*'bias'.*\(3,\)"):
        minigrad.gradcheck(AddBiasUnsummed.apply, (x, bias))
    with pytest.raises(minigrad.GradcheckError) as error:
        minigrad.gradcheck(AddBiasFirstRowOnly.apply, (x, bias))
    assert error.value.input_index == 1


# --- the failure report -------------------------------------------------------------------------------------------

class MulWrongAtOneElement(minigrad.Function):
    """y = a * b with dL/db off by 0.5 at b[1, 2]."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        grad_b = grad_output * a
        grad_b[1, 2] += 0.5
        return grad_output * b, grad_b


def test_the_report_names_the_input_the_worst_index_both_values_and_the_errors():
    a, b = random_leaf(2, 3), random_leaf(2, 3, seed=1)
    with pytest.raises(minigrad.GradcheckError) as caught:
        minigrad.gradcheck(MulWrongAtOneElement.apply, (a, b))
    error = caught.value
    assert isinstance(error, RuntimeError)
    assert error.input_index == 1 and tuple(int(k) for k in error.index) == (1, 2)
    assert abs(error.analytic - error.numeric - 0.5) < 1e-6
    message = str(error)
    for expected in ("input 1", "(1, 2)", "analytic", "numeric", "absolute error", "relative error", "allowed",
                     f"{error.analytic:.10g}", f"{error.numeric:.10g}", "1 of 6"):
        assert expected in message, f"{expected!r} missing from: {message}"


def test_float32_inputs_get_a_clear_error():
    x = minigrad.tensor([1.0, 2.0], dtype="float32", requires_grad=True)
    with pytest.raises(TypeError, match=r"input 0 is float32.*float64"):
        minigrad.gradcheck(lambda t: t.tanh(), x)


def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="requires grad"):
        minigrad.gradcheck(lambda t: t.tanh(), minigrad.tensor([1.0], dtype="float64"))


# --- fast (directional) mode ------------------------------------------------------------------------------------

def test_fast_mode_passes_a_right_backward_and_catches_a_wrong_one(backend):
    x = random_leaf(20, 30)
    assert minigrad.gradcheck(tanh_with_derivative_scaled_by(1.0).apply, x, fast_mode=True)
    with pytest.raises(minigrad.GradcheckError, match="fast_mode"):
        minigrad.gradcheck(tanh_with_derivative_scaled_by(1.01).apply, x, fast_mode=True)
    a, b = random_leaf(2, 3), random_leaf(2, 3, seed=1)
    assert minigrad.gradcheck(lambda p, q: p * q, (a, b), fast_mode=True)
    assert not minigrad.gradcheck(MulWrongAtOneElement.apply, (a, b), fast_mode=True, raise_exception=False)


# --- reproducibility and state -----------------------------------------------------------------------------------

def test_a_backward_that_changes_from_call_to_call_is_caught():
    class Drifting(minigrad.Function):
        calls = 0

        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad_output):
            Drifting.calls += 1
            return grad_output * (2.0 + 1e-9 * Drifting.calls)   # far below gradcheck's tolerance, yet caught

    with pytest.raises(minigrad.GradcheckError, match="not reproducible"):
        minigrad.gradcheck(Drifting.apply, random_leaf(3))


def test_a_forward_that_changes_from_call_to_call_is_caught():
    calls = []

    def drifting(x):
        calls.append(1)
        return x * float(len(calls))

    with pytest.raises(minigrad.GradcheckError, match="different outputs"):
        minigrad.gradcheck(drifting, random_leaf(3))


class RunningScale:
    """A Module-like object that, like BatchNorm in training, updates a buffer on every call (in place) and keeps
    the tensors ``load_state_dict`` hands it."""

    def __init__(self):
        self.scale = minigrad.tensor(2.0, dtype="float64")

    def __call__(self, x):
        output = x * self.scale.item()
        self.scale.data += 1.0
        return output

    def state_dict(self):
        return {"scale": self.scale}

    def load_state_dict(self, state):
        self.scale = state["scale"]


def test_a_module_state_is_restored_around_every_call():
    module = RunningScale()
    x = random_leaf(2, 3)
    assert minigrad.gradcheck(module, x)
    assert module.scale.item() == 2.0


def test_gradcheck_leaves_the_callers_tensors_alone():
    x = random_leaf(2, 3)
    before = host(x).copy()
    minigrad.gradcheck(lambda t: t.exp(), x)
    assert x.grad is None
    assert_close(x.detach(), before, atol=0)


def test_mixed_inputs_tuple_outputs_and_inputs_without_grad(backend):
    a, b = random_leaf(2, 3), random_leaf(3, seed=1)
    constant = minigrad.tensor([1.0, 2.0, 3.0], dtype="float64")
    assert minigrad.gradcheck(lambda p, scale, q, c: ((p * q * scale).tanh(), (q * c).sum()), (a, 0.5, b, constant))


def test_finite_differences_leaving_the_domain_fail_instead_of_passing():
    # At x = 1e-7, x - eps is negative and log gives NaN: the check is meaningless there and must say so.
    x = leaf([1e-7, 1.0])
    with numpy.errstate(invalid="ignore"):
        with pytest.raises(minigrad.GradcheckError, match="non-finite") as error:
            minigrad.gradcheck(lambda t: t.log(), x)
        assert error.value.index == (0,) and "1 of 2" in str(error.value)
        assert not minigrad.gradcheck(lambda t: t.log(), x, fast_mode=True, raise_exception=False)


def test_a_nan_output_is_reported_as_out_of_tolerance_not_as_irreproducible():
    x = leaf([-1.0, 1.0])
    with numpy.errstate(invalid="ignore"):
        with pytest.raises(minigrad.GradcheckError) as error:
            minigrad.gradcheck(lambda t: t.sqrt(), x)
    message = str(error.value)
    assert "different outputs" not in message and "not reproducible" not in message
    assert "input 0" in message and "(0,)" in message, message
