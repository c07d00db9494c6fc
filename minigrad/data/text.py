"""A character-level corpus from text that ships with Python: the help topics of ``pydoc_data.topics``.

About 465,000 characters of English prose and code (the text ``help("FOR")`` prints), with no download. The text
changes between Python releases, so it is pinned by its SHA-256: a different text gives a warning (results will
not match the lessons' figures exactly), or an error with ``require_pinned=True``. Some distributions strip
``pydoc_data``; then the docstrings of Python's builtins (about 30,000 characters) stand in, with a warning.
"""

import builtins
import hashlib
import warnings

import numpy

from minigrad import random
from minigrad.creation import tensor

PINNED_SOURCE = "pydoc_data.topics"
PINNED_SHA256 = "37d06970fc926e60c16dff401e441b84752446a36b6b64516c229fdec77e992c"  # Python 3.11.7
FALLBACK_SOURCE = "builtins docstrings"


class CharCorpus:
    """A text, its sorted character vocabulary, and the text as integer ids (``ids``, a NumPy int64 array)."""

    def __init__(self, text, source):
        if len(text) < 2:
            raise ValueError("a corpus needs at least two characters")
        self.text, self.source = text, source
        self.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.chars = sorted(set(text))
        self._codepoints = numpy.array([ord(char) for char in self.chars], dtype=numpy.int64)
        self.ids = self.encode(text)

    @property
    def vocab_size(self):
        return len(self.chars)

    def __len__(self):
        return len(self.text)

    def encode(self, text):
        """The ids of the characters of `text` (a NumPy int64 array); every character must be in the vocabulary."""
        codepoints = numpy.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(numpy.int64)
        ids = numpy.searchsorted(self._codepoints, codepoints)
        unknown = (ids >= len(self.chars)) | (self._codepoints[numpy.minimum(ids, len(self.chars) - 1)]
                                             != codepoints)
        if unknown.any():
            missing = sorted({char for char, is_unknown in zip(text, unknown) if is_unknown})
            raise ValueError(f"characters not in the corpus vocabulary: {missing}")
        return ids

    def decode(self, ids):
        """The text of a sequence of ids (a list, a NumPy array or an integer Tensor)."""
        ids = ids.numpy() if hasattr(ids, "numpy") else numpy.asarray(ids)
        return "".join(self.chars[int(i)] for i in ids.reshape(-1))

    def sample_batch(self, batch_size, length, backend=None, generator=None):
        """Random windows of the text, time-major: inputs (length, batch_size) and targets (length, batch_size),
        int64 Tensors, where each target is the character that follows its input (next-character prediction).

        Window starts are drawn from minigrad's generator unless a ``numpy.random.Generator`` is given.
        """
        if not 1 <= length < len(self.ids):
            raise ValueError(f"length must lie in [1, {len(self.ids) - 1}] for a corpus of {len(self.ids)} "
                             f"characters, got {length}")
        rng = random.generator() if generator is None else generator
        starts = rng.integers(0, len(self.ids) - length, size=batch_size)
        positions = starts[None, :] + numpy.arange(length)[:, None]  # (length, batch_size)
        return tensor(self.ids[positions], backend=backend), tensor(self.ids[positions + 1], backend=backend)

    def __repr__(self):
        return (f"CharCorpus(source={self.source!r}, characters={len(self.text)}, vocab_size={self.vocab_size}, "
                f"sha256={self.sha256[:12]}...)")


def load_char_corpus(require_pinned=False):
    """The help topics of ``pydoc_data.topics`` (sorted by topic name, joined) as a :class:`CharCorpus`.

    If that module is missing, or its text differs from the pinned one (another Python version), warn and go
    on (with the builtins' docstrings when it is missing); ``require_pinned=True`` raises instead.
    """
    try:
        from pydoc_data.topics import topics
    except ImportError as error:
        message = (f"{PINNED_SOURCE} is not available in this Python installation ({error}); some distributions "
                   "strip it (on Debian/Ubuntu it is in the python3-doc or libpython3-stdlib package)")
        if require_pinned:
            raise RuntimeError(message) from error
        warnings.warn(f"{message}. Falling back to the {FALLBACK_SOURCE}, a much smaller text.", RuntimeWarning,
                      stacklevel=2)
        return CharCorpus(_builtins_docstrings(), FALLBACK_SOURCE)
    corpus = CharCorpus("".join(topics[name] for name in sorted(topics)), PINNED_SOURCE)
    if corpus.sha256 != PINNED_SHA256:
        message = (f"the text of {PINNED_SOURCE} differs from the pinned one (sha256 {corpus.sha256}, pinned "
                   f"{PINNED_SHA256} from Python 3.11.7)")
        if require_pinned:
            raise ValueError(message)
        warnings.warn(f"{message}; training curves will differ slightly from the lessons' figures.",
                      RuntimeWarning, stacklevel=2)
    return corpus


def _builtins_docstrings():
    documented = (getattr(builtins, name).__doc__ for name in sorted(dir(builtins)))
    return "\n\n".join(doc for doc in documented if isinstance(doc, str))
