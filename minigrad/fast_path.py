"""The switch between the readable ops and their fast subclasses.

Some ops (LayerNorm and BatchNorm) have faster implementations: named subclasses of the plain op that replace its
``forward`` and ``backward`` with cache-blocked NumPy code or compiled loops (:mod:`minigrad.nn.ops.fast`). They
compute the same function to rounding, and the tests hold each one to its plain class. The switch turns them all
off, so every op runs the class a student reads:

    minigrad.set_fast_kernels(False)

It starts on, unless the environment variable ``MINIGRAD_FAST=0`` is set when minigrad is imported.
(``MINIGRAD_NUMBA=0`` turns off only the compiled loops and keeps the blocked NumPy code.)

The engine has one fast path of its own, behind the same switch: :func:`add_in_place`, the ``.grad += gradient``
of gradient accumulation, on several cores for a large array.
"""

import os

import numpy

# Read once at import: the selector asks on every layer call, and a module attribute costs nothing to read.
_enabled = os.environ.get("MINIGRAD_FAST", "1").strip() != "0"


def set_fast_kernels(enabled):
    """Let ops use their fast subclasses (True, the default) or run only their plain classes (False)."""
    global _enabled
    _enabled = bool(enabled)


def fast_kernels_enabled():
    """True when ops may use their fast subclasses (see :func:`set_fast_kernels`)."""
    return _enabled


# From this many elements on, add_in_place splits an addition over threads (the compiled kernels' threshold:
# minigrad.nn.ops.fast.kernels.PARALLEL_MIN_ELEMENTS).
PARALLEL_MIN_ELEMENTS = 1 << 18


def add_in_place(target, addend):
    """``target += addend``: how the engine adds a gradient into a leaf's ``.grad`` (arrays of one shape and dtype).

    NumPy adds on one core. With the fast path on, two large C-contiguous NumPy arrays are added in slices by the
    compiled kernels' thread pool instead (:func:`minigrad.nn.ops.fast.kernels.add_in_place`; NumPy lets go of the
    GIL inside its loops, so the slices are added at the same time): the same additions, so the same result, bit
    for bit. (The compiled LayerNorm and BatchNorm skip even this pass where they may: they add into ``.grad``
    in their own loop, see :func:`minigrad.autograd.engine.grad_to_add_into`.)
    """
    if (_enabled and target.size >= PARALLEL_MIN_ELEMENTS and type(target) is numpy.ndarray
            and type(addend) is numpy.ndarray and target.flags.c_contiguous and addend.flags.c_contiguous):
        from minigrad.nn.ops.fast import kernels  # it imports this module, so not at the top
        kernels.add_in_place(target, addend)
    else:
        target += addend
