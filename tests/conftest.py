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


def _cupy_tests_deselected_because():
    """Why the CuPy-parametrized tests are left out (no usable GPU), or None to run them; MINIGRAD_REQUIRE_GPU=1
    keeps them in, so that they fail."""
    return None if os.environ.get("MINIGRAD_REQUIRE_GPU") == "1" else _cupy_unavailable_reason()


def pytest_collection_modifyitems(config, items):
    """Deselect the CuPy-backend tests where they cannot run: one summary line instead of a skip line each."""
    if _cupy_tests_deselected_because() is None:
        return
    on_cupy = [item for item in items
               if getattr(item, "callspec", None) is not None and item.callspec.params.get("backend") == "cupy"]
    if on_cupy:
        config.hook.pytest_deselected(items=on_cupy)
        left_out = set(map(id, on_cupy))
        items[:] = [item for item in items if id(item) not in left_out]


def pytest_terminal_summary(terminalreporter):
    reason = _cupy_tests_deselected_because()
    if reason is not None:
        terminalreporter.write_line(f"CuPy-backend tests deselected: {reason}")


@pytest.fixture(autouse=True)
def _restore_global_settings():
    dtype, backend_name = minigrad.get_default_dtype(), minigrad.get_backend()
    yield
    minigrad.set_default_dtype(dtype)
    backends._current = backend_name
