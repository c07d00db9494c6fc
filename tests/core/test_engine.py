"""The backward engine: graph traversal, gradient accumulation, graph release, memory, anomaly mode, op API errors.

Each test pins down one property the engine promises, with the exact behaviour (values, error types, the words a
student needs to see in the message).
"""

import gc
import re
import weakref
from pathlib import Path

import numpy
import pytest

import minigrad
from tests.helpers import Cube, assert_close, host


def leaf(values, dtype="float64"):
    return minigrad.tensor(values, dtype=dtype, requires_grad=True)


# --- traversal -----------------------------------------------------------------------------------------------

def test_a_graph_100000_ops_deep_backpropagates_without_recursion():
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0  # float64: exact, so the gradient is exactly one
    y.sum().backward()
    assert_close(x.grad, [1.0, 1.0], atol=0)


def test_a_deep_chain_of_different_ops_gets_the_chain_rule_right(backend):
    x = leaf([0.3, -0.2])
    y = x
    for _ in range(1000):
        y = (y * 0.5).tanh() + y * 0.5
    upstream = numpy.array([1.0, -2.0])
    y.backward(upstream)
    # The same chain in closed form, derivative by derivative.
    value, derivative = numpy.array([0.3, -0.2]), numpy.ones(2)
    for _ in range(1000):
        derivative = derivative * (0.5 * (1 - numpy.tanh(0.5 * value) ** 2) + 0.5)
        value = numpy.tanh(0.5 * value) + 0.5 * value
    assert_close(y.detach(), value, atol=1e-12)
    assert_close(x.grad, upstream * derivative, atol=1e-12)


# --- accumulation --------------------------------------------------------------------------------------------

def test_a_tensor_used_twice_gets_the_sum_of_both_gradients(backend):
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    assert_close(x.grad, [2.0, -4.0, 6.0])


def test_a_diamond_graph_sums_the_gradients_of_both_branches(backend):
    x = leaf([0.5, 1.5])
    shared = x.exp()                       # one node, two consumers
    left, right = shared * 3.0, shared.tanh()
    (left + right).sum().backward()
    expected = numpy.exp([0.5, 1.5]) * (3.0 + 1 - numpy.tanh(numpy.exp([0.5, 1.5])) ** 2)
    assert_close(x.grad, expected, atol=1e-12)


def test_a_node_reached_along_paths_of_different_lengths_waits_for_all_of_them(backend):
    # z depends on h directly and through a long detour; h must not run its backward before the detour arrives.
    x = leaf([2.0])
    h = x * 3.0
    detour = h
    for _ in range(10):
        detour = detour + 0.0
    z = h * detour            # = 9 x^2
    z.backward()
    assert_close(x.grad, [36.0])


def test_gradients_accumulate_across_two_backward_calls_on_leaves(backend):
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, [3.0 + 2.0, 3.0 + 4.0])


def test_accumulating_adds_into_the_same_grad_in_place_as_pytorch_does():
    torch = pytest.importorskip("torch")
    x, x_torch = leaf([1.0, 2.0]), torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for engine_x, as_array in ((x, lambda grad: grad.data), (x_torch, lambda grad: grad.numpy())):
        (engine_x * 3.0).sum().backward()
        first, first_array = engine_x.grad, as_array(engine_x.grad)
        (engine_x * engine_x).sum().backward()
        assert engine_x.grad is first                            # the same Tensor, updated in place ...
        assert numpy.shares_memory(as_array(engine_x.grad), first_array)  # ... in the same memory
        assert_close(first_array, [3.0 + 2.0, 3.0 + 4.0])


