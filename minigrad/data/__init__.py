"""``minigrad.data``: the lessons' data sets (no downloads) and a batching iterator.

- :func:`load_digits`: scikit-learn's 8x8 handwritten digits, split into train and test.
- :func:`adding_problem`: the long-range memory task for recurrent networks.
- :func:`load_char_corpus`: a character-level text from ``pydoc_data.topics``, pinned by its hash.
- :class:`BatchIterator`: minibatches with seeded shuffling.
"""

from minigrad.data.adding import BASELINE_MSE, adding_problem
from minigrad.data.batching import BatchIterator
from minigrad.data.digits import Digits, load_digits
from minigrad.data.text import CharCorpus, load_char_corpus

__all__ = ["load_digits", "Digits", "adding_problem", "BASELINE_MSE", "load_char_corpus", "CharCorpus",
           "BatchIterator"]
