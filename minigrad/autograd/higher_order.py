"""Gradients of gradients: ``minigrad.autograd.grad`` and ``backward(create_graph=True)``.

The first-order engine (:mod:`minigrad.autograd.engine`) runs every ``backward`` on raw arrays: fast, and nothing
in it can be differentiated. Here the same walk over the graph runs with Tensors instead, so the gradient it
returns is itself the output of a graph, one that :func:`grad` can walk again (a Hessian-vector product is two
walks). How a node's backward becomes a graph (see the engine's docstring for why):

- most ops, and students' Functions: ``backward`` itself is called with Tensors. ``grad_output`` is a Tensor, the
  saved arrays come back as the graph's own Tensors (the argument, or the output, each saved array was), and
  ``xp`` is :mod:`minigrad.autograd.tensor_xp`, NumPy's names on Tensor ops. ``3 * x ** 2 * grad_output`` then
  records a graph whose derivative in x is ``6 * x * grad_output``;
- a fused op that declares ``twin`` (its composed twin from :mod:`minigrad.nn.composed`): the twin is rebuilt on
  the op's arguments and differentiated, since the hand-derived backward works on intermediate arrays whose dependence
  on the inputs the graph never saw.

A backward that cannot be differentiated (it reads an array forward computed, or uses NumPy directly) raises,
naming the op and what to change; it never returns a gradient that is silently wrong to differentiate.
"""

import contextlib

from minigrad import backends
from minigrad.autograd import engine, mode, tensor_xp
from minigrad.autograd.function import Context, Function, argument_name
from minigrad.tensor import Tensor, is_number_array


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of `outputs` with respect to `inputs`, as ``torch.autograd.grad``: a tuple of Tensors, one
    per input; nothing is accumulated into any ``.grad``.

    ``grad_outputs``: dL/d(output) for each output (None, or left out, for a one-element output: 1).
    ``create_graph=True``: the returned gradients are in a graph and can be differentiated again.
    ``retain_graph`` defaults to ``create_graph``. ``allow_unused=True``: None for an input the outputs do not
    depend on, which otherwise raises.
    """
    outputs, inputs = _as_tuple(outputs, "outputs"), _as_tuple(inputs, "inputs")
    for k, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"autograd.grad: input {k} (shape {tensor.shape}) does not require grad, so no "
                               "gradient can be taken with respect to it")
    roots, root_grads = _roots(outputs, grad_outputs, create_graph)
    found = _run(roots, root_grads, create_graph if retain_graph is None else retain_graph, create_graph, inputs)
    for k, gradient in enumerate(found):
        if gradient is None and not allow_unused:
            raise RuntimeError(f"autograd.grad: input {k} (shape {inputs[k].shape}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
    if create_graph:
        return tuple(found)
    return tuple(None if g is None else Tensor._make(g.copy() if g.base is not None or _is_root(g, root_grads)
                                                     else g) for g in found)


def backward(tensor, gradient, retain_graph):
    """``tensor.backward(gradient, create_graph=True)``: every leaf's ``.grad`` becomes (or adds) a graph Tensor."""
    _run([tensor], [gradient], retain_graph, True, None)


def _as_tuple(value, what):
    values = (value,) if isinstance(value, Tensor) else tuple(value)
    for k, item in enumerate(values):
        if not isinstance(item, Tensor):
            raise TypeError(f"autograd.grad: {what}[{k}] is a {type(item).__name__}, not a Tensor")
    return values