def test_accumulating_in_place_never_writes_into_a_gradient_still_on_its_way_to_another_node(backend):
    # The outer Add hands one array (fresh from the Mul) to both of its parents; the inner x + x passes it on to
    # x twice, before x.exp() has read it. Had x.grad taken that array over and then been added into in place,
    # x.exp() would read a gradient that had changed under it.
    upstream = numpy.array([0.5, -1.5])
    for existing in (None, [10.0, 20.0]):
        x = leaf([0.25, 1.0])
        if existing is not None:
            x.grad = minigrad.tensor(existing, dtype="float64")
        ((x.exp() + (x + x)) * 1.0).backward(minigrad.tensor(upstream, dtype="float64"))
        expected = upstream * (2.0 + numpy.exp([0.25, 1.0])) + (0.0 if existing is None else numpy.array(existing))
        assert_close(x.grad, expected, atol=1e-12)
        assert_close(upstream, [0.5, -1.5], atol=0)


def test_a_read_only_grad_set_by_the_user_gets_a_new_array():
    x = leaf([1.0, 2.0])
    frozen = numpy.array([1.0, 1.0])
    frozen.flags.writeable = False
    x.grad = minigrad.tensor(frozen)
    (x * 2.0).sum().backward()
    assert_close(x.grad, [3.0, 3.0])
    assert_close(frozen, [1.0, 1.0], atol=0)


def test_backward_on_a_leaf_itself(backend):
    x = leaf(2.0)
    x.backward()
    x.backward()
    assert_close(x.grad, 2.0)


def test_only_leaves_keep_grad_unless_retain_grad(backend):
    x = leaf([1.0, 2.0])
    hidden = x * 2.0
    kept = hidden.exp()
    kept.retain_grad()
    kept.sum().backward()
    assert hidden.grad is None
    assert not hidden.is_leaf and kept.grad_fn.name == "Exp"
    assert_close(kept.grad, [1.0, 1.0])
    assert_close(x.grad, 2.0 * numpy.exp([2.0, 4.0]))


def test_retained_grad_accumulates_over_all_uses(backend):
    x = leaf([1.0, 2.0])
    hidden = x * 2.0
    hidden.retain_grad()
    (hidden * hidden).sum().backward()
    assert_close(hidden.grad, [4.0, 8.0])


def test_an_input_without_requires_grad_gets_no_grad(backend):
    x, constant = leaf([1.0, 2.0]), minigrad.tensor([3.0, 4.0], dtype="float64")
    (x * constant).sum().backward()
    assert constant.grad is None
    assert_close(x.grad, [3.0, 4.0])


# --- gradients are never shared or mutated in place ------------------------------------------------------------

def test_leaf_grads_are_fresh_writable_arrays_not_views_of_other_gradients():
    # Reshape and broadcasting backwards return views; a leaf's .grad must still own its array, or an optimizer
    # updating one .grad in place (clipping, zero_grad) would corrupt another, or fail on a read-only view.
    x = leaf([1.0, 2.0])
    y = leaf([[1.0, 2.0]])
    (x.reshape(1, 2) + y).exp().sum().backward()
    assert not numpy.shares_memory(x.grad.data, y.grad.data)
    z = leaf([1.0, 2.0, 3.0])
    z.sum().backward()
    assert z.grad.data.flags.writeable and z.grad.data.flags.owndata
    z.grad.data *= 0.5   # must not raise (a broadcast view would be read-only)


def test_the_callers_upstream_gradient_is_copied_not_kept():
    x = leaf([1.0, 2.0])
    y = leaf([[1.0, 2.0]])
    upstream = numpy.array([1.0, 1.0])
    (x + y.reshape(2)).backward(upstream)
    upstream[:] = 123.0
    assert_close(x.grad, [1.0, 1.0])
    assert_close(y.grad, [[1.0, 1.0]])


def test_backward_never_writes_into_an_array_it_was_given():
    # Sending the same gradient array to several parents is fine as long as nobody adds into it in place.
    x = leaf([1.0, 2.0])
    y = x + x + x + x          # Add sends its incoming gradient array to both parents
    upstream = numpy.array([1.0, 1.0])
    y.backward(upstream)
    assert_close(upstream, [1.0, 1.0], atol=0)
    assert_close(x.grad, [4.0, 4.0])


