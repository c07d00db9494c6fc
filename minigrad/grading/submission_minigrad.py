"""minigrad as a submission sees it while it is graded: ``Function``, ``get_array_module`` and the backends.

The grader assembles this file (as ``minigrad/__init__.py``) and the backend modules listed in
:data:`minigrad.grading.minimal.CORE_FILES` into a folder of their own, and the child process imports ``minigrad``
from there. Nothing else of the package exists for a submission: not the engine, not ``minigrad.ops``, not
``minigrad.nn``, not the grader. The grader calls ``forward`` and ``backward`` itself, with a fresh ``Context``,
exactly as the engine would; a backward that asks the engine for help finds none.
"""

from minigrad.backends import get_array_module

__all__ = ["Function", "Context", "get_array_module"]


class Context:
    """The ``ctx`` of one call: ``save_for_backward(*arrays)``, ``saved_tensors``, ``needs_input_grad``, and any
    attribute forward sets (``ctx.eps = eps``)."""

    needs_input_grad = ()
    _saved = ()

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        return self._saved


class Function:
    """Subclass it and define ``forward(ctx, *args)`` and ``backward(ctx, grad_output)`` on raw arrays."""

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args):
        raise RuntimeError(f"{cls.__name__}.apply is not available while grading: the grader calls forward and "
                           "backward itself, on raw arrays")


def __getattr__(name):
    raise AttributeError(f"minigrad.{name} is not available to a submission: an exercise uses minigrad.Function "
                         "and minigrad.get_array_module only, and writes everything else itself")
