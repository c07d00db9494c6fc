"""Where PyTorch's rules differ from NumPy's, Tensors follow PyTorch: type promotion, transpose, var's correction,
dim/keepdim, size(), advanced indexing around a slice, max(dim); and the ops without gradients (comparisons,
logical operators, argmax, sort indices, nonzero) and the creation functions, each checked against torch."""

import numpy
import pytest

import minigrad
from tests.helpers import assert_close, host

torch = pytest.importorskip("torch")


def torch_dtype_name(tensor):
    return str(tensor.dtype).removeprefix("torch.")


# --- type promotion ----------------------------------------------------------------------------------------------

DTYPES = ["bool", "int32", "int64", "float16", "float32", "float64"]


def make(dtype, zero_d):
    values = 1 if zero_d else [1, 0, 1]
    return numpy.array(values).astype(dtype)


@pytest.mark.parametrize("operation", ["add", "mul", "truediv", "sub", "lt"])
@pytest.mark.parametrize("a_dtype", DTYPES)
@pytest.mark.parametrize("b_dtype", DTYPES)
@pytest.mark.parametrize("b_zero_d", [False, True])
def test_tensor_tensor_promotion_matches_torch(operation, a_dtype, b_dtype, b_zero_d):
    if operation == "sub" and "bool" in (a_dtype, b_dtype):
        pytest.skip("PyTorch refuses subtraction of booleans")
    a, b = make(a_dtype, False), make(b_dtype, b_zero_d)
    expected = getattr(torch.tensor(a), f"__{operation}__")(torch.tensor(b))
    result = getattr(minigrad.tensor(a), f"__{operation}__")(minigrad.tensor(b))
    assert str(result.dtype) == torch_dtype_name(expected), (a_dtype, b_dtype, b_zero_d)
    assert_close(result.astype("float64"), expected.double(), what=operation)


