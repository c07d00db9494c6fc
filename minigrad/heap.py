"""Keep the memory a training step frees for the next step, instead of handing it back to the system (glibc).

A training step allocates the graph's arrays as forward runs and frees them as backward releases each node. For
an RNN over many time steps that is tens of MiB of small arrays (32x128 float32 is 16 KiB), allocated one after
the other at the top of the C heap. glibc's malloc gives memory at the top of its heap back to the system as
soon as more than M_TRIM_THRESHOLD bytes are free there (128 KiB by default), so when backward has freed the
graph, the heap shrinks, and the next forward grows it again: every page of it is then a fresh page, and the
first write to each costs a page fault (the kernel zeroes the page and maps it). Measured on this project's
machine for the RNN step at T=400: about 4,300 page faults per step, and the step 20-40% slower than with the
memory kept (minigrad/bench/README.md).

:func:`keep_freed_memory` sets two of malloc's parameters (``mallopt``): the trim threshold (free memory kept at
the top of the heap) to KEEP_BYTES, and the size from which an allocation is mapped on its own (and unmapped
when freed) to MMAP_THRESHOLD_BYTES, the largest glibc allows and where its own adjustment of that size ends
anyway. The process then keeps up to KEEP_BYTES of freed memory, reused by the next step. ``import minigrad``
calls it on Linux with glibc, unless the environment variable ``MINIGRAD_KEEP_FREED_MEMORY=0`` is set; elsewhere
it does nothing. (``MALLOC_TRIM_THRESHOLD_`` in the environment sets the same parameter before Python starts.)
"""

import ctypes
import os
import platform

KEEP_BYTES = 256 << 20
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's maximum on 64-bit systems (half its largest heap)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h

kept = False  # whether keep_freed_memory took effect in this process


def keep_freed_memory():
    """Tell glibc's malloc to keep freed memory for reuse (see the module's docstring); True if it took effect."""
    global kept
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    kept = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and mallopt(_M_TRIM_THRESHOLD, KEEP_BYTES))
    return kept


def enabled_by_environment():
    """False when the environment variable MINIGRAD_KEEP_FREED_MEMORY is "0"."""
    return os.environ.get("MINIGRAD_KEEP_FREED_MEMORY", "1").strip() != "0"
