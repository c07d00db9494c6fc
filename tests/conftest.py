"""Shared fixtures: run a test on every backend, and leave global settings as they were."""

import os

import pytest

import minigrad
from minigrad import backends


def _cupy_unavailable_reason():
    try:
        backends.get_module("cupy")
    except backends.BackendUnavailableError as error:
        return str(error)
    return None


@pytest.fixture(params=["numpy", "strict", "cupy"])
def backend(request):
    """Parametrize a test over every backend; CuPy is skipped (with the reason) where no GPU is usable,
    unless MINIGRAD_REQUIRE_GPU=1 demands it."""
    name = request.param
    if name == "cupy":
        reason = _cupy_unavailable_reason()
        if reason is not None:
            if os.environ.get("MINIGRAD_REQUIRE_GPU") == "1":
                pytest.fail(f"MINIGRAD_REQUIRE_GPU=1 but the CuPy backend is unavailable: {reason}")
            pytest.skip(f"CuPy backend unavailable: {reason}")
    with minigrad.use_backend(name):
        yield name


@pytest.fixture(autouse=True)
def _restore_global_settings():
    dtype, backend_name = minigrad.get_default_dtype(), minigrad.get_backend()
    yield
    minigrad.set_default_dtype(dtype)
    backends._current = backend_name
