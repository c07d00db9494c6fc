"""minigrad.set_flush_denormal: subnormal floats read and written as zero in this thread, and back."""

import numpy
import pytest

import minigrad
from minigrad import denormals

SUBNORMAL32 = numpy.float32(1e-39)  # below float32's smallest normal number, 1.18e-38

supported = denormals._libm() is not None


@pytest.fixture(autouse=True)
def restore_the_setting():
    before = minigrad.get_flush_denormal()
    yield
    minigrad.set_flush_denormal(before)


@pytest.mark.skipif(not supported, reason="flushing subnormals is supported on x86-64 Linux with glibc")
def test_flushing_turns_subnormal_results_and_inputs_into_zero():
    tiny = numpy.full(4, SUBNORMAL32)
    assert minigrad.set_flush_denormal(True) is True
    assert minigrad.get_flush_denormal()
    assert (tiny * numpy.float32(1)).tolist() == [0.0] * 4        # a subnormal input reads as zero
    normal = numpy.full(4, numpy.float32(1e-30))
    assert (normal * numpy.float32(1e-10)).tolist() == [0.0] * 4  # a subnormal result is written as zero
    x = minigrad.tensor(tiny)
    assert (x * 1.0).numpy().tolist() == [0.0] * 4                  # tensors compute in this thread too

    assert minigrad.set_flush_denormal(False) is True
    assert not minigrad.get_flush_denormal()
    assert (tiny * numpy.float32(1) == SUBNORMAL32).all()
    assert (normal * numpy.float32(1e-10) > 0).all()


@pytest.mark.skipif(not supported, reason="flushing subnormals is supported on x86-64 Linux with glibc")
def test_normal_numbers_are_unchanged_and_the_float64_range_is_flushed_too():
    values = numpy.array([1.0, -2.5, 1e-30, 3e38], dtype=numpy.float32)
    minigrad.set_flush_denormal(True)
    assert ((values * numpy.float32(1)) == values).all()
    assert numpy.float64(1e-310) * numpy.ones(1) == 0.0


def test_unsupported_platform_reports_false_and_changes_nothing(monkeypatch):
    before = numpy.full(2, SUBNORMAL32) * numpy.float32(1)
    monkeypatch.setattr(denormals.sys, "platform", "darwin")
    denormals._libm.cache_clear()
    assert minigrad.set_flush_denormal(True) is False
    assert minigrad.get_flush_denormal() is False
    monkeypatch.undo()
    denormals._libm.cache_clear()
    assert ((numpy.full(2, SUBNORMAL32) * numpy.float32(1)) == before).all()