@pytest.mark.parametrize("operation", ["add", "mul", "truediv", "radd", "rsub", "rtruediv", "pow"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("number", [2, 2.5, True])
@pytest.mark.parametrize("zero_d", [False, True])
def test_python_numbers_are_weak_as_in_torch(operation, dtype, number, zero_d):
    if dtype == "bool" and operation in ("rsub", "pow") or (operation == "rsub" and number is True):
        pytest.skip("PyTorch refuses subtraction of booleans and powers of booleans")
    a = make(dtype, zero_d)
    expected = getattr(torch.tensor(a), f"__{operation}__")(number)
    result = getattr(minigrad.tensor(a), f"__{operation}__")(number)
    assert str(result.dtype) == torch_dtype_name(expected), (dtype, number)
    assert_close(result.astype("float64"), expected.double(), atol=1e-3, what=operation)


def test_the_default_float_dtype_is_what_int_and_float_make():
    integers = minigrad.tensor([1, 2])
    assert (integers * 2.5).dtype == numpy.float32
    minigrad.set_default_dtype("float64")
    assert (integers * 2.5).dtype == numpy.float64 and (integers / integers).dtype == numpy.float64


@pytest.mark.parametrize("method", ["exp", "log", "sqrt", "tanh", "sigmoid", "sin", "rsqrt", "log1p"])
def test_floating_functions_of_integers_give_the_default_float_dtype(method):
    values = numpy.array([1, 2, 3])
    result = getattr(minigrad.tensor(values), method)()
    expected = getattr(torch.tensor(values), method)()
    assert result.dtype == numpy.float32 == numpy.dtype(torch_dtype_name(expected))
    assert_close(result, expected, atol=1e-6)


def test_creation_dtypes_follow_the_values_as_in_torch():
    assert minigrad.full((2,), 7).dtype == numpy.int64
    assert minigrad.full((2,), True).dtype == numpy.bool_
    assert minigrad.full((2,), 7.0).dtype == numpy.float32
    assert minigrad.arange(0.0, 1.0, 0.25).dtype == numpy.float32
    assert host(minigrad.arange(0.0, 1.0, 0.25)).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert minigrad.arange(3).dtype == numpy.int64


def test_a_promoted_operand_still_gets_its_gradient_in_its_own_dtype(backend):
    weight = minigrad.tensor([1.0, 2.0], dtype="float32", requires_grad=True)
    scale = minigrad.tensor(3.0, dtype="float64", requires_grad=True)   # a 0-d float64 does not promote float32
    product = weight * scale
    assert product.dtype == numpy.float32
    product.sum().backward()
    assert weight.grad.dtype == numpy.float32 and scale.grad.dtype == numpy.float64
    assert host(weight.grad).tolist() == [3.0, 3.0] and scale.grad.item() == 3.0


# --- transpose, permute, T, mT; size, numel, dim ------------------------------------------------------------------

def test_transpose_swaps_two_dims(backend):
    x = minigrad.tensor(numpy.arange(6.0).reshape(2, 3))
    assert x.transpose(0, 1).shape == (3, 2)
    assert_close(x.transpose(0, 1), x.T)
    y = minigrad.zeros(2, 3, 4)
    assert y.transpose(0, 2).shape == (4, 3, 2) and y.transpose(-1, 1).shape == (2, 4, 3)
    assert y.mT.shape == (2, 4, 3) and minigrad.transpose(y, 1, 0).shape == (3, 2, 4)
    assert minigrad.tensor(1.0).transpose(0, -1).shape == ()
    with pytest.raises(IndexError):
        y.transpose(0, 3)


def test_size_numel_and_dim_are_pytorchs():
    x = minigrad.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4
    assert x.numel() == 24 and x.dim() == 3 and minigrad.tensor(2.0).size() == ()
    with pytest.raises(IndexError):
        x.size(3)


# --- var and std: correction, unbiased, ddof ---------------------------------------------------------------------

def test_var_is_unbiased_by_default_and_takes_every_spelling_of_the_correction(backend):
    values = numpy.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    x, reference = minigrad.tensor(values, dtype="float64"), torch.tensor(values)
    assert_close(x.var(), reference.var())
    assert_close(x.std(1), reference.std(1))
    for ours, theirs in [(x.var(unbiased=False), reference.var(unbiased=False)),
                         (x.var(1, False), reference.var(1, False)),
                         (x.var(False), reference.var(False)),
                         (x.var(dim=0, correction=0, keepdim=True), reference.var(dim=0, correction=0, keepdim=True)),
                         (x.var(axis=1, ddof=0, keepdims=True), reference.var(dim=1, correction=0, keepdim=True)),
                         (x.std(dim=(0, 1), correction=2), reference.std(dim=(0, 1), correction=2)),
                         (minigrad.var(x, 0), torch.var(reference, 0))]:
        assert_close(ours, theirs)
    with pytest.raises(TypeError, match="one of correction, unbiased and ddof"):
        x.var(correction=1, ddof=1)


# --- dim and keepdim, axis and keepdims ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "prod", "any", "all", "argmax", "argmin"])
def test_reductions_take_dim_keepdim_and_numpys_axis_keepdims(name, backend):
    values = numpy.array([[1.5, -2.0, 3.0], [0.0, 4.0, -1.0]])
    x, reference = minigrad.tensor(values, dtype="float64"), torch.tensor(values)
    expected = getattr(reference, name)(dim=1, keepdim=True)
    assert_close(getattr(x, name)(dim=1, keepdim=True), expected, what=name)
    assert_close(getattr(x, name)(axis=1, keepdims=True), expected, what=name)
    assert_close(getattr(x, name)(1), getattr(reference, name)(1), what=name)
    assert_close(getattr(x, name)(), getattr(reference, name)(), what=name)
    with pytest.raises(TypeError, match="not both"):
        getattr(x, name)(dim=0, axis=0)


def test_argmax_keepdim_without_a_dim_keeps_every_dim_as_pytorch():
    x = minigrad.tensor([[1.0, 5.0], [7.0, 0.0]])
    assert x.argmax(keepdim=True).shape == (1, 1) and x.argmax(keepdim=True).item() == 2


# --- max and min along a dim ----------------------------------------------------------------------------------------

def test_max_and_min_along_a_dim_return_values_and_indices(backend):
    values = numpy.array([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]])  # ties: PyTorch returns the first index
    x = minigrad.tensor(values, dtype="float64", requires_grad=True)
    reference = torch.tensor(values, requires_grad=True)
    for name in ("max", "min"):
        ours, theirs = getattr(x, name)(1), getattr(reference, name)(1)
        assert_close(ours.values.detach(), theirs.values.detach())
        assert host(ours.indices).tolist() == theirs.indices.tolist() and ours.indices.dtype == numpy.int64
        values_again, indices_again = getattr(x, name)(dim=0, keepdim=True)
        assert values_again.shape == (1, 3) and indices_again.shape == (1, 3)
    x.max(1).values.sum().backward()
    reference.max(1).values.sum().backward()
    assert_close(x.grad, reference.grad)  # the gradient goes to the first maximum only, not split between ties
    assert_close(x.max(minigrad.tensor(values) * 0 + 6.0).detach(), numpy.maximum(values, 6.0))
    with pytest.raises(TypeError, match="amax"):
        x.max(dim=(0, 1))


def test_max_without_a_dim_splits_the_gradient_between_ties_as_pytorch(backend):
    values = numpy.array([[1.0, 5.0], [5.0, 0.0]])
    x = minigrad.tensor(values, dtype="float64", requires_grad=True)
    reference = torch.tensor(values, requires_grad=True)
    x.max().backward()
    reference.max().backward()
    assert_close(x.grad, reference.grad)


# --- advanced indexing around a slice -------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [
    (0, slice(None), [0, 1, 1]), ([0, 1], slice(None), 2), (1, Ellipsis, [3, 0]), (0, None, slice(None), [1, 1]),
    (slice(None), 1, [0, 2]), ([1, 0], 2, [3, 3])], ids=str)
