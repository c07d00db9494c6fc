"""minigrad.set_flush_denormal: subnormal floats read and written as zero in this thread, and back."""

import platform
import sys
import threading

import numpy
import pytest

import minigrad
from minigrad import denormals

SUBNORMAL32 = numpy.float32(1e-39)  # below float32's smallest normal number, 1.18e-38

# decided apart from the code under test, so that a broken platform check fails here instead of skipping
supported = sys.platform == "linux" and platform.machine() == "x86_64" and platform.libc_ver()[0] == "glibc"
needs_support = pytest.mark.skipif(not supported, reason="flushing subnormals is supported on x86-64 Linux with glibc")


@pytest.fixture(autouse=True)
def restore_the_setting():
    before = minigrad.get_flush_denormal()
    yield
    minigrad.set_flush_denormal(before)


@needs_support
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


@needs_support
def test_normal_numbers_are_unchanged_and_the_float64_range_is_flushed_too():
    values = numpy.array([1.0, -2.5, 1e-30, 3e38], dtype=numpy.float32)
    minigrad.set_flush_denormal(True)
    assert ((values * numpy.float32(1)) == values).all()
    assert numpy.float64(1e-310) * numpy.ones(1) == 0.0


@needs_support
def test_only_the_two_flags_change_and_rounding_survives_a_round_trip():
    libm = denormals._libm()
    before = denormals._read_environment(libm)[denormals._MXCSR_WORD]
    minigrad.set_flush_denormal(True)
    flushed = denormals._read_environment(libm)[denormals._MXCSR_WORD]
    assert flushed ^ before == (denormals._FLUSH_TO_ZERO | denormals._DENORMALS_ARE_ZERO) & ~before
    minigrad.set_flush_denormal(False)
    after = denormals._read_environment(libm)[denormals._MXCSR_WORD]
    flags = denormals._FLUSH_TO_ZERO | denormals._DENORMALS_ARE_ZERO
    assert after & ~flags == before & ~flags  # rounding mode and exception masks as they were
    assert not after & flags


@needs_support
def test_a_thread_started_afterwards_inherits_the_setting_and_one_thread_does_not_change_another():
    seen = []
    minigrad.set_flush_denormal(True)
    thread = threading.Thread(target=lambda: seen.append(minigrad.get_flush_denormal()))
    thread.start()
    thread.join()
    assert seen == [True]

    minigrad.set_flush_denormal(False)
    thread = threading.Thread(target=lambda: seen.append(minigrad.set_flush_denormal(True)))
    thread.start()
    thread.join()
    assert seen == [True, True] and not minigrad.get_flush_denormal()


def test_unsupported_platform_reports_false_and_changes_nothing(monkeypatch):
    before = minigrad.get_flush_denormal()
    monkeypatch.setattr(denormals, "_libm", lambda: None)
    assert minigrad.set_flush_denormal(True) is False
    assert minigrad.get_flush_denormal() is False
    monkeypatch.undo()
    assert minigrad.get_flush_denormal() == before
