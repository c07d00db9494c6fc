"""The backward pass: walk the graph from the output to the leaves, applying the chain rule at each node.

The graph is made of the ``ctx`` objects of :class:`~minigrad.autograd.function.Function` calls. Each node knows
its parents (the nodes, or leaf Tensors, its arguments came from) but not its children, and never the Tensor it
produced. The graph therefore has no reference cycles: dropping the last output frees it by reference counting.

``backward`` is reverse-mode differentiation in two passes:

1. Count, for every node reachable from the output, how many of its children are in the graph (iteratively, with
   an explicit stack, so a graph 100,000 ops deep needs no recursion): :func:`count_children`.
2. Start from the output with dL/d(output) and process nodes in topological order: a node runs its ``backward``
   only once every child has sent it its share of the gradient. A node used several times (``y = x * x``,
   ``h`` in every step of an RNN) sums those shares: that sum *is* the multivariable chain rule. The gradients
   that reach leaves go into their ``.grad`` by :func:`store_leaf_gradient`.

Second and higher derivatives (``backward(create_graph=True)``, ``minigrad.autograd.grad``) take the same walk in
:mod:`minigrad.autograd.higher_order`, with Tensors in place of arrays, so that the gradients come out of a graph
that can be walked again. This loop is left exactly as it is: an ordinary backward stays on raw arrays, and pays
nothing for the second order but the ``id`` of each node's output, recorded in ``Function.apply``. How each node's
backward becomes a graph, and why:

- **The op's own backward, called with Tensors** (every primitive op, and students' Functions such as the README's
  ``Cube``): ``grad_output`` is a Tensor, ``ctx.saved_tensors`` gives back the op's arguments and output as the
  graph's own Tensors, and ``xp = minigrad.get_array_module(x)`` is :mod:`minigrad.autograd.tensor_xp`, NumPy's
  names on Tensor ops. The backward a student reads and wrote once is the one differentiated; no second version of
  any op exists. What it cannot see, it refuses: a floating-point array that forward computed and saved (or kept as
  ``ctx.something``) carries no record of how it depends on the inputs, so ``create_graph=True`` raises, naming the
  op and what to save instead; masks and indices (bool and integer arrays) are constants and pass. An op whose
  backward is itself a linear op with a derivative of its own (GetItem scatters into zeros) calls it through
  ``function.call``, which applies it on Tensors and runs its forward on arrays.
- **The composed twin, differentiated** (the fused layer ops: LayerNorm, RMSNorm, BatchNorm, GroupNorm, Conv2d,
  the LSTM cells, scaled dot-product attention without dropout, Embedding, CrossEntropy, NLLLoss, the poolings,
  SiLU): their hand-derived backward works on intermediates (xhat,
  inv_std, im2col columns) by design, and a second hand-derived backward per op would double what a student must
  check. Instead the op names its twin from :mod:`minigrad.nn.composed`, the same function built from primitive
  ops that the tests already hold it to, and under ``create_graph`` the engine rebuilds the twin on the op's
  arguments and differentiates it (first order included, so both orders come from one graph). The cost is that
  the node keeps its arguments (references, as PyTorch keeps a layer's input); the first-order backward is the
  fused one, unchanged. Wiring a fused op is one line in its class, mapping ``apply``'s arguments to the twin's
  signature (that of the ``F.xxx`` functional)::

      class RMSNorm(Function):
          twin = staticmethod(lambda x, weight, normalized_ndim, eps: composed.rms_norm(
              x, x.shape[x.ndim - normalized_ndim:], weight, eps))

  or ``twin = staticmethod(lambda *arguments: composed.conv2d(*arguments))`` where the arguments already line up
  (a lambda, so that ``composed`` is looked up when the twin runs, not while the modules import each other).
"""

import contextlib
import threading

from minigrad.autograd.function import Context, argument_name
from minigrad.autograd.mode import check_finite, state
from minigrad.backends import get_array_module
from minigrad.fast_path import add_in_place
from minigrad.tensor import Tensor


