"""scikit-learn's bundled handwritten digits: 1797 images of 8x8 pixels, no download needed.

The analog of MNIST in the lessons (the paper's permutation-invariant MNIST, section 6.4): small enough that an
MLP trains in seconds on a CPU.
"""

from collections import namedtuple

import numpy

from minigrad.creation import get_default_dtype, tensor

Digits = namedtuple("Digits", ["train_images", "train_labels", "test_images", "test_labels"])


def load_digits(test_fraction=0.2, dtype=None, backend=None):
    """The digits as Tensors: images (N, 64) scaled to [0, 1] (default dtype), labels (N,) int64 in 0..9.

    The split is fixed, with no randomness: the last `test_fraction` of the examples (in scikit-learn's order)
    are the test set. The examples are grouped by writer, so the test set holds writers the model never saw, and
    each of the ten classes is about equally represented in both parts. Shuffle the training set with
    :class:`minigrad.data.BatchIterator`.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as error:
        raise ImportError("minigrad.data.load_digits needs scikit-learn (it ships the digits data set): "
                          "pip install scikit-learn, or pip install \"minigrad[lessons]\"") from error
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    dtype = get_default_dtype() if dtype is None else dtype
    digits = sklearn_load_digits()
    images = digits.data / 16.0  # pixel intensities are 0..16
    labels = digits.target.astype(numpy.int64)
    split = len(images) - int(round(test_fraction * len(images)))
    return Digits(tensor(images[:split], dtype=dtype, backend=backend),
                  tensor(labels[:split], backend=backend),
                  tensor(images[split:], dtype=dtype, backend=backend),
                  tensor(labels[split:], backend=backend))
