import pytest

import minigrad


@pytest.fixture(autouse=True)
def fast_kernels_on():
    """These tests compare the fast classes with the plain ones, so they run with the switch on whatever
    MINIGRAD_FAST says (and put it back afterwards)."""
    before = minigrad.fast_kernels_enabled()
    minigrad.set_fast_kernels(True)
    yield
    minigrad.set_fast_kernels(before)
