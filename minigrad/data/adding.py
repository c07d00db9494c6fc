"""The adding problem (Hochreiter and Schmidhuber, 1997): a test of long-range memory for recurrent networks.

Each sequence has T steps of two numbers: a value drawn from U(0, 1), and a marker that is 1 at exactly two
steps (one in the first half, one in the second) and 0 elsewhere. The target is the sum of the two marked
values. A network that remembers nothing can only predict the mean, 1, and scores the variance of a sum of two
U(0, 1) draws, 2/12 = 0.167, as its mean squared error: that is the baseline to beat. The first marker is at
least T/2 steps before the end, so solving it needs memory over about T/2 steps.
"""

import numpy

from minigrad import random
from minigrad.creation import get_default_dtype, tensor

BASELINE_MSE = 2 / 12  # the variance of U(0, 1) + U(0, 1): the error of always predicting 1


def adding_problem(batch_size, length, dtype=None, backend=None, generator=None):
    """A batch of the adding problem: inputs (length, batch_size, 2), time-major, and targets (batch_size, 1).

    Draws come from minigrad's generator (``minigrad.manual_seed``) unless a ``numpy.random.Generator`` is given.
    """
    if length < 2:
        raise ValueError(f"adding_problem needs a length of at least 2, got {length}")
    rng = random.generator() if generator is None else generator
    half = length // 2
    values = rng.random((length, batch_size))
    markers = numpy.zeros((length, batch_size))
    examples = numpy.arange(batch_size)
    markers[rng.integers(0, half, size=batch_size), examples] = 1
    markers[rng.integers(half, length, size=batch_size), examples] = 1
    inputs = numpy.stack([values, markers], axis=-1)
    targets = (values * markers).sum(axis=0)[:, None]
    dtype = get_default_dtype() if dtype is None else dtype
    return tensor(inputs, dtype=dtype, backend=backend), tensor(targets, dtype=dtype, backend=backend)
