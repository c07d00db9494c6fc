"""The two switches every op consults: whether to record the graph (``no_grad``) and whether to check every
result for NaN and Inf (``detect_anomaly``).

They live apart from the engine because ``Function.apply`` reads them on every op call, while the engine only runs
in ``backward()``. ``state`` is one object with two slots, so reading a switch is one attribute lookup.
"""

import contextlib

from minigrad.backends import get_array_module


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
    """Under ``detect_anomaly``: raise if the floating-point `array` holds a NaN or an Inf."""
    if array.dtype.kind not in "fc":
        return
    xp = get_array_module(array)
    if not bool(xp.isfinite(array).all()):
        bad = int((~xp.isfinite(array)).sum())
        message = (f"detect_anomaly: {what} non-finite values (NaN or Inf) {where}: {bad} of {array.size} "
                   f"elements, shape {tuple(array.shape)}")
        if trace:
            message += "\nThe op was called in the forward pass here:\n" + trace
        raise RuntimeError(message)
