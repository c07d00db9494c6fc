"""autograd.grad and backward(create_graph=True): PyTorch's semantics, students' Functions, errors, memory.

The numbers of every op's second derivative are in test_higher_order.py; here, the engine's promises.
"""

import gc
import weakref

import numpy
import pytest

import minigrad
from minigrad.autograd import grad
from tests.helpers import Cube, assert_close

torch = pytest.importorskip("torch")


def leaf(values):
    return minigrad.tensor(values, dtype="float64", requires_grad=True)


def test_the_readme_cube_is_twice_and_three_times_differentiable(backend):
    x = leaf([1.0, -2.0, 0.5])
    (first,) = grad(Cube.apply(x).sum(), x, create_graph=True)
    (second,) = grad(first.sum(), x, create_graph=True)
    (third,) = grad(second.sum(), x)
    assert_close(first, 3 * x.data ** 2)
    assert_close(second, 6 * x.data)
    assert_close(third, [6.0, 6.0, 6.0])


def test_a_student_backward_written_with_xp_functions_is_differentiated():
    class Softsign(minigrad.Function):  # y = x / (1 + |x|), dy/dx = 1 / (1 + |x|)^2
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x / (1 + minigrad.get_array_module(x).abs(x))

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            xp = minigrad.get_array_module(x)
            return grad_output / xp.square(1 + xp.abs(x))

    x = leaf([0.3, -1.2, 2.0])
    assert minigrad.gradgradcheck(Softsign.apply, x)
    (first,) = grad(Softsign.apply(x).sum(), x, create_graph=True)
    (second,) = grad(first.sum(), x)
    assert_close(second, -2 * numpy.sign(x.data) / (1 + numpy.abs(x.data)) ** 3, atol=1e-12)