def test_integers_mixed_with_array_indices_give_pytorchs_shapes(index, backend):
    values = numpy.arange(24.0).reshape(2, 3, 4)
    x = minigrad.tensor(values, dtype="float64", requires_grad=True)
    reference = torch.tensor(values, requires_grad=True)
    ours = x[tuple(minigrad.tensor(i) if isinstance(i, list) else i for i in index)]
    theirs = reference[tuple(torch.tensor(i) if isinstance(i, list) else i for i in index)]
    assert ours.shape == tuple(theirs.shape)
    assert_close(ours.detach(), theirs.detach())
    upstream = numpy.random.default_rng(0).standard_normal(ours.shape)
    ours.backward(upstream)
    theirs.backward(torch.tensor(upstream))
    assert_close(x.grad, reference.grad)


# --- ops without gradient -------------------------------------------------------------------------------------------

def test_comparisons_logical_operators_and_checks_match_torch(backend):
    a_values, b_values = numpy.array([1.0, numpy.nan, -numpy.inf, 2.0]), numpy.array([1.0, 0.0, 3.0, -2.0])
    a, b = minigrad.tensor(a_values), minigrad.tensor(b_values)
    ta, tb = torch.tensor(a_values), torch.tensor(b_values)
    pairs = [(a < b, ta < tb), (a <= b, ta <= tb), (a > 1, ta > 1), (a >= b, ta >= tb), (a == b, ta == tb),
             (a != b, ta != tb), (a.isnan(), ta.isnan()), (a.isinf(), ta.isinf()), (a.isfinite(), ta.isfinite()),
             ((a > 0) & (b > 0), (ta > 0) & (tb > 0)), ((a > 0) | (b > 0), (ta > 0) | (tb > 0)),
             ((a > 0) ^ (b > 0), (ta > 0) ^ (tb > 0)), (~(a > 0), ~(ta > 0))]
    for ours, theirs in pairs:
        assert ours.dtype == numpy.bool_ and host(ours).tolist() == theirs.tolist()