# --- releasing the graph -------------------------------------------------------------------------------------

def test_a_second_backward_without_retain_graph_raises_naming_retain_graph(backend):
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_the_retain_graph_error_also_comes_for_ops_that_saved_nothing(backend):
    x = leaf([1.0, 2.0])
    y = (-x).sum()            # Neg and Sum save no arrays
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    z = -(x + 1.0)             # the root itself saved nothing
    z.backward(numpy.ones(2))
    with pytest.raises(RuntimeError, match="retain_graph"):
        z.backward(numpy.ones(2))


def test_a_second_backward_through_a_shared_part_of_a_released_graph_raises(backend):
    x = leaf([1.0, 2.0])
    shared = x.exp()
    first, second = shared.sum(), (shared * 2.0).sum()
    first.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        second.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates(backend):
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, [4.0, 8.0])


def test_backward_releases_what_forward_saved():
    x = leaf([1.0, 2.0])
    y = x.exp() * 2.0
    exp_node = y.grad_fn.parents[0]
    assert exp_node.name == "Exp" and len(exp_node.saved_tensors) == 1
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        exp_node.saved_tensors


def test_non_scalar_backward_without_grad_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2.0).backward()


def test_backward_with_a_grad_of_the_wrong_shape_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*shape \(2,\)"):
        (x * 2.0).backward(numpy.ones(3))


def test_backward_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minigrad.tensor([1.0]).sum().backward()


def test_a_one_element_non_scalar_output_can_backward_without_grad():
    x = leaf([[3.0]])
    (x * x).backward()
    assert_close(x.grad, [[6.0]])


# --- memory: the graph has no reference cycles -----------------------------------------------------------------

def _weak_graph(output, leaves):
    """Weak references to every node, saved array and output array in the graph behind `output` (except the data
    of `leaves`, which the caller keeps)."""
    refs, stack, seen = [weakref.ref(output.data)], [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or isinstance(node, minigrad.Tensor):
            continue
        seen.add(id(node))
        refs.append(weakref.ref(node))
        refs.extend(weakref.ref(array) for array in node.saved_tensors
                    if not any(array is leaf.data for leaf in leaves))
        stack.extend(node.parents)
    return refs


@pytest.mark.parametrize("after_backward", [False, True], ids=["before backward", "after backward"])
def test_the_graph_is_freed_by_reference_counting_alone(after_backward, backend):
    gc.collect()
    gc.disable()
    try:
        x = leaf(numpy.linspace(0.1, 1.0, 6).reshape(2, 3))
        hidden = x.exp()
        hidden_tensor = weakref.ref(hidden)
        loss = ((hidden * x).tanh() @ x.T).sum()
        del hidden
        assert hidden_tensor() is None, "the graph must not hold the tensors it produced"
        refs = _weak_graph(loss, leaves=[x])
        assert len(refs) > 6
        assert all(ref() is not None for ref in refs), "the graph should be alive while its output is"
        if after_backward:
            loss.backward()
        del loss
        assert [ref for ref in refs if ref() is not None] == [], "something in the graph outlived its output"
        assert x.grad is not None or not after_backward
    finally:
        gc.enable()


def test_retain_grad_does_not_keep_the_tensor_alive():
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        hidden = x * 2.0
        hidden.retain_grad()
        alive = weakref.ref(hidden)
        loss = hidden.sum()
        del hidden
        assert alive() is None
        loss.backward()   # the retained tensor is gone; backward must not fail because of it
        assert_close(x.grad, [2.0, 2.0])
    finally:
        gc.enable()


# --- anomaly mode -----------------------------------------------------------------------------------------------

def test_detect_anomaly_raises_at_the_first_non_finite_forward_and_names_the_op(backend):
    x = leaf([1.0, 0.0])
    with minigrad.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"Log\.forward.*(NaN|Inf)"):
            with numpy.errstate(divide="ignore"):
                x.log()