def _roots(outputs, grad_outputs, create_graph):
    """The outputs, and dL/d(output) for each: Tensors under create_graph (so that they can be differentiated
    too, as gradgradcheck does), arrays otherwise."""
    if grad_outputs is None or isinstance(grad_outputs, Tensor) or backends.is_array(grad_outputs):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"autograd.grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    roots, root_grads = [], []
    for k, (output, given) in enumerate(zip(outputs, grad_outputs)):
        if not output.requires_grad:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not have a grad_fn")
        if given is None:
            if output.numel() != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; output {k} has shape "
                                   f"{output.shape}, so pass its grad_outputs entry")
            given = output.xp.ones(output.data.shape, dtype=output.data.dtype)
        if isinstance(given, Tensor) and not create_graph:
            given = given.data
        if tuple(given.shape) != output.shape:
            raise RuntimeError(f"autograd.grad: grad_outputs[{k}] has shape {tuple(given.shape)} but output {k} "
                               f"has shape {output.shape}")
        # in the output's dtype, as PyTorch casts grad_outputs and as backward(gradient) does
        if create_graph and not isinstance(given, Tensor):
            given = Tensor(output.xp.asarray(given, dtype=output.dtype))
        elif isinstance(given, Tensor):
            given = given if given.dtype == output.dtype else given.astype(output.dtype)  # a Cast: differentiable
        elif given.dtype != output.dtype:
            given = given.astype(output.dtype)
        roots.append(output)
        root_grads.append(given)
    return roots, root_grads


def _is_root(gradient, root_grads):
    return any(gradient is given for given in root_grads)


def _run(roots, root_grads, retain_graph, create_graph, targets):
    """The engine's walk (see engine.run_backward) from several roots; with `targets`, the gradients of those
    Tensors are returned and only the nodes that lead to them run; without, leaves accumulate ``.grad``."""
    with engine.walking(engine._running.shared, adds_into_grad=False):  # gradients go through `arrive`
        return _walk(roots, root_grads, retain_graph, create_graph, targets)


def _walk(roots, root_grads, retain_graph, create_graph, targets):
    step = _graph_step if create_graph else _array_step
    add = _add_tensors if create_graph else engine._add
    leaf_targets, node_targets = {}, {}
    for k, target in enumerate(targets or ()):
        where = leaf_targets if target._node is None else node_targets
        where.setdefault(id(target) if target._node is None else id(target._node), []).append(k)
    found = [None] * len(targets or ())

    def arrive(leaf, gradient):
        if targets is None:
            _accumulate(leaf, gradient)
        for k in leaf_targets.get(id(leaf), ()):
            found[k] = gradient if found[k] is None else add(found[k], gradient)

    pending, root_nodes = {}, []
    for root, gradient in zip(roots, root_grads):
        if root._node is None:
            arrive(root, gradient)
            continue
        key = id(root._node)
        if key not in pending:
            root_nodes.append(root._node)
        pending[key] = gradient if key not in pending else add(pending[key], gradient)
    for node in root_nodes:
        if node._released:
            node.saved_tensors  # raises the retain_graph error
    children = engine.count_children(*root_nodes)
    needed = None if targets is None else _leading_to(root_nodes, leaf_targets, node_targets)
    ready = [node for node in root_nodes if children[node] == 0]
    while ready:
        node = ready.pop()
        key = id(node)
        grad_output = pending.pop(key, None)
        if grad_output is not None:
            if node._retained is not None and targets is None and node._retained() is not None:
                _accumulate(node._retained(), grad_output)
            for k in node_targets.get(key, ()):
                found[k] = grad_output if found[k] is None else add(found[k], grad_output)
        parents = node._parents
        if grad_output is None or needed is not None and key not in needed:
            grads = (None,) * len(parents)
        else:
            if node._released:
                node.saved_tensors  # raises the retain_graph error, also for ops that saved nothing
            grads = step(node, grad_output)
        for parent, gradient in zip(parents, grads):
            if parent is None:
                continue
            if type(parent) is not Context:
                if gradient is not None:
                    arrive(parent, gradient)
                continue
            parent_key = id(parent)
            if gradient is not None:
                previous = pending.get(parent_key)
                pending[parent_key] = gradient if previous is None else add(previous, gradient)
            children[parent] -= 1
            if children[parent] == 0:
                ready.append(parent)
        if not retain_graph:
            node._release()
    return found


def _leading_to(root_nodes, leaf_targets, node_targets):
    """The ids of the nodes from which some target can be reached: only their backward needs to run."""
    order, visited, stack = [], set(), [(node, False) for node in root_nodes]
    while stack:  # depth first, each node listed after its parents
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._parents if type(parent) is Context)
    needed = set()
    for node in order:
        if id(node) in node_targets or any(
                id(parent) in needed if type(parent) is Context else parent is not None and id(parent) in leaf_targets
                for parent in node._parents):
            needed.add(id(node))
    return needed


