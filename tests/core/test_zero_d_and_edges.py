"""Edges a PyTorch user hits first: 0-d tensors, negative dims, tuples inside an index, degenerate variances, and
the errors for what cannot work. Each expectation is PyTorch's behaviour (checked against torch in float64)."""

import numpy
import pytest

import minigrad
from minigrad import backends
from tests.helpers import assert_close, host

torch = pytest.importorskip("torch")


def is_backend_array(tensor):
    return backends.is_array(tensor.data) and backends.backend_of(tensor.data) == backends.get_backend()


# --- 0-d results are 0-d arrays of the tensor's backend ---------------------------------------------------------

def test_argmax_without_dim_is_a_zero_d_tensor_that_prints_and_converts(backend):
    index = minigrad.tensor([1.0, 3.0, 2.0]).argmax()
    assert is_backend_array(index) and index.shape == () and index.item() == 1
    assert repr(index) == "tensor(1)"
    assert index.numpy().tolist() == 1
    assert index.float().item() == 1.0


def test_comparing_two_zero_d_tensors_gives_a_zero_d_boolean_tensor(backend):
    less = minigrad.tensor(1.0) < minigrad.tensor(2.0)
    assert is_backend_array(less) and less.dtype == numpy.bool_
    assert less.sum().item() == 1


def test_the_gradient_of_a_zero_d_leaf_is_a_zero_d_array(backend):
    x = minigrad.tensor(1.5, requires_grad=True)
    (x * x).backward()
    assert is_backend_array(x.grad) and x.grad.shape == ()
    assert repr(x.grad) == "tensor(3., dtype=float32)"
    (x * x).backward()  # accumulating two 0-d gradients must stay an array too
    assert is_backend_array(x.grad) and x.grad.item() == 6.0


def test_clip_grad_norm_takes_zero_d_gradients(backend):
    x = minigrad.tensor(1.5, requires_grad=True)
    (x * x).backward()
    norm = minigrad.nn.utils.clip_grad_norm_([x], 1.0)
    assert norm.item() == pytest.approx(3.0)
    assert is_backend_array(x.grad) and x.grad.item() == pytest.approx(1.0, rel=1e-5)


def test_a_zero_d_gradient_reaching_a_node_twice_stays_an_array(backend):
    x = minigrad.tensor(0.5, dtype="float64", requires_grad=True)
    shared = x.exp()
    (shared * shared + shared.tanh()).backward()
    torch_x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    torch_shared = torch_x.exp()
    (torch_shared * torch_shared + torch_shared.tanh()).backward()
    assert is_backend_array(x.grad)
    assert_close(x.grad, torch_x.grad)


def test_zero_d_reductions_over_axis_0_and_minus_1_are_accepted(backend):
    x = minigrad.tensor(2.0)
    for dim in (0, -1, (0,)):
        assert x.sum(dim=dim).item() == 2.0 and x.sum(dim=dim).shape == ()
    with pytest.raises(IndexError, match="out of range"):
        x.sum(dim=1)


# --- permute with negative dims -----------------------------------------------------------------------------------

def test_permute_with_negative_dims_sends_the_gradient_back(backend):
    x = minigrad.randn(2, 3, 4, dtype="float64", requires_grad=True)
    y = x.permute(-1, 0, -2)
    assert y.shape == (4, 2, 3)
    upstream = numpy.random.default_rng(0).standard_normal(y.shape)
    y.backward(upstream)
    torch_x = torch.tensor(host(x.detach()), requires_grad=True)
    torch_x.permute(-1, 0, -2).backward(torch.tensor(upstream))
    assert_close(x.grad, torch_x.grad)


# --- a tuple inside an index is an integer-array index ------------------------------------------------------------

@pytest.mark.parametrize("index", [((0, 0), slice(None)), ((1, 1),), ([2, 2, 0], 1)],
                         ids=["tuple-then-slice", "tuple-alone", "list-then-int"])
def test_a_tuple_inside_an_index_accumulates_its_repeats(index, backend):
    x = minigrad.tensor(numpy.arange(6.0).reshape(3, 2), dtype="float64", requires_grad=True)
    y = x[index]
    y.sum().backward()
    torch_x = torch.arange(6.0, dtype=torch.float64).reshape(3, 2).requires_grad_()
    expected = torch_x[index]
    expected.sum().backward()
    assert_close(y.detach(), expected)
    assert_close(x.grad, torch_x.grad)


# --- var with too large a correction, and over nothing ----------------------------------------------------------

@pytest.mark.parametrize(("values", "dim", "correction"), [
    ([1.0, 2.0, 4.0], None, 5), ([1.0, 2.0, 4.0], None, 3), ([3.0], None, 1), ([2.0, 2.0], None, 2),
    ([[1.0, 2.0], [4.0, 4.0]], 1, 2)])
def test_var_with_a_correction_at_or_past_n_matches_torch(values, dim, correction, backend):
    x = minigrad.tensor(values, dtype="float64", requires_grad=True)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        y = x.var(dim=dim, correction=correction)
        upstream = numpy.full(y.shape, 0.7)
        y.backward(upstream)
    torch_x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    with pytest.warns(UserWarning):
        expected = torch_x.var(dim=dim, correction=correction)
    expected.backward(torch.tensor(upstream))
    assert_close(y.detach(), expected)
    if dim is not None:
        assert_close(x.grad, torch_x.grad)
    else:
        # PyTorch's full reduction gives +inf for every element whatever the sign of x - mean; minigrad keeps
        # the signed limit 2 (x - mean) g / 0, which is the same formula as with a dim.
        assert not numpy.isfinite(host(x.grad)).any()


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
def test_var_over_a_zero_size_axis_is_nan(backend):
    x = minigrad.zeros(0, 3, dtype="float64")
    with numpy.errstate(divide="ignore", invalid="ignore"):
        for correction in (0, 1):
            assert numpy.isnan(host(x.var(dim=0, correction=correction))).all()


# --- errors that say what is wrong ---------------------------------------------------------------------------------

def test_concatenating_zero_d_tensors_is_refused_clearly(backend):
    with pytest.raises(RuntimeError, match="zero-dimensional tensor .at position 0. cannot be concatenated"):
        minigrad.concatenate([minigrad.tensor(1.0), minigrad.tensor(2.0)])


def test_the_truth_value_of_many_elements_points_to_methods_that_exist(backend):
    x = minigrad.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="ambiguous") as error:
        bool(x)
    assert ".any()" in str(error.value) and ".all()" in str(error.value)
    assert x.any().item() is True and (x > 1.5).all().item() is False


def test_an_out_of_range_dim_raises_index_error(backend):
    x = minigrad.ones(2, 3)
    for reduce in (lambda: x.sum(dim=2), lambda: x.mean(dim=-3), lambda: x.var(dim=(0, 5))):
        with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\]"):
            reduce()


@pytest.mark.parametrize(("a_shape", "b_shape"), [((2, 3), (4, 5)), ((2, 2, 3), (3, 4, 5)), ((3,), (4,))])
def test_a_matmul_shape_error_names_both_shapes(a_shape, b_shape, backend):
    with pytest.raises(RuntimeError, match=rf"matmul.*{a_shape}.*{b_shape}".replace("(", r"\(").replace(")", r"\)")):
        minigrad.ones(*a_shape) @ minigrad.ones(*b_shape)


def test_matmul_of_a_zero_d_tensor_is_refused(backend):
    with pytest.raises(RuntimeError, match="at least 1-D"):
        minigrad.tensor(2.0) @ minigrad.ones(2)