def test_detect_anomaly_raises_at_the_first_non_finite_backward_and_names_the_op(backend):
    x = leaf([0.0, 4.0])
    y = x.sqrt()              # finite forward (0 and 2); the backward divides by 2*sqrt(0)
    with minigrad.detect_anomaly():
        z = x.sqrt() * 1.0
        with pytest.raises(RuntimeError, match=r"Sqrt\.backward.*(NaN|Inf)") as error:
            with numpy.errstate(divide="ignore"):
                z.sum().backward()
    assert "test_engine.py" in str(error.value), "the message should show where the op was called"
    with numpy.errstate(divide="ignore"):
        y.sum().backward()    # outside anomaly mode the infinity just propagates
    assert numpy.isinf(host(x.grad)[0])


class ClaimsToAdd(minigrad.Function):
    """A backward that says it added dL/dx into x.grad itself, without ever asking grad_to_add_into."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad_output):
        from minigrad.autograd.engine import ADDED_INTO_GRAD
        return ADDED_INTO_GRAD


def test_added_into_grad_where_no_op_may_add_into_grad_is_an_error_naming_the_op():
    """ADDED_INTO_GRAD says "I added dL/dx into x.grad myself", which a backward may only say where
    grad_to_add_into gave it the array; under detect_anomaly it never does, so the gradient would be lost."""
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with minigrad.detect_anomaly(), pytest.raises(RuntimeError, match="ClaimsToAdd.backward returned ADDED_INTO_GRAD"):
        ClaimsToAdd.apply(x).sum().backward()
    assert x.grad is None


@pytest.mark.parametrize("with_earlier_grad", [False, True])
def test_added_into_grad_without_an_array_from_grad_to_add_into_is_an_error(with_earlier_grad):
    """Outside anomaly detection too: a backward that claims to have added into .grad without asking
    grad_to_add_into (or after it said None) would lose the gradient silently, so the engine refuses it."""
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    if with_earlier_grad:  # .grad holds an array grad_to_add_into would have given, had the backward asked
        (x * 1.0).sum().backward()
    before = None if x.grad is None else x.grad.data.copy()
    with pytest.raises(RuntimeError, match=r"ClaimsToAdd.backward returned ADDED_INTO_GRAD for argument 0 \('x'\)"
                                           r".*grad_to_add_into"):
        ClaimsToAdd.apply(x).sum().backward()
    assert (x.grad is None) if before is None else numpy.array_equal(x.grad.data, before)


def test_added_into_grad_after_grad_to_add_into_gave_the_array_is_taken():
    from minigrad.autograd.engine import ADDED_INTO_GRAD, grad_to_add_into

    class AddsItself(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            target = grad_to_add_into(ctx, 0)
            if target is None:
                return grad_output * 2
            target += grad_output * 2
            return ADDED_INTO_GRAD

    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        AddsItself.apply(x).sum().backward()
    assert numpy.array_equal(host(x.grad), [6.0, 6.0])


def test_without_detect_anomaly_nan_passes_silently():
    x = leaf([-1.0])
    with numpy.errstate(invalid="ignore"):
        y = x.log()
    assert numpy.isnan(host(y.detach())[0])


# --- the Function API: what a student's op gets told when it is wrong ------------------------------------------------

def test_the_readme_cube_example(backend):
    t = minigrad.tensor([1.0, -2.0, 0.5], dtype="float64", requires_grad=True)
    y = Cube.apply(t)
    assert y.grad_fn.function is Cube and len(y.grad_fn.parents) == 1 and y.grad_fn.parents[0] is t
    y.sum().backward()
    assert_close(y.detach(), [1.0, -8.0, 0.125])
    assert_close(t.grad, [3.0, 12.0, 0.75])
    assert minigrad.gradcheck(Cube.apply, (minigrad.tensor([0.7, -1.3], dtype="float64", requires_grad=True),))


def test_the_readme_example_runs_as_written():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    example = next(block for block in blocks if "class Cube(minigrad.Function)" in block)
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)
    x, y = namespace["x"], namespace["y"]
    values = numpy.array([[1.0, -2.0], [3.0, 0.5]])
    assert_close(x.grad, numpy.tanh(values) + values * (1 - numpy.tanh(values) ** 2), atol=1e-12)
    assert_close(y.detach(), values ** 3)


class ScaledAdd(minigrad.Function):
    """y = a + scale * b, with a non-tensor argument in the middle."""

    @staticmethod
    def forward(ctx, a, scale, b):
        ctx.scale = scale
        ctx.seen_needs = ctx.needs_input_grad
        return a + scale * b

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None, ctx.scale * grad_output


def test_non_tensor_arguments_pass_through_and_ctx_keeps_extra_attributes(backend):
    a, b = leaf([1.0, 2.0]), minigrad.tensor([3.0, 4.0], dtype="float64")
    y = ScaledAdd.apply(a, 0.5, b)
    assert y.grad_fn.seen_needs == (True, False, False)
    y.sum().backward()
    assert_close(y.detach(), [2.5, 4.0])
    assert_close(a.grad, [1.0, 1.0])


class TooFewGradients(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class WrongShape(minigrad.Function):
    @staticmethod
    def forward(ctx, weight, bias):
        return weight + bias

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output   # forgets to sum the broadcast bias gradient


def test_returning_the_wrong_number_of_gradients_names_the_op():
    with pytest.raises(RuntimeError, match=r"TooFewGradients\.backward returned 1 gradient.*2 argument"):
        TooFewGradients.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_a_gradient_of_the_wrong_shape_names_the_op_the_argument_and_both_shapes():
    weight, bias = leaf(numpy.ones((2, 3))), leaf(numpy.ones(3))
    with pytest.raises(RuntimeError) as error:
        WrongShape.apply(weight, bias).sum().backward()
    message = str(error.value)
    assert "WrongShape" in message and "'bias'" in message, message
    assert re.search(r"shape \(2, 3\).*shape is \(3,\)", message), message


def test_a_gradient_list_counts_as_one_gradient_per_argument():
    class ListGradients(minigrad.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad_output):
            return [grad_output, grad_output]

    a, b = leaf([1.0]), leaf([2.0])
    ListGradients.apply(a, b).sum().backward()
    assert_close(a.grad, [1.0])
    assert_close(b.grad, [1.0])


def test_forward_returning_a_tensor_is_refused():
    class ReturnsTensor(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            return minigrad.tensor([1.0])

    with pytest.raises(TypeError, match="raw array"):
        ReturnsTensor.apply(leaf([1.0]))


# --- grad modes ---------------------------------------------------------------------------------------------------

def test_no_grad_records_no_graph(backend):
    x = leaf([1.0, 2.0])
    with minigrad.no_grad():
        y = (x * 2.0).exp()
        assert not minigrad.is_grad_enabled()
    assert minigrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_no_grad_as_a_decorator_and_enable_grad_inside_it():
    x = leaf([1.0])

    @minigrad.no_grad()
    def evaluate():
        with minigrad.enable_grad():
            inner = x * 2.0
        return x * 2.0, inner

    outside, inside = evaluate()
    assert outside.grad_fn is None and inside.grad_fn is not None


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with minigrad.no_grad():
            raise ValueError
    assert minigrad.is_grad_enabled()


def test_count_children_counts_each_consumer_of_a_node_once_per_use():
    from minigrad.autograd.engine import count_children
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    square = x * x           # x is a leaf: not counted, only nodes are
    total = square + square  # square is used twice by one node
    loss = (total * square).sum()
    counts = count_children(loss.grad_fn)
    assert counts[loss.grad_fn] == 0
    assert counts[square.grad_fn] == 3
    assert counts[total.grad_fn] == 1
    assert len(counts) == 4
