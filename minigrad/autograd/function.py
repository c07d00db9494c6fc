"""``Function``: the one way to define a differentiable op, for minigrad's own ops and for yours.

An op is a class with two static methods::

    class Cube(minigrad.Function):
        @staticmethod
        def forward(ctx, x):             # raw backend arrays in, one raw array out
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):  # dL/dy in, one dL/d(argument) per forward argument out
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * grad_output

    y = Cube.apply(t)

``apply`` unwraps the Tensor arguments to their arrays (other arguments, such as ``eps`` or ``axis``, pass through
unchanged), runs ``forward``, and wraps the result in a Tensor. If any argument requires a gradient, the ``ctx``
object becomes the result's node in the graph: it remembers the Function, the arguments' own nodes, and what
``forward`` saved for ``backward``. :mod:`minigrad.autograd.engine` walks these nodes backwards.

The same ``backward`` also gives second derivatives: under ``backward(create_graph=True)`` the engine calls it with
Tensors (``grad_output``, and ``saved_tensors`` as the graph's own inputs and output), so that every operator and
``xp`` function in it records a graph. For that the node remembers which argument (or the output) each saved array
was; an array forward computed from the inputs (anything else) cannot be differentiated and is refused then.
"""

import inspect
import traceback

import numpy

from minigrad.autograd import mode
from minigrad.backends import backend_of, get_array_module, is_array
from minigrad.tensor import Tensor

# apply builds its result as Tensor._make does, inline (a call less on every op): object.__new__ and four slots
_new_tensor = object.__new__


class Context:
    """The ``ctx`` of a Function call, and after it the graph node of the call's output.

    Public: ``save_for_backward(*arrays)``, ``saved_tensors``, ``needs_input_grad`` (one bool per forward
    argument), and any attribute you set (``ctx.eps = eps``). For inspecting the graph: ``function`` (the
    Function class), ``name`` and ``parents`` (one entry per forward argument: the node that produced it, the leaf
    Tensor itself, or None where no gradient flows).
    """

    # The graph's bookkeeping lives in slots; the instance dict holds what forward chose to keep (saved arrays,
    # ctx.eps, ...), so releasing a node after backward is simply clearing that dict. The defaults below are class
    # attributes so that creating a Context, once per op call, costs no __init__.
    __slots__ = ("_function", "_parents", "_shape", "_dtype", "_output_id", "needs_input_grad", "__dict__",
                 "__weakref__")
    _saved = ()
    _released = False
    _retained = None   # a weak reference to the output Tensor, set by Tensor.retain_grad()
    _trace = None      # where the op was called, recorded under detect_anomaly()
    # Under create_graph, saved_tensors must say which argument (or the output) each saved array was. An argument
    # from a leaf is that leaf's .data; from an earlier node, the array whose id() is that node's _output_id; from
    # a Tensor without gradient, one of _constant_ids. (A saved array lives on from forward, when all of these were
    # alive too, so equal ids mean the same array. _output_id is a slot: releasing a node keeps it.)
    _returned_id = None
    _constant_ids = ()
    _arguments = None  # the raw arguments, kept only for a Function with a composed twin (see Function.twin)

    def save_for_backward(self, *arrays):
        """Keep `arrays` for backward; they are released after backward unless ``retain_graph=True``."""
        self._saved = arrays

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(
                f"{self.name}: trying to backward through the graph a second time, or to read saved arrays after "
                "they were freed. The first backward() released them to save memory; call backward(retain_graph=True) "
                "the first time if you need to backward through the same graph again.")
        return self._saved

    @property
    def function(self):
        return self._function

    @property
    def name(self):
        return self._function.__name__

    @property
    def parents(self):
        return self._parents

    def _release(self):
        self.__dict__.clear()  # the saved arrays and whatever else forward kept (ctx.mask, ctx.normalized, ...)
        self._released = True

    def __repr__(self):
        return f"<{self.name} node>"


