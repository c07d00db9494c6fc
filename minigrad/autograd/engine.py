"""The backward pass: walk the graph from the output to the leaves, applying the chain rule at each node.

The graph is made of the ``ctx`` objects of :class:`~minigrad.autograd.function.Function` calls. Each node knows
its parents (the nodes, or leaf Tensors, its arguments came from) but not its children, and never the Tensor it
produced. The graph therefore has no reference cycles: dropping the last output frees it by reference counting.

``backward`` is reverse-mode differentiation in two passes:

1. Count, for every node reachable from the output, how many of its children are in the graph (iteratively, with
   an explicit stack, so a graph 100,000 ops deep needs no recursion).
2. Start from the output with dL/d(output) and process nodes in topological order: a node runs its ``backward``
   only once every child has sent it its share of the gradient. A node used several times (``y = x * x``,
   ``h`` in every step of an RNN) sums those shares: that sum *is* the multivariable chain rule.
"""

import contextlib


class _State:
    __slots__ = ("grad_enabled", "anomaly")

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False


state = _State()


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        self.previous = state.grad_enabled
        state.grad_enabled = self.enabled

    def __exit__(self, *exc_info):
        state.grad_enabled = self.previous


def no_grad():
    """Context manager (and decorator) in which ops record no graph: for evaluation and parameter updates."""
    return _GradMode(False)


def enable_grad():
    """Context manager (and decorator) that turns graph recording back on inside a ``no_grad`` block."""
    return _GradMode(True)


def is_grad_enabled():
    return state.grad_enabled


@contextlib.contextmanager
def detect_anomaly():
    """Raise at the first NaN or Inf produced by any op's forward or backward, naming the op.

    For a backward failure the message also shows where the failing op was called in the forward pass.
    """
    previous = state.anomaly
    state.anomaly = True
    try:
        yield
    finally:
        state.anomaly = previous


def check_finite(array, what, where, trace=None):
    if array.dtype.kind not in "fc":
        return
    xp = _array_module(array)
    if not bool(xp.isfinite(array).all()):
        bad = int((~xp.isfinite(array)).sum())
        message = (f"detect_anomaly: {what} non-finite values (NaN or Inf) {where}: {bad} of {array.size} "
                   f"elements, shape {tuple(array.shape)}")
        if trace:
            message += "\nThe op was called in the forward pass here:\n" + trace
        raise RuntimeError(message)


def _array_module(array):
    from minigrad.backends import get_array_module
    return get_array_module(array)


def run_backward(root, grad_root, retain_graph):
    """Accumulate d(root)/d(leaf) * grad_root into the ``.grad`` of every leaf that requires a gradient."""
    root_node = root._node
    if root_node is None:  # backward() on a leaf: its gradient is grad_root itself
        _accumulate(root, grad_root, copy=True)
        return
    if root_node._released:
        root_node.saved_tensors  # raises the retain_graph error

    # Pass 1: for each node, the number of children (consumers) it has in this graph.
    Context = type(root_node)
    children_count = {id(root_node): 0}
    stack = [root_node]
    while stack:
        node = stack.pop()
        for parent in node._parents:
            if type(parent) is Context:
                key = id(parent)
                if key in children_count:
                    children_count[key] += 1
                else:
                    children_count[key] = 1
                    stack.append(parent)

    # Pass 2: chain rule in topological order.
    anomaly = state.anomaly
    pending = {id(root_node): grad_root}   # node -> dL/d(node's output), summed over the children seen so far
    ready = [root_node]
    stored = {id(grad_root)}               # arrays that already have an owner: the caller's, or some leaf's .grad
    shared = {id(grad_root)}               # of those, the ones the graph may also hold: the caller's, and the
                                           # gradient arrays a leaf's .grad took over without a copy
    while ready:
        node = ready.pop()
        grad_output = pending.pop(id(node), None)
        if node._retained is not None:
            tensor = node._retained()
            if tensor is not None and grad_output is not None:
                _accumulate(tensor, grad_output, copy=True)
        if node._released:
            node.saved_tensors  # raises the retain_graph error, also for ops that saved nothing
        parents = node._parents
        if grad_output is None:  # no gradient reached this node; still release its parents' counts
            grads = (None,) * len(parents)
        else:
            grads = node._function.backward(node, grad_output)
            if type(grads) is not tuple:
                grads = tuple(grads) if isinstance(grads, list) else (grads,)
            if len(grads) != len(parents):
                raise _count_error(node, grads)
        for index, parent in enumerate(parents):
            if parent is None:
                continue
            grad = grads[index]
            is_node = type(parent) is Context
            if grad is not None:
                # The engine checks every gradient an op returns: it must be an array of dL/dy's backend with
                # the shape and dtype of the argument it belongs to (one comparison each on the common path).
                if is_node:
                    shape, dtype = parent._shape, parent._dtype
                else:
                    shape, dtype = parent.data.shape, parent.data.dtype
                if type(grad) is not type(grad_output) or grad.shape != shape or grad.dtype != dtype:
                    grad = _checked_gradient(node, index, grad, grad_output, shape, dtype)
                if anomaly:
                    check_finite(grad, f"{node.name}.backward returned",
                                 f"in the gradient for {_argument_name(node._function, index)}", node._trace)
            if is_node:
                key = id(parent)
                if grad is not None:
                    previous = pending.get(key)
                    # a new array, never `+=`: the same gradient array may have been sent to several parents
                    pending[key] = grad if previous is None else previous + grad
                remaining = children_count[key] - 1
                children_count[key] = remaining
                if remaining == 0:
                    ready.append(parent)
            elif grad is not None:  # a leaf Tensor
                had_grad = parent.grad is not None
                copy = id(grad) in stored or grad.base is not None
                _accumulate(parent, grad, copy, in_place=had_grad and id(parent.grad.data) not in shared)
                stored.add(id(parent.grad.data))
                if not had_grad and not copy:
                    shared.add(id(parent.grad.data))
        if not retain_graph:
            node._release()


