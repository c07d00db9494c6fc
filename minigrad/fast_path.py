"""The switch between the readable ops and their fast subclasses.

Some ops (LayerNorm and BatchNorm) have faster implementations: named subclasses of the plain op that replace its
``forward`` and ``backward`` with cache-blocked NumPy code or compiled loops (:mod:`minigrad.nn.ops.fast`). They
compute the same function to rounding, and the tests hold each one to its plain class. The switch turns them all
off, so every op runs the class a student reads:

    minigrad.set_fast_kernels(False)

It starts on, unless the environment variable ``MINIGRAD_FAST=0`` is set when minigrad is imported.
(``MINIGRAD_NUMBA=0`` turns off only the compiled loops and keeps the blocked NumPy code.)
"""

import os

# Read once at import: the selector asks on every layer call, and a module attribute costs nothing to read.
_enabled = os.environ.get("MINIGRAD_FAST", "1").strip() != "0"


def set_fast_kernels(enabled):
    """Let ops use their fast subclasses (True, the default) or run only their plain classes (False)."""
    global _enabled
    _enabled = bool(enabled)


def fast_kernels_enabled():
    """True when ops may use their fast subclasses (see :func:`set_fast_kernels`)."""
    return _enabled