def run_backward(root, grad_root, retain_graph):
    """Accumulate d(root)/d(leaf) * grad_root into the ``.grad`` of every leaf that requires a gradient."""
    root_node = root._node
    if root_node is None:  # backward() on a leaf: its gradient is grad_root itself
        _accumulate(root, grad_root, copy=True)
        return
    if root_node._released:
        root_node.saved_tensors  # raises the retain_graph error
    # A backward started inside another one on this thread (a Function's backward that calls backward) shares
    # its `shared` set: an array the outer walk has handed to the graph must not be added into by the inner one.
    outer = _running.shared
    shared = set() if outer is None else outer
    # Under anomaly detection every gradient is checked, so none may be added into .grad unseen (decided once
    # for the walk, which reads the mode once)
    anomaly = state.anomaly
    with walking(shared, adds_into_grad=not anomaly):
        _walk(root_node, grad_root, retain_graph, shared, anomaly)


def _walk(root_node, grad_root, retain_graph, shared, anomaly):
    children = count_children(root_node)
    pending = {root_node: grad_root}       # node -> dL/d(node's output), summed over the children seen so far
    ready = [root_node]                    # nodes whose children have all sent their share
    owned = {id(grad_root)}                # arrays that already have an owner: the caller's, or some leaf's .grad
    shared.add(id(grad_root))              # of those, the ones the graph may still hold (see store_leaf_gradient)
    while ready:
        node = ready.pop()
        grad_output = pending.pop(node, None)
        if node._retained is not None:
            _store_retained_gradient(node, grad_output)
        if node._released:
            node.saved_tensors  # raises the retain_graph error, also for ops that saved nothing
        parents = node._parents
        if grad_output is None:  # no gradient reached this node; still release its parents' counts
            grads = (None,) * len(parents)
        else:
            grads = node._function.backward(node, grad_output)
            if type(grads) is not tuple or len(grads) != len(parents):
                grads = _as_gradient_tuple(node, grads)
            array_type = type(grad_output)
        for index, parent in enumerate(parents):
            if parent is None:
                continue
            grad = grads[index]
            # Every gradient must be an array of dL/dy's backend with the shape and dtype of its argument: one
            # comparison each here, on the hot path (a dtype is nearly always the same object, and `is` is quicker
            # than NumPy's ==); the slow path converts what it can or explains. A node keeps its output's shape
            # and dtype; a leaf's are its array's.
            if type(parent) is Context:  # an earlier node: its gradient waits until all its children have sent theirs
                if grad is not None:
                    dtype = parent._dtype
                    if (type(grad) is not array_type or grad.shape != parent._shape
                            or grad.dtype is not dtype and grad.dtype != dtype):
                        grad = _checked_gradient(node, index, grad, grad_output, parent._shape, dtype)
                    if anomaly:
                        _check_gradient_finite(node, index, grad)
                    previous = pending.get(parent)
                    # a new array, never `+=`: the same gradient array may have been sent to several parents
                    pending[parent] = grad if previous is None else _add(previous, grad)
                remaining = children[parent] - 1
                children[parent] = remaining
                if remaining == 0:
                    ready.append(parent)
            elif grad is not None:  # a leaf Tensor
                data = parent.data
                if (type(grad) is not array_type or grad.shape != data.shape
                        or grad.dtype is not data.dtype and grad.dtype != data.dtype):
                    grad = _checked_gradient(node, index, grad, grad_output, data.shape, data.dtype)
                    if grad is None:  # the op added it into .grad itself (see grad_to_add_into)
                        continue
                if anomaly:
                    _check_gradient_finite(node, index, grad)
                store_leaf_gradient(parent, grad, owned, shared)
        if not retain_graph:  # free what forward saved (Context._release, inline: it runs once per node)
            node.__dict__.clear()
            node._released = True


def _check_gradient_finite(node, index, grad):
    """Under detect_anomaly: raise if the gradient `node` sent to its argument `index` holds a NaN or an Inf."""
    check_finite(grad, f"{node.name}.backward returned",
                 f"in the gradient for {argument_name(node._function, index)}", node._trace)


def count_children(*root_nodes):
    """For each node reachable from the roots, how many of its children (consumers) are in the graph.

    The dict is keyed by the nodes themselves: a Context hashes by identity, and a lookup of the object costs less
    than calling id() for it first (this and the walk's `pending` are the engine's two lookups per edge).

    One root for ``backward()``; ``autograd.grad`` passes several, and a root may also be another one's ancestor.
    """
    children = {node: 0 for node in root_nodes}
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        for parent in node._parents:
            if type(parent) is Context:
                if parent in children:
                    children[parent] += 1
                else:
                    children[parent] = 1
                    stack.append(parent)
    return children


