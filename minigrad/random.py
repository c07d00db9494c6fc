"""One random number generator for everything in minigrad: parameter init, data shuffles, randn/rand.

``minigrad.manual_seed(n)`` resets it, so a script or notebook that calls it once at the top draws the same
numbers on every run, on every backend: draws are made on the host with NumPy's ``Generator`` (PCG64) and then
moved to the backend, so the CuPy backend sees exactly the numbers the NumPy backend sees.
"""

import numpy

_DEFAULT_SEED = 0
_generator = numpy.random.default_rng(_DEFAULT_SEED)


def manual_seed(seed):
    """Reseed minigrad's generator; every later random draw in minigrad is determined by `seed`."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"manual_seed takes a non-negative integer, not {seed!r}")
    _generator = numpy.random.default_rng(int(seed))


def generator():
    """The current ``numpy.random.Generator`` (use it for every draw that should follow ``manual_seed``)."""
    return _generator
