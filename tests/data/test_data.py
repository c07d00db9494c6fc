"""The lessons' data: digits, the adding problem, the character corpus, and the batching iterator."""

import sys
import warnings

import numpy
import pytest

import minigrad
from minigrad import data
from minigrad.data import text
from tests.helpers import host


def test_digits_split_is_fixed_and_balanced():
    digits = data.load_digits()
    assert digits.train_images.shape == (1438, 64) and digits.test_images.shape == (359, 64)
    assert digits.train_images.dtype == numpy.float32 and digits.train_labels.dtype == numpy.int64
    images = digits.train_images.numpy()
    assert images.min() == 0.0 and images.max() == 1.0
    counts = numpy.bincount(digits.test_labels.numpy(), minlength=10)
    assert counts.min() >= 30  # every class is in the test set
    again = data.load_digits(dtype="float64")
    numpy.testing.assert_array_equal(again.test_labels.numpy(), digits.test_labels.numpy())
    assert again.test_images.dtype == numpy.float64


def test_adding_problem():
    minigrad.manual_seed(0)
    inputs, targets = data.adding_problem(batch_size=500, length=20)
    assert inputs.shape == (20, 500, 2) and targets.shape == (500, 1)
    values, markers = inputs.numpy()[..., 0], inputs.numpy()[..., 1]
    assert (markers.sum(axis=0) == 2).all()
    assert (markers[:10].sum(axis=0) == 1).all() and (markers[10:].sum(axis=0) == 1).all()
    numpy.testing.assert_allclose(targets.numpy()[:, 0], (values * markers).sum(axis=0), rtol=1e-6)
    # predicting the mean (1) scores about the variance of a sum of two U(0, 1): the baseline
    assert abs(((targets.numpy() - 1) ** 2).mean() - data.BASELINE_MSE) < 0.03
    minigrad.manual_seed(0)
    numpy.testing.assert_array_equal(data.adding_problem(500, 20)[0].numpy(), inputs.numpy())


def test_char_corpus_is_pinned_and_encodes_losslessly():
    if not _is_pinned():
        pytest.skip("this Python's pydoc_data.topics differs from the pinned text (or is missing)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # on the pinned Python there is no warning
        corpus = data.load_char_corpus()
    assert corpus.sha256 == text.PINNED_SHA256 and corpus.source == text.PINNED_SOURCE
    assert len(corpus) > 400_000 and 80 <= corpus.vocab_size <= 120
    assert corpus.decode(corpus.ids[:500]) == corpus.text[:500]
    inputs, targets = corpus.sample_batch(batch_size=4, length=16)
    assert inputs.shape == (16, 4) and inputs.dtype == numpy.int64
    numpy.testing.assert_array_equal(inputs.numpy()[1:], targets.numpy()[:-1])  # targets: the next character
    with pytest.raises(ValueError, match="not in the corpus vocabulary"):
        corpus.encode("\u2603")


def _is_pinned():
    try:
        from pydoc_data.topics import topics
    except ImportError:
        return False
    return text.CharCorpus("".join(topics[k] for k in sorted(topics)), "check").sha256 == text.PINNED_SHA256


def test_char_corpus_mismatch_and_absence(monkeypatch):
    monkeypatch.setattr(text, "PINNED_SHA256", "0" * 64)
    with pytest.warns(RuntimeWarning, match="differs from the pinned one"):
        data.load_char_corpus()
    with pytest.raises(ValueError, match="differs from the pinned one"):
        data.load_char_corpus(require_pinned=True)
    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)  # as if the module were stripped
    with pytest.warns(RuntimeWarning, match="Falling back"):
        fallback = data.load_char_corpus()
    assert fallback.source == text.FALLBACK_SOURCE and len(fallback) > 10_000
    with pytest.raises(RuntimeError, match="not available"):
        data.load_char_corpus(require_pinned=True)


def test_batch_iterator_covers_every_example_once_per_epoch():
    x = minigrad.arange(10)
    y = minigrad.arange(10) * 10
    batches = data.BatchIterator(x, y, batch_size=4, seed=0)
    assert len(batches) == 3
    epoch = list(batches)
    assert [len(bx) for bx, _ in epoch] == [4, 4, 2]
    seen = numpy.concatenate([bx.numpy() for bx, _ in epoch])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    for bx, by in epoch:
        numpy.testing.assert_array_equal(by.numpy(), bx.numpy() * 10)  # rows stay paired
    second = numpy.concatenate([bx.numpy() for bx, _ in batches])
    assert list(second) != list(seen)  # a new order each epoch
    replay = data.BatchIterator(x, y, batch_size=4, seed=0)
    numpy.testing.assert_array_equal(numpy.concatenate([bx.numpy() for bx, _ in replay]), seen)
    assert len(data.BatchIterator(x, batch_size=4, drop_last=True)) == 2
    ordered = numpy.concatenate([bx.numpy() for (bx,) in data.BatchIterator(x, batch_size=3, shuffle=False)])
    assert list(ordered) == list(range(10))


def test_batch_iterator_follows_manual_seed_without_its_own_seed():
    x = minigrad.arange(20)
    minigrad.manual_seed(5)
    first = [host(bx) for (bx,) in data.BatchIterator(x, batch_size=5)]
    minigrad.manual_seed(5)
    second = [host(bx) for (bx,) in data.BatchIterator(x, batch_size=5)]
    for a, b in zip(first, second):
        numpy.testing.assert_array_equal(a, b)


def test_batch_iterator_on_a_backend(backend):
    x = minigrad.arange(6)
    assert all(bx.backend == backend for (bx,) in data.BatchIterator(x, batch_size=4, seed=1))


def test_batch_iterator_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match="same first dimension"):
        data.BatchIterator(minigrad.zeros(3), minigrad.zeros(4), batch_size=2)
    with pytest.raises(TypeError, match="not a Tensor"):
        data.BatchIterator(numpy.zeros(3), batch_size=2)
