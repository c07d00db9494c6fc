"""``minigrad.set_flush_denormal``: let the CPU treat subnormal floats as zero, as ``torch.set_flush_denormal`` does.

Subnormal (denormal) numbers are the floats closer to zero than the smallest normal one: below about 1.2e-38 in
float32 and 2.2e-308 in float64. They keep precision from falling off a cliff near zero, but x86 CPUs handle
an operation that reads or produces one in a slow microcode path, tens of times slower than an ordinary one.

Where that shows up here: training an RNN on long sequences. The gradient shrinks as it flows backwards through
time (the vanishing gradient), and on its way to zero it passes through the subnormal range. A training step of
the separate-LN RNN on the adding problem then costs more per time step at T=400 than at T=50, in PyTorch as in
minigrad, although the work per step is the same (``python -m minigrad.bench --scaling`` measures both). Numbers
that small contribute nothing to a float32 weight update, so flushing them to zero changes no result that matters
and makes the time linear in T again. minigrad's fast Linear and LayerNorm (the default for NumPy arrays) take
most of that slow path away without flushing: they lift a vanishing gradient (in or near the subnormal range) by
a power of two before their products (:mod:`minigrad.nn.ops.fast.subnormal`).

How: the SSE control register MXCSR has two bits for it. FTZ (flush to zero, bit 15) writes a result that would
be subnormal as 0; DAZ (denormals are zero, bit 6) reads a subnormal input as 0. They are read and written here
through the C library's ``fegetenv``/``fesetenv``, whose environment record ends with MXCSR on x86-64 Linux.

The setting belongs to the calling thread, and threads it starts afterwards inherit it (a new thread copies its
creator's MXCSR). NumPy's elementwise loops and minigrad's serial compiled kernels run in the calling thread;
thread pools already running (BLAS, PyTorch's, the compiled kernels' once started) keep the setting they had.
"""

import functools
import os
import platform
import sys

_FLUSH_TO_ZERO = 1 << 15
_DENORMALS_ARE_ZERO = 1 << 6
_ENVIRONMENT_WORDS = 8  # glibc's fenv_t on x86-64: 32 bytes, the last 4 of which are MXCSR
_MXCSR_WORD = 7


def _is_glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or not glibc
        return False


@functools.lru_cache(maxsize=None)  # looked up once per process
def _libm():
    """The C math library, where this platform's environment record has the layout above; otherwise None.

    (Both flags exist on the x86-64 processors in use. The DAZ bit is missing on some very early SSE2 processors,
    where setting it would fault; PyTorch checks for it first through the FXSAVE mask, and minigrad does not.)"""
    if sys.platform != "linux" or platform.machine() != "x86_64" or not _is_glibc():
        return None
    import ctypes.util  # here, not at the top: ``import minigrad`` loads no C library
    name = ctypes.util.find_library("m")
    return None if name is None else ctypes.CDLL(name)


def _read_environment(libm):
    import ctypes
    environment = (ctypes.c_uint32 * _ENVIRONMENT_WORDS)()
    if libm.fegetenv(environment) != 0:
        raise OSError("fegetenv failed")
    return environment


def get_flush_denormal():
    """Whether subnormals are flushed to zero in this thread (False where the setting is not supported)."""
    libm = _libm()
    if libm is None:
        return False
    mxcsr = _read_environment(libm)[_MXCSR_WORD]
    return mxcsr & (_FLUSH_TO_ZERO | _DENORMALS_ARE_ZERO) == (_FLUSH_TO_ZERO | _DENORMALS_ARE_ZERO)


def set_flush_denormal(mode):
    """Flush subnormal floats to zero (``mode=True``) or compute with them exactly (``False``, the default state
    of a new thread) in the calling thread. Returns True when the setting is supported here (x86-64 Linux with
    glibc), False otherwise, in which case nothing changes: the same contract as ``torch.set_flush_denormal``."""
    libm = _libm()
    if libm is None:
        return False
    environment = _read_environment(libm)
    if mode:
        environment[_MXCSR_WORD] |= _FLUSH_TO_ZERO | _DENORMALS_ARE_ZERO
    else:
        environment[_MXCSR_WORD] &= ~(_FLUSH_TO_ZERO | _DENORMALS_ARE_ZERO) & 0xFFFFFFFF
    if libm.fesetenv(environment) != 0:
        raise OSError("fesetenv failed")
    return True