def store_leaf_gradient(leaf, grad, owned, shared):
    """Add `grad` into ``leaf.grad``, copying it first unless it is a fresh array no one else holds.

    Gradient arrays flowing through the graph are shared freely: Add hands the same array to both parents, Reshape
    and Sum hand out views (a read-only broadcast view, for Sum), and the caller's ``backward(grad)`` array arrives
    as it is. A ``.grad`` that someone will update in place (an optimizer, gradient clipping) must own its array,
    so the first store copies a view (``grad.base`` is set) or an array in `owned` (the caller's, or another
    leaf's ``.grad``), and `owned` then records the stored array.

    Later gradients are added into that array in place, as PyTorch's gradient accumulation does: ``.grad`` stays
    the same Tensor, and no new array is made (for a large input, a new array is memory to allocate and first touch
    on every backward). Not into an array in `shared`, though: the caller's array, or one the first store took
    over without a copy in this backward, which may still be on its way to another node.
    """
    had_grad = leaf.grad is not None
    copy = id(grad) in owned or grad.base is not None
    _accumulate(leaf, grad, copy, in_place=had_grad and id(leaf.grad.data) not in shared)
    owned.add(id(leaf.grad.data))
    if not had_grad and not copy:
        shared.add(id(leaf.grad.data))


# --- a fused backward that adds into .grad itself ------------------------------------------------------------------

class _AddedIntoGrad:
    """The type of ADDED_INTO_GRAD."""

    def __repr__(self):
        return "ADDED_INTO_GRAD"


ADDED_INTO_GRAD = _AddedIntoGrad()


class _Running(threading.local):
    shared = None           # the `shared` set of the backward() this thread is running (see store_leaf_gradient)
    adds_into_grad = False  # whether its ops may add into .grad themselves (see grad_to_add_into)


_running = _Running()


@contextlib.contextmanager
def walking(shared, adds_into_grad):
    """Within: this thread runs a walk whose `shared` set is this, and whose fused ops may add into ``.grad``
    (False for a walk that returns gradients, such as autograd.grad's, and under anomaly detection)."""
    outer = _running.shared, _running.adds_into_grad
    _running.shared, _running.adds_into_grad = shared, adds_into_grad
    try:
        yield
    finally:
        _running.shared, _running.adds_into_grad = outer


def grad_to_add_into(ctx, index):
    """For a fast subclass's backward: the array of ``.grad`` that it may add its gradient for argument `index` into
    itself, returning ADDED_INTO_GRAD in place of that gradient; None where it must return the gradient.

    A large layer's backward writes dL/dx into a new array, and the engine then adds that array into ``x.grad``
    (gradients accumulating over several backward calls): two passes over memory, which one loop computing
    ``grad += dL/dx`` makes in one. The engine allows it exactly where it would add in place itself: the argument
    is a leaf that requires a gradient, its ``.grad`` is an array of its own of the leaf's shape and dtype
    (see _adds_in_place), and this backward has not handed that array to the graph (store_leaf_gradient's
    `shared`); and only in ``backward()`` (not ``autograd.grad``, which returns gradients) without anomaly
    detection (which checks each gradient). The sum is the same to rounding (the loop may fuse the last
    multiply and add), into the same array. The engine takes ADDED_INTO_GRAD for argument `index` only where
    this call gave the backward an array; anywhere else it raises, naming the op, since the gradient would be lost.
    """
    if not _running.adds_into_grad:
        return None
    shared = _running.shared
    leaf = ctx._parents[index]
    if type(leaf) is Context or leaf is None or leaf.grad is None:
        return None
    array = leaf.grad.data
    if type(array) is not type(leaf.data) or id(array) in shared or not _adds_in_place(array, leaf.data):
        return None
    ctx._given_grads = ctx.__dict__.get("_given_grads", ()) + (index,)  # what the engine may take ADDED_INTO_GRAD for
    return array


def _store_retained_gradient(node, grad_output):
    """``retain_grad()`` on a non-leaf: its ``.grad`` gets a copy of the gradient of the node's output."""
    tensor = node._retained()
    if tensor is not None and grad_output is not None:
        _accumulate(tensor, grad_output, copy=True)


