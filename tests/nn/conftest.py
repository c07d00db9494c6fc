"""Fixtures shared by the layer tests."""

import pytest

import minigrad


@pytest.fixture(params=[False, True], ids=["plain", "fast"])
def fast_kernels(request):
    """Run a test with the fast path off (every op its plain class) and on (the fast subclasses where they suit)."""
    previous = minigrad.fast_kernels_enabled()
    minigrad.set_fast_kernels(request.param)
    yield request.param
    minigrad.set_fast_kernels(previous)