def _accumulate(tensor, gradient):
    """``.grad`` under create_graph: a graph Tensor of its own (Clone: never the same object as another leaf's),
    and later ones added out of place, so that the sum stays differentiable."""
    if tensor.grad is None:
        tensor.grad = gradient.clone()
    else:
        tensor.grad = tensor.grad + gradient


def _add_tensors(a, b):
    return a + b


# --- one node ----------------------------------------------------------------------------------------------------

def _array_step(node, grad_output):
    """The engine's step: backward on arrays, each gradient checked as run_backward checks it."""
    grads = node._function.backward(node, grad_output)
    if type(grads) is not tuple or len(grads) != len(node._parents):
        grads = engine._as_gradient_tuple(node, grads)
    checked = []
    for index, (parent, gradient) in enumerate(zip(node._parents, grads)):
        if parent is not None and gradient is not None:
            shape, dtype = (parent._shape, parent._dtype) if type(parent) is Context else (parent.data.shape,
                                                                                          parent.data.dtype)
            if type(gradient) is not type(grad_output) or gradient.shape != shape or gradient.dtype != dtype:
                gradient = engine._checked_gradient(node, index, gradient, grad_output, shape, dtype)
            if mode.state.anomaly:
                mode.check_finite(gradient, f"{node.name}.backward returned",
                                  f"in the gradient for {argument_name(node._function, index)}", node._trace)
        checked.append(gradient)
    return checked


@contextlib.contextmanager
def _recording():
    """Inside: ops record the graph, and ``xp`` of a Tensor is the namespace of Tensor functions."""
    previous_namespace, previous_enabled = backends.tensor_namespace, mode.state.grad_enabled
    backends.tensor_namespace, mode.state.grad_enabled = tensor_xp.namespace, True
    try:
        yield
    finally:
        backends.tensor_namespace, mode.state.grad_enabled = previous_namespace, previous_enabled


def _graph_step(node, grad_output):
    """The node's gradients as Tensors in a graph: its composed twin differentiated, or its backward on Tensors."""
    function = node._function
    with _recording():
        if function.twin is not None:
            grads = _differentiate_twin(node, grad_output)
        else:
            try:
                grads = function.backward(GraphContext(node), grad_output)
            except TypeError as error:  # NumPy called on a Tensor, or an array API the Tensor lacks
                raise RuntimeError(
                    f"{node.name}.backward cannot be differentiated (create_graph=True): under create_graph it "
                    f"runs on Tensors, and it failed with: {error}. Write backward with operators and functions "
                    "of xp = minigrad.get_array_module(x) (never numpy directly, never .data)") from error
    if type(grads) is not tuple or len(grads) != len(node._parents):
        grads = engine._as_gradient_tuple(node, grads)
    return [_checked_tensor(node, index, parent, gradient)
            for index, (parent, gradient) in enumerate(zip(node._parents, grads))]


def _checked_tensor(node, index, parent, gradient):
    if parent is None or gradient is None:
        return None
    if not isinstance(gradient, Tensor):
        raise RuntimeError(
            f"{node.name}.backward cannot be differentiated (create_graph=True): it returned a "
            f"{type(gradient).__name__} for {argument_name(node._function, index)}, computed outside the graph. "
            "Compute the gradient from grad_output and ctx.saved_tensors with operators and xp functions (xp = "
            "minigrad.get_array_module(x)), without .data or numpy")
    shape, dtype = (parent._shape, parent._dtype) if type(parent) is Context else (parent.data.shape, parent.data.dtype)
    if gradient.shape != tuple(shape):
        engine._checked_gradient(node, index, gradient.data, gradient.data, shape, dtype)  # raises, naming both
    if gradient.dtype != dtype:
        gradient = gradient.astype(dtype)
    if mode.state.anomaly:
        mode.check_finite(gradient.data, f"{node.name}.backward returned",
                          f"in the gradient for {argument_name(node._function, index)}", node._trace)
    return gradient