def test_a_saved_intermediate_array_raises_a_clear_error_under_create_graph():
    class Softplus(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            xp = minigrad.get_array_module(x)
            s = 1 / (1 + xp.exp(-x))   # an intermediate computed in forward ...
            ctx.save_for_backward(s)   # ... and saved: its dependence on x is not in the graph
            return xp.log1p(xp.exp(x))

        @staticmethod
        def backward(ctx, grad_output):
            (s,) = ctx.saved_tensors
            return grad_output * s

    x = leaf([0.5, -1.0])
    Softplus.apply(x).sum().backward()  # first order: fine
    assert_close(x.grad, 1 / (1 + numpy.exp(-x.data)))
    with pytest.raises(RuntimeError, match=r"Softplus\.backward cannot be differentiated.*saved array 0.*Save the "
                                           r"inputs \(or the output\)"):
        grad(Softplus.apply(x).sum(), x, create_graph=True)


def test_an_intermediate_kept_as_a_ctx_attribute_raises_naming_the_attribute():
    class Scale(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.doubled = 2 * x
            return x * x

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.doubled

    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Scale\.backward cannot be differentiated.*ctx\.doubled"):
        grad(Scale.apply(x).sum(), x, create_graph=True)


def test_numpy_called_directly_in_backward_raises_naming_the_op():
    class Sine(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return numpy.sin(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * numpy.cos(x)

    x = leaf([0.1, 0.2])
    with pytest.raises(RuntimeError, match=r"Sine\.backward cannot be differentiated.*never numpy directly"):
        grad(Sine.apply(x).sum(), x, create_graph=True)


class CubeBackward(minigrad.Function):
    """Cube's backward as an op of its own, g -> 3 x^2 g, with a hand-written derivative that is wrong in x."""

    @staticmethod
    def forward(ctx, x, grad_output):
        ctx.save_for_backward(x, grad_output)
        return 3 * x ** 2 * grad_output

    @staticmethod
    def backward(ctx, grad_grad):
        x, grad_output = ctx.saved_tensors
        return 5 * x * grad_output * grad_grad, 3 * x ** 2 * grad_grad  # 5 x where 6 x is right


class CubeWithWrongSecondDerivative(minigrad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return minigrad.autograd.function.call(CubeBackward, x, grad_output)


def test_attention_with_dropout_refuses_second_derivatives_instead_of_drawing_another_mask():
    q = leaf(numpy.random.default_rng(0).standard_normal((2, 3, 4)))
    y = minigrad.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    with pytest.raises(RuntimeError, match=r"dropout_p > 0 are not supported"):
        grad(y.sum(), q, create_graph=True)


def test_gradgradcheck_catches_a_wrong_double_backward():
    x = leaf([0.7, -1.1, 1.5])
    assert minigrad.gradcheck(CubeWithWrongSecondDerivative.apply, x)  # the first derivative is right
    with pytest.raises(minigrad.GradcheckError, match=r"(?s)gradgradcheck failed for input 0.*analytic .*numeric") as info:
        minigrad.gradgradcheck(CubeWithWrongSecondDerivative.apply, x)
    assert info.value.input_index == 0 and info.value.index is not None
    assert minigrad.gradgradcheck(CubeWithWrongSecondDerivative.apply, x, raise_exception=False) is False
    assert minigrad.gradgradcheck(Cube.apply, x)


def test_grad_returns_a_tuple_and_accumulates_nothing():
    x, w = leaf([1.0, 2.0]), leaf([0.5, -1.0])
    result = grad((x * w).sum(), [x, w])
    assert isinstance(result, tuple) and len(result) == 2
    assert_close(result[0], [0.5, -1.0])
    assert_close(result[1], [1.0, 2.0])
    assert x.grad is None and w.grad is None
    assert not result[0].requires_grad  # create_graph=False: plain tensors


def test_grad_of_a_non_leaf_input_is_the_gradient_at_that_tensor():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    (at_h,) = grad((h * h).sum(), h)
    assert_close(at_h, 2 * h.data)
    assert x.grad is None


def test_allow_unused_gives_none_else_an_error_naming_the_input():
    x, unused = leaf([1.0]), leaf([2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2,\)\) was not used.*allow_unused=True"):
        grad((x * 2).sum(), [x, unused])
    result = grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert result[1] is None
    assert_close(result[0], [2.0])


def test_grad_checks_its_inputs_and_grad_outputs():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="input 0 .* does not require grad"):
        grad((x * 2).sum(), minigrad.tensor([1.0]))
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        grad(x * 2, x)
    with pytest.raises(RuntimeError, match=r"grad_outputs\[0\] has shape \(3,\)"):
        grad(x * 2, x, numpy.ones(3))
    assert_close(grad(x * 2, x, numpy.array([1.0, -1.0]))[0], [2.0, -2.0])


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("output_dtype, given_dtype", [("float32", "float64"), ("float64", "float32")])
def test_grad_outputs_of_another_dtype_are_cast_to_the_outputs_as_in_torch(output_dtype, given_dtype, create_graph):
    """PyTorch casts each grad_outputs entry to its output's dtype before the walk, as backward(gradient) does:
    the gradients have the bits of the walk started from the cast array."""
    values, given = numpy.array([1.0, 3.0, 7.0]), numpy.array([0.1, 0.3, 1 / 3])
    expressions = {"x / 0.3": lambda x: x / 0.3, "x * 0.1": lambda x: x * 0.1, "0.7 / x": lambda x: 0.7 / x,
                   "tanh(x * x)": lambda x: (x * x).tanh()}
    for name, expression in expressions.items():
        x = minigrad.tensor(values.astype(output_dtype), requires_grad=True)
        (result,) = grad(expression(x), x, grad_outputs=minigrad.tensor(given.astype(given_dtype)),
                         create_graph=create_graph)
        (cast_first,) = grad(expression(x), x,
                             grad_outputs=minigrad.tensor(given.astype(given_dtype).astype(output_dtype)))
        assert result.dtype == numpy.dtype(output_dtype)
        assert result.data.tobytes() == cast_first.data.tobytes(), name
        x.grad = None
        expression(x).backward(minigrad.tensor(given.astype(given_dtype)), create_graph=create_graph)
        assert x.grad.data.tobytes() == result.data.tobytes(), f"{name}: backward(gradient) casts it the same way"
        reference_x = torch.tensor(values.astype(output_dtype), requires_grad=True)
        (expected,) = torch.autograd.grad(expression(reference_x), reference_x,
                                          grad_outputs=torch.tensor(given.astype(given_dtype)))
        if name in ("x / 0.3", "x * 0.1"):  # one rounding each: PyTorch's bits
            assert result.data.tobytes() == expected.numpy().tobytes(), name
        assert_close(result, expected, rtol=1e-6 if output_dtype == "float32" else 1e-12, what=name)


def test_several_outputs_and_grad_outputs_sum_as_in_torch():
    x = leaf([0.5, -0.3])
    a, b = x.exp(), x.sin()
    ours = grad([a, b], x, [numpy.array([1.0, 2.0]), numpy.array([-1.0, 0.5])])[0]
    xt = torch.tensor([0.5, -0.3], dtype=torch.float64, requires_grad=True)
    theirs = torch.autograd.grad([xt.exp(), xt.sin()], xt, [torch.tensor([1.0, 2.0], dtype=torch.float64),
                                                          torch.tensor([-1.0, 0.5], dtype=torch.float64)])[0]
    assert_close(ours, theirs)


def test_backward_create_graph_makes_grad_a_graph_tensor_and_retains_the_graph():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    y.backward(create_graph=True)  # retain_graph defaults to create_graph
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    assert_close(x.grad, [3.0, 12.0])
    first = x.grad
    x.grad = None
    first.sum().backward()  # d/dx sum(3 x^2)
    assert_close(x.grad, [6.0, 12.0])
    y.backward()  # the first graph was retained
    assert_close(x.grad, [9.0, 24.0])


def test_create_graph_accumulates_out_of_place_into_existing_grads():
    x = leaf([2.0])
    (x * x).sum().backward()
    before = x.grad
    (x * x * x).sum().backward(create_graph=True)
    assert_close(x.grad, [4.0 + 12.0])
    assert x.grad is not before and x.grad.requires_grad
    assert_close(before, [4.0])


def test_retain_graph_false_with_create_graph_releases_the_first_graph():
    x = leaf([1.5])
    y = (x.exp() * x).sum()
    (first,) = grad(y, x, create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    assert_close(first, [numpy.exp(1.5) * 2.5])


def test_a_hessian_vector_product_matches_torch(backend):
    values, direction = numpy.array([0.3, -0.8, 1.1]), numpy.array([1.0, 0.5, -2.0])
    x = leaf(values)
    loss = (x.tanh() * x.exp()).sum() + (x * x).prod()
    (g,) = grad(loss, x, create_graph=True)
    (hvp,) = grad((g * minigrad.tensor(direction)).sum(), x)
    xt = torch.tensor(values, requires_grad=True)
    (gt,) = torch.autograd.grad((xt.tanh() * xt.exp()).sum() + (xt * xt).prod(), xt, create_graph=True)
    (hvp_t,) = torch.autograd.grad((gt * torch.tensor(direction)).sum(), xt)
    assert_close(hvp, hvp_t, atol=1e-12)


def test_no_grad_records_nothing_but_create_graph_records_the_backward_as_in_torch():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    with minigrad.no_grad():
        (g,) = grad(y, x, create_graph=True)
        assert not (g * 2).requires_grad
    assert g.requires_grad
    assert_close(grad(g.sum(), x)[0], [6.0, 12.0])


def test_retain_grad_sees_the_graph_gradient_of_a_non_leaf():
    x = leaf([1.0, 3.0])
    h = x * x
    h.retain_grad()
    (h * h).sum().backward(create_graph=True)
    assert_close(h.grad, 2 * h.data)
    assert h.grad.requires_grad


def test_detect_anomaly_names_the_op_whose_double_backward_is_not_finite():
    x = leaf([0.0, 1.0])
    with minigrad.detect_anomaly():
        (g,) = grad((x ** 1.5).sum(), x, create_graph=True)  # 1.5 x^0.5: finite at 0
        with pytest.raises(RuntimeError, match="detect_anomaly: Pow.backward returned non-finite"):
            grad(g.sum(), x)  # 0.75 x^-0.5: inf at 0
    assert_close(g, [0.0, 1.5])


@pytest.mark.parametrize("keep", ["nothing", "second_derivative"])
def test_the_second_order_graph_is_freed_by_reference_counting_alone(keep):
    gc.collect()
    gc.disable()
    try:
        x = leaf(numpy.linspace(-1, 1, 8))
        w = minigrad.tensor(numpy.ones((8, 8)) * 0.1, dtype="float64", requires_grad=True)
        y = minigrad.nn.functional.layer_norm(x @ w, (8,)).tanh().sum()
        (g,) = grad(y, [w], create_graph=True)
        (h,) = grad((g * g).sum(), w)
        probes = [weakref.ref(node) for node in (y.grad_fn, g.grad_fn)]
        del y, g
        if keep == "nothing":
            del h
        assert all(probe() is None for probe in probes)
    finally:
        gc.enable()


def test_twice_differentiating_a_fused_op_keeps_its_first_order_backward_unchanged():
    # The twin is used only under create_graph; an ordinary backward runs the fused op's own backward.
    x = leaf(numpy.random.default_rng(0).standard_normal((3, 4)))
    y = minigrad.nn.functional.layer_norm(x, (4,))
    assert "LayerNorm" in y.grad_fn.name and y.grad_fn.function.twin is not None
    y.backward(numpy.random.default_rng(1).standard_normal((3, 4)))
    first = x.grad.data.copy()
    x.grad = None
    y2 = minigrad.nn.functional.layer_norm(x, (4,))
    (g,) = grad(y2, x, minigrad.tensor(numpy.random.default_rng(1).standard_normal((3, 4))), create_graph=True)
    assert_close(g, first, atol=1e-12)