def test_floor_division_and_remainder_follow_python_and_have_no_gradient(backend):
    values = numpy.array([-3.5, -1.0, 2.0, 7.25])
    x = minigrad.tensor(values, dtype="float64", requires_grad=True)
    reference = torch.tensor(values)
    assert_close(x // 2, reference // 2)
    assert_close(x % 2, reference % 2)
    assert_close(x % -1.5, reference % -1.5)
    assert_close(7 // x, 7 // reference)
    assert not (x // 2).requires_grad and not (x % 2).requires_grad
    integers = minigrad.tensor([-7, 7, 3])
    assert host(integers // 2).tolist() == [-4, 3, 1] and (integers // 2).dtype == numpy.int64
    assert host(integers % 3).tolist() == [2, 1, 0]


def test_sort_topk_argsort_and_nonzero_indices_match_torch(backend):
    values = numpy.array([[0.3, -1.0, 2.5, 0.0], [1.5, 1.0, -0.5, 4.0]])
    x, reference = minigrad.tensor(values), torch.tensor(values)
    for descending in (False, True):
        assert host(x.sort(dim=1, descending=descending).indices).tolist() == \
            reference.sort(dim=1, descending=descending).indices.tolist()
        assert host(x.argsort(0, descending)).tolist() == reference.argsort(0, descending).tolist()
    for largest in (True, False):
        assert host(x.topk(2, dim=1, largest=largest).indices).tolist() == \
            reference.topk(2, dim=1, largest=largest).indices.tolist()
    assert host(x.nonzero()).tolist() == reference.nonzero().tolist()
    assert x.nonzero().dtype == numpy.int64
    with pytest.raises(RuntimeError, match="out of range"):
        x.topk(5)


def test_any_all_and_zero_d_reductions(backend):
    x = minigrad.tensor([[True, False], [True, True]])
    assert host(x.all(dim=1)).tolist() == [False, True] and host(x.any(0)).tolist() == [True, True]
    assert x.any().item() is True and x.all().item() is False
    assert minigrad.tensor(0.0).any().item() is False


# --- creation ---------------------------------------------------------------------------------------------------------

def test_creation_functions_match_torch_in_shape_dtype_and_values(backend):
    template = minigrad.tensor([[1.0, 2.0, 3.0]], dtype="float64")
    assert_close(minigrad.eye(3), torch.eye(3))
    assert_close(minigrad.eye(2, 3), torch.eye(2, 3))
    assert_close(minigrad.linspace(-1.0, 2.0, 7), torch.linspace(-1.0, 2.0, 7), atol=1e-7)
    for made, dtype in [(minigrad.full_like(template, 7), numpy.float64),
                        (minigrad.zeros_like(template), numpy.float64), (minigrad.ones_like(template), numpy.float64), (template.new_zeros(2, 2), numpy.float64),
                        (template.new_ones((2,)), numpy.float64), (template.new_full((3,), 2), numpy.float64),
                        (template.new_zeros(2, dtype="int64"), numpy.int64), (minigrad.empty(2, 3), numpy.float32)]:
        assert made.dtype == dtype and made.backend == backend
    assert host(minigrad.full_like(template, 7)).tolist() == [[7.0, 7.0, 7.0]]
    assert minigrad.empty(2, 3).shape == (2, 3) and template.new_full((3,), 2).numpy().tolist() == [2.0, 2.0, 2.0]


def test_random_creation_is_seeded_by_manual_seed(backend):
    template = minigrad.zeros(2, 3, dtype="float64")

    def draws():
        minigrad.manual_seed(5)
        return [host(minigrad.randint(0, 10, (4,))), host(minigrad.randint(3, (2, 2))),
                host(minigrad.rand_like(template)), host(minigrad.randn_like(template))]

    first, second = draws(), draws()
    for one, other in zip(first, second):
        assert numpy.array_equal(one, other)
    assert first[0].dtype == numpy.int64 and first[1].max() < 3 and first[0].min() >= 0
    assert first[2].dtype == numpy.float64 and first[2].shape == (2, 3)
    minigrad.manual_seed(6)
    assert not numpy.array_equal(host(minigrad.randn_like(template)), first[3])


def test_contiguous_is_the_tensor_itself_and_the_dtype_shorthands_match_torch():
    x = minigrad.tensor([[1.5, -2.0], [0.0, 3.0]])
    assert x.contiguous() is x
    reference = torch.tensor([[1.5, -2.0], [0.0, 3.0]])
    for ours, theirs in [(x.long(), reference.long()), (x.bool(), reference.bool()), (x.double(), reference.double())]:
        assert str(ours.dtype) == torch_dtype_name(theirs) and host(ours).tolist() == theirs.tolist()


def test_linear_algebra_functions_refuse_what_torch_refuses():
    matrix, vector = minigrad.ones(2, 3), minigrad.ones(3)
    for call in (lambda: minigrad.dot(matrix, vector), lambda: minigrad.mv(vector, vector),
                 lambda: minigrad.bmm(matrix, matrix), lambda: minigrad.outer(matrix, vector),
                 lambda: minigrad.bmm(minigrad.ones(2, 2, 3), minigrad.ones(3, 3, 2))):
        with pytest.raises(RuntimeError):
            call()
    with pytest.raises(ValueError, match="not supported"):
        minigrad.einsum("...i->i", vector)
    with pytest.raises(ValueError, match="size 2 in one place and 3"):
        minigrad.einsum("ij,ij->i", matrix, minigrad.ones(3, 2))
    with pytest.raises(ValueError, match="names 2 operands"):
        minigrad.einsum("ij,jk->ik", matrix)
    assert minigrad.einsum("ij,jk", [matrix, matrix.T]).shape == (2, 2)   # operands as one list, as PyTorch


def test_einsum_promotes_its_operands_as_an_elementwise_op_would():
    result = minigrad.einsum("i,i->", minigrad.tensor([1, 2]), minigrad.tensor([0.5, 0.25]))
    assert result.dtype == numpy.float32 and result.item() == 1.0