class GraphContext:
    """The ``ctx`` that backward receives under create_graph: the node's own, with ``saved_tensors`` as Tensors.

    Each saved array is matched (by identity) with the op's arguments and output: an argument comes back as the
    Tensor it was (a leaf, or an output of an earlier node), the output as a Tensor of this node, a mask or index
    (a bool or integer array) as it is. A floating-point array forward computed from the inputs (xhat, sign(x),
    a softmax) is none of these: its dependence on the inputs is not in the graph, so it is refused.
    """

    __slots__ = ("_node",)

    def __init__(self, node):
        self._node = node

    @property
    def needs_input_grad(self):
        return self._node.needs_input_grad

    @property
    def name(self):
        return self._node.name

    @property
    def saved_tensors(self):
        node = self._node
        saved = node.saved_tensors  # raises if the graph was released
        return tuple(_as_graph_tensor(node, position, value) for position, value in enumerate(saved))

    def __getattr__(self, name):
        value = getattr(self._node, name)
        values = value if isinstance(value, (tuple, list)) else (value,)
        if any(_is_floating_array(item) for item in values):
            raise RuntimeError(
                f"{self._node.name}.backward cannot be differentiated (create_graph=True): it reads ctx.{name}, a "
                "floating-point array that forward computed, and the graph does not know how it depends on the "
                "inputs, so its second derivative would be silently wrong. Save the inputs (or the output) with "
                f"ctx.save_for_backward and compute ctx.{name} from them in backward, with operators and xp "
                "functions; numbers, shapes, masks and indices may stay ctx attributes.")
        return value


def _as_graph_tensor(node, position, value):
    """The saved `value` as the Tensor it was (see Context._output_id): differentiating through the output goes
    through this node again, through an argument to where that argument came from."""
    if not _is_floating_array(value):
        return value  # a mask, an index, a number: constants of the derivative
    key = id(value)
    if key == node._output_id or key == node._returned_id:
        return Tensor._make(value if backends.is_array(value) else backends.numpy.asarray(value), node)
    for parent in node._parents:
        if type(parent) is Context:
            if key == parent._output_id:
                return Tensor._make(value, parent)
        elif parent is not None and parent.data is value:
            return parent
    if key in node._constant_ids or is_number_array(value):
        return Tensor(value)  # an argument that needs no gradient (or a Python number, as Tensor arithmetic passes it)
    raise RuntimeError(
        f"{node.name}.backward cannot be differentiated (create_graph=True): saved array {position} (shape "
        f"{tuple(value.shape)}) is neither an input nor the output of {node.name} but a floating-point array that "
        "forward computed from them, and the graph does not know how it depends on the inputs, so a second "
        "derivative through it would be silently wrong. Save the inputs (or the output) with "
        "ctx.save_for_backward and compute that array in backward from them, with operators and xp = "
        "minigrad.get_array_module(x) functions; bool and integer arrays (masks, indices) may be saved as they are.")


def _is_floating_array(value):
    dtype = getattr(value, "dtype", None)
    return dtype is not None and dtype.kind in "fc" and not isinstance(value, Tensor) and (
        backends.is_array(value) or type(value).__module__ == "numpy")


class Identity(Function):
    """y = x as a node of its own. The composed twin is rebuilt on these, so that differentiating it stops at each
    argument: the partial derivatives a node's backward returns, not total ones through the arguments' own graph."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


def _differentiate_twin(node, grad_output):
    """A fused op's gradients under create_graph: its twin on the op's arguments, differentiated with a graph."""
    node.saved_tensors  # raises the retain_graph error if the node was released
    arguments = []
    for raw, parent in zip(node._arguments, node._parents):
        if parent is None:
            arguments.append(Tensor(raw) if backends.is_array(raw) else raw)
        else:
            arguments.append(Identity.apply(parent if type(parent) is not Context else Tensor._make(raw, parent)))
    output = node._function.twin(*arguments)
    wanted = [k for k, needs in enumerate(node.needs_input_grad) if needs]
    grads = grad(output, [arguments[k] for k in wanted], grad_output, retain_graph=True, create_graph=True,
                 allow_unused=True)
    result = [None] * len(arguments)
    for k, gradient in zip(wanted, grads):
        result[k] = gradient
    return tuple(result)