def _accumulate(tensor, grad, copy, in_place=False):
    """``tensor.grad = grad`` (copied if asked) the first time; after that ``tensor.grad += grad`` where `in_place`
    allows it and the array can take the sum (see _adds_in_place), else ``tensor.grad + grad`` as a new array."""
    if tensor.grad is None:
        tensor.grad = Tensor._make(grad.copy() if copy else grad)
    elif in_place and _adds_in_place(tensor.grad.data, grad):
        add_in_place(tensor.grad.data, grad)  # tensor.grad.data += grad, on several cores for a large array
    else:
        tensor.grad = Tensor._make(_add(tensor.grad.data, grad))


def _add(a, b):
    """a + b as an array of their backend: NumPy turns the sum of two 0-d arrays into a scalar."""
    total = a + b
    return total if type(total) is type(a) else get_array_module(a).asarray(total)


def _adds_in_place(array, grad):
    """Whether `array += grad` is possible and changes `array` alone: an array owning its writable memory (CuPy's
    arrays have no read-only flag), of grad's shape and dtype (a ``.grad`` set by hand may have neither)."""
    return (array.base is None and getattr(array.flags, "writeable", True) and array.shape == grad.shape
            and array.dtype == grad.dtype)


def _as_gradient_tuple(node, grads):
    """backward's return value as a tuple: a single gradient or a list is accepted; the count must match."""
    if type(grads) is not tuple:
        grads = tuple(grads) if isinstance(grads, list) else (grads,)
    if len(grads) != len(node._parents):
        raise RuntimeError(
            f"{node.name}.backward returned {len(grads)} gradient(s) but forward took {len(node._parents)} "
            "argument(s); return one gradient per forward argument, None for arguments that are not "
            "differentiable (eps, axis, ...)")
    return grads


def _checked_gradient(node, index, grad, grad_output, shape, dtype):
    """The slow path of the gradient check: convert what can be converted, explain what cannot (and None for a
    gradient a fused backward added into the leaf's .grad itself: see grad_to_add_into)."""
    if grad is ADDED_INTO_GRAD and isinstance(node._parents[index], Tensor):  # a leaf (a Parameter too)
        if not _running.adds_into_grad:  # then grad_to_add_into gave no array: nothing was added
            raise RuntimeError(
                f"{node.name}.backward returned ADDED_INTO_GRAD for {argument_name(node._function, index)}, but this "
                "backward lets no op add into .grad (anomaly detection checks every gradient; autograd.grad "
                "returns them): return ADDED_INTO_GRAD only where grad_to_add_into(ctx, index) gave an array")
        given = node.__dict__.get("_given_grads", ())
        if index not in given:  # the gradient would be lost
            raise RuntimeError(
                f"{node.name}.backward returned ADDED_INTO_GRAD for {argument_name(node._function, index)}, but "
                f"grad_to_add_into(ctx, {index}) gave it no array to add into in this backward: return the "
                "gradient itself wherever grad_to_add_into returns None")
        node._given_grads = tuple(other for other in given if other != index)  # taken (retain_graph keeps ctx)
        return None
    grad = _as_gradient_array(grad, grad_output, node._function, index)
    if grad.shape != shape:
        raise RuntimeError(
            f"{node.name}.backward returned a gradient of shape {tuple(grad.shape)} for "
            f"{argument_name(node._function, index)}, whose shape is {tuple(shape)}. A gradient has its input's "
            "shape; if the input was broadcast in forward, sum the gradient back over the broadcast axes "
            "(minigrad.unbroadcast(grad, shape) does this).")
    return grad.astype(dtype) if grad.dtype != dtype else grad


def _as_gradient_array(grad, grad_output, function, index):
    if type(grad) is type(grad_output):
        return grad
    if isinstance(grad, Tensor):  # accept its data
        grad = grad.data
    if isinstance(grad, type(grad_output)):
        return grad
    if isinstance(grad, (int, float)) or type(grad).__module__ == "numpy" and getattr(grad, "shape", None) == ():
        return get_array_module(grad_output).asarray(grad, dtype=grad_output.dtype)
    raise TypeError(f"{function.__name__}.backward returned a {type(grad).__name__} for "
                    f"{argument_name(function, index)}; return an array of the same backend as grad_output")