def _argument_name(function, index):
    from minigrad.autograd.function import argument_name
    return argument_name(function, index)


def _count_error(node, grads):
    return RuntimeError(
        f"{node.name}.backward returned {len(grads)} gradient(s) but forward took {len(node._parents)} "
        "argument(s); return one gradient per forward argument, None for arguments that are not differentiable "
        "(eps, axis, ...)")


def _checked_gradient(node, index, grad, grad_output, shape, dtype):
    """The slow path of the gradient check: convert what can be converted, explain what cannot."""
    grad = _as_gradient_array(grad, grad_output, node._function, index)
    if grad.shape != shape:
        raise RuntimeError(
            f"{node.name}.backward returned a gradient of shape {tuple(grad.shape)} for "
            f"{_argument_name(node._function, index)}, whose shape is {tuple(shape)}. A gradient has its input's "
            "shape; if the input was broadcast in forward, sum the gradient back over the broadcast axes "
            "(minigrad.unbroadcast(grad, shape) does this).")
    return grad.astype(dtype) if grad.dtype != dtype else grad


def _as_gradient_array(grad, grad_output, function, index):
    if type(grad) is type(grad_output):
        return grad
    if hasattr(grad, "_node"):  # a Tensor: accept its data
        grad = grad.data
    if isinstance(grad, type(grad_output)):
        return grad
    if isinstance(grad, (int, float)) or type(grad).__module__ == "numpy" and getattr(grad, "shape", None) == ():
        return _array_module(grad_output).asarray(grad, dtype=grad_output.dtype)
    raise TypeError(f"{function.__name__}.backward returned a {type(grad).__name__} for "
                    f"{_argument_name(function, index)}; return an array of the same backend as grad_output")


def _accumulate(tensor, grad, copy, in_place=False):
    """Add `grad` into ``tensor.grad``, always into an array that the tensor owns.

    Gradient arrays flowing through the graph are shared freely: Add hands the same array to both parents, Reshape
    and Sum hand out views (a read-only broadcast view, for Sum), and the caller's ``backward(grad)`` array arrives
    as it is. A ``.grad`` that someone will update in place (an optimizer, gradient clipping) must own its array,
    so the first store copies unless the array is fresh (`copy` False: not a view, and not stored anywhere else).

    Later gradients are added into that array in place (`in_place`), as PyTorch's gradient accumulation does:
    ``.grad`` stays the same Tensor and no new array is made (for a large input, a new array is memory that must
    be allocated and first touched on every backward). The caller passes `in_place` False where the array may
    also be held by the graph (a gradient the first store took over without a copy may still be on its way to
    another node), and an array that cannot take the sum in place (read-only, or another shape or dtype) gets a
    new array.
    """
    if tensor.grad is None:
        tensor.grad = type(tensor)._make(grad.copy() if copy else grad)
    elif in_place and _adds_in_place(tensor.grad.data, grad):
        tensor.grad.data += grad
    else:
        tensor.grad = type(tensor)._make(tensor.grad.data + grad)


def _adds_in_place(array, grad):
    """Whether `array += grad` is possible and changes `array` alone: an array owning its writable memory (CuPy's
    arrays have no read-only flag), of grad's shape and dtype."""
    return (array.base is None and getattr(array.flags, "writeable", True) and array.shape == grad.shape
            and array.dtype == grad.dtype)
