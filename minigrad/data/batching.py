"""``BatchIterator``: minibatches of one or more Tensors that share their first axis, reshuffled every epoch."""

import math

import numpy

from minigrad import random
from minigrad.tensor import Tensor


class BatchIterator:
    """``for images, labels in BatchIterator(images, labels, batch_size=32, shuffle=True): ...``

    Each ``for`` loop is one epoch over the examples. With ``shuffle=True`` every epoch draws a new order:
    from its own ``numpy.random.Generator`` seeded with `seed` if one is given (the same sequence of epochs on
    every run, whatever else draws random numbers), else from minigrad's generator (``minigrad.manual_seed``).
    ``drop_last=True`` skips a final batch smaller than `batch_size`.
    """

    def __init__(self, *tensors, batch_size, shuffle=True, drop_last=False, seed=None):
        if not tensors:
            raise ValueError("BatchIterator needs at least one Tensor")
        for index, value in enumerate(tensors):
            if not isinstance(value, Tensor):
                raise TypeError(f"BatchIterator: argument {index} is a {type(value).__name__}, not a Tensor; wrap "
                                "it with minigrad.tensor(...)")
        counts = {value.shape[0] if value.ndim else None for value in tensors}
        if len(counts) != 1 or None in counts:
            raise ValueError(f"BatchIterator: every Tensor needs the same first dimension (the examples), got "
                             f"shapes {[value.shape for value in tensors]}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.tensors, self.batch_size = tensors, int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.count = counts.pop()
        self._rng = None if seed is None else numpy.random.default_rng(seed)

    def __len__(self):
        """The number of batches in one epoch."""
        if self.drop_last:
            return self.count // self.batch_size
        return math.ceil(self.count / self.batch_size)

    def __iter__(self):
        if self.shuffle:
            order = (self._rng or random.generator()).permutation(self.count)
        else:
            order = numpy.arange(self.count)
        for batch in range(len(self)):
            indices = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            yield tuple(value[indices] for value in self.tensors)