class Function:
    """Base class of every differentiable op. Subclass it; define ``forward`` and ``backward``; call ``apply``.

    ``twin``: for a fused op whose ``backward`` works on intermediate arrays, a function of ``apply``'s arguments
    (as Tensors) that computes the same output from primitive Tensor ops, one line calling its composed twin in
    :mod:`minigrad.nn.composed`. Under ``create_graph=True`` the engine differentiates the twin instead of calling
    ``backward`` (see :mod:`minigrad.autograd.engine`); the node then keeps the arguments, as PyTorch keeps a
    layer's input.
    """

    twin = None

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args):
        """Run the op on `args` (Tensors and plain values) and return a Tensor, recording the graph if needed.

        This runs once per op call, so it is written for speed: one pass over the arguments, and the graph
        bookkeeping only when some argument requires a gradient.
        """
        state = mode.state
        grad_enabled = state.grad_enabled
        raw_args = []
        parents = []           # per argument: its node, or the leaf Tensor itself, or None if no gradient flows to it
        needs_input_grad = []  # per argument: whether a gradient flows to it
        array_type = None      # the backend's array type, from the first Tensor argument
        builds_graph = False
        constant_ids = ()      # id() of the arrays of Tensor arguments that need no gradient (see Context)
        for arg in args:
            if isinstance(arg, Tensor):
                data = arg.data
                if type(data) is not array_type:
                    if array_type is None:
                        array_type = type(data)
                    else:
                        _check_same_backend(cls, args)
                raw_args.append(data)
                if arg._requires_grad and grad_enabled:
                    builds_graph = True
                    node = arg._node
                    parents.append(arg if node is None else node)
                    needs_input_grad.append(True)
                    continue
                constant_ids += (id(data),)
            else:
                raw_args.append(arg)
            parents.append(None)
            needs_input_grad.append(False)

        ctx = Context()
        ctx.needs_input_grad = tuple(needs_input_grad)
        output = cls.forward(ctx, *raw_args)
        if type(output) is not array_type:
            ctx._returned_id = id(output)  # a NumPy scalar, which forward may have saved as its output
            output = _as_output_array(cls, output, array_type, raw_args)
        anomaly = state.anomaly
        if anomaly:
            mode.check_finite(output, f"{cls.__name__}.forward produced", "in its output")
        result = _new_tensor(Tensor)  # Tensor._make(output, node), inline
        result.data = output
        result.grad = None
        dtype = output.dtype
        if not builds_graph or dtype.kind not in "fc":  # integer and boolean results carry no gradient
            result._node = None
            result._requires_grad = False
            return result

        ctx._function = cls
        ctx._parents = tuple(parents)
        ctx._output_id = id(output)  # with the parents' own, all that create_graph needs to rebuild saved_tensors
        if constant_ids:
            ctx._constant_ids = constant_ids
        if cls.twin is not None:
            ctx._arguments = raw_args
        ctx._shape, ctx._dtype = output.shape, dtype  # what backward's gradient for this output must be
        if anomaly:
            ctx._trace = "".join(traceback.format_stack()[:-1])
        result._node = ctx
        result._requires_grad = True
        return result


def call(function, *args):
    """`function` run inside a backward: ``apply`` when an argument is a Tensor (a backward recording its graph
    under create_graph=True), else ``forward`` alone on the arrays (an ordinary backward records nothing).

    For a backward that is itself an op with a derivative of its own, such as GetItem's, which scatters the
    gradient into zeros: ``return call(IndexAdd, grad_output, ctx.input_shape, ctx.index), None``.
    """
    for arg in args:
        if isinstance(arg, Tensor):
            return function.apply(*args)
    return function.forward(Context(), *args)


def _check_same_backend(function, args):
    backends = [(index, backend_of(arg.data)) for index, arg in enumerate(args) if isinstance(arg, Tensor)]
    (first_index, first), *rest = backends
    for index, name in rest:
        if name != first:
            raise TypeError(
                f"{function.__name__}: argument {first_index} is on backend {first!r} but argument {index} is on "
                f"backend {name!r}; move one of them with .to({first!r}) or .to({name!r})")


def _as_output_array(function, output, array_type, raw_args):
    """Accept NumPy scalars (what NumPy reductions return) and Python numbers; reject anything else."""
    if isinstance(output, Tensor):
        raise TypeError(f"{function.__name__}.forward returned a Tensor; forward receives raw arrays and must "
                        "return a raw array")
    if array_type is None:  # no Tensor arguments: the output decides its own backend
        if is_array(output):
            return output
        array_type = numpy.ndarray
    elif isinstance(output, array_type):  # a subclass of the backend's array type
        return output
    if isinstance(output, (int, float, bool, numpy.generic)):
        inputs = [arg for arg in raw_args if type(arg) is array_type]
        return get_array_module(*inputs).asarray(output)
    raise TypeError(f"{function.__name__}.forward returned a {type(output).__module__}.{type(output).__name__}; "
                    f"it must return an array of its inputs' backend ({array_type.__module__}.ndarray)")


_argument_names = {}


def argument_name(function, index):
    """'x' for argument 0 of ``forward(ctx, x, ...)``: error messages name the argument, not only its index."""
    names = _argument_names.get(function)
    if names is None:
        try:
            parameters = list(inspect.signature(function.forward).parameters.values())[1:]
            names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            names = []
        _argument_names[function] = names
    return f"argument {index} ({names[index]!r})" if index < len(names) else f"argument {index}"

