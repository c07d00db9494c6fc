"""The backend switch: where new tensors live, moving them, CuPy's absence, and the strict CuPy stand-in.

CuPy is not installed on CI and there is no GPU, so the two ways "cupy" can be unavailable are simulated: a failing
import (``sys.modules["cupy"] = None``) and an importable fake ``cupy`` whose ``is_available()`` is False, which is
what a real CuPy does on a machine without a usable GPU.
"""

import os
import subprocess
import sys
import textwrap
import types

import numpy
import pytest

import minigrad
from minigrad import backends
from minigrad.backends import strict
from tests.helpers import assert_close

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _forget_cupy(monkeypatch):
    """Make the next get_module("cupy") load CuPy again (and restore the real state after the test)."""
    monkeypatch.setattr(backends, "_modules", {k: v for k, v in backends._modules.items() if k != "cupy"})


def _fake_cupy(is_available):
    fake = types.ModuleType("cupy")
    fake.is_available = is_available
    return fake


# --- choosing the backend of new tensors -----------------------------------------------------------------------

def test_numpy_is_the_default_and_set_backend_switches_new_tensors():
    assert minigrad.get_backend() == os.environ.get("MINIGRAD_BACKEND", "numpy")
    minigrad.set_backend("numpy")
    assert minigrad.tensor([1.0]).backend == "numpy" and type(minigrad.ones(2).data) is numpy.ndarray
    minigrad.set_backend("strict")
    assert minigrad.get_backend() == "strict"
    for made in (minigrad.tensor([1.0]), minigrad.zeros(2), minigrad.ones(2, 3), minigrad.full((2,), 3.0),
                 minigrad.randn(2), minigrad.rand(2), minigrad.arange(3)):
        assert made.backend == "strict" and isinstance(made.data, strict.ndarray)
    minigrad.set_backend("numpy")
    assert minigrad.tensor([1.0]).backend == "numpy"


def test_use_backend_applies_inside_the_block_only():
    minigrad.set_backend("numpy")
    with minigrad.use_backend("strict"):
        assert minigrad.tensor([1.0]).backend == "strict"
        with minigrad.use_backend("numpy"):
            assert minigrad.tensor([1.0]).backend == "numpy"
        assert minigrad.get_backend() == "strict"
    assert minigrad.get_backend() == "numpy"
    with pytest.raises(ZeroDivisionError):
        with minigrad.use_backend("strict"):
            1 / 0
    assert minigrad.get_backend() == "numpy"


def test_backend_argument_overrides_the_current_backend():
    minigrad.set_backend("numpy")
    assert minigrad.tensor([1.0], backend="strict").backend == "strict"
    assert minigrad.zeros(3, backend="strict").backend == "strict"
    strict_tensor = minigrad.tensor([1.0], backend="strict")
    assert minigrad.tensor(strict_tensor).backend == "strict"              # device data stays on its device
    assert minigrad.tensor(strict_tensor, backend="numpy").backend == "numpy"
    assert minigrad.zeros_like(strict_tensor).backend == "strict"


def test_unknown_backend_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="'numpy', 'cupy', 'strict'"):
        minigrad.set_backend("torch")
    with pytest.raises(ValueError, match="unknown backend"):
        minigrad.tensor([1.0]).to("gpu")


def _run_python(code, **env):
    environment = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=REPO, env=environment, timeout=120)


def test_the_environment_variable_chooses_the_backend_at_import():
    result = _run_python("""
        import minigrad
        print(minigrad.get_backend(), minigrad.tensor([1.0]).backend, minigrad.zeros(2).backend)
    """, MINIGRAD_BACKEND="strict")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["strict", "strict", "strict"]

    result = _run_python("import minigrad", MINIGRAD_BACKEND="tpu")
    assert result.returncode != 0 and "MINIGRAD_BACKEND='tpu' is not a backend" in result.stderr


def test_minigrad_backend_cupy_without_a_gpu_raises_instead_of_using_numpy(tmp_path):
    fake = tmp_path / "cupy"
    fake.mkdir()
    (fake / "__init__.py").write_text("def is_available():\n    return False\n")
    result = _run_python("""
        import minigrad
        try:
            minigrad.tensor([1.0])
        except minigrad.BackendUnavailableError as error:
            print("raised:", error)
        else:
            print("fell back")
    """, MINIGRAD_BACKEND="cupy", PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("raised:") and "no usable GPU" in result.stdout


# --- CuPy unavailable: which of the two reasons, and no silent fallback ---------------------------------------------

def test_cupy_not_installed_says_so_and_how_to_fix_it(monkeypatch):
    _forget_cupy(monkeypatch)
    monkeypatch.setitem(sys.modules, "cupy", None)   # `import cupy` raises ImportError
    minigrad.set_backend("numpy")
    with pytest.raises(minigrad.BackendUnavailableError) as error:
        minigrad.set_backend("cupy")
    message = str(error.value)
    assert isinstance(error.value, RuntimeError)
    assert "CuPy is not installed" in message and "pip install" in message and "no usable GPU" not in message
    assert minigrad.get_backend() == "numpy", "a failed set_backend must leave the backend as it was"


@pytest.mark.parametrize("is_available", [lambda: False, lambda: 1 / 0], ids=["returns False", "raises"])
def test_cupy_installed_without_a_usable_gpu_says_so(monkeypatch, is_available):
    _forget_cupy(monkeypatch)
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(is_available))
    minigrad.set_backend("numpy")
    with pytest.raises(minigrad.BackendUnavailableError) as error:
        minigrad.set_backend("cupy")
    message = str(error.value)
    assert "installed but no usable GPU" in message and "not installed" not in message
    assert minigrad.get_backend() == "numpy"


def test_every_way_of_asking_for_cupy_raises_rather_than_falling_back(monkeypatch):
    _forget_cupy(monkeypatch)
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(lambda: False))
    numpy_tensor = minigrad.tensor([1.0], backend="numpy")
    attempts = [lambda: minigrad.tensor([1.0], backend="cupy"), lambda: minigrad.zeros(2, backend="cupy"),
                lambda: minigrad.randn(2, backend="cupy"), lambda: numpy_tensor.to("cupy"),
                lambda: minigrad.use_backend("cupy").__enter__()]
    for attempt in attempts:
        with pytest.raises(minigrad.BackendUnavailableError):
            attempt()
    assert minigrad.get_backend() != "cupy"


# --- moving tensors -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "target"), [("numpy", "strict"), ("strict", "numpy"), ("strict", "strict"),
                                                ("numpy", "numpy")])
def test_to_moves_a_tensor_through_an_explicit_copy(source, target):
    original = minigrad.tensor([1.0, 2.0], backend=source, requires_grad=True)
    moved = original.to(target)
    assert moved.backend == target and moved.dtype == original.dtype and moved.requires_grad
    assert_close(moved.detach(), [1.0, 2.0])
    if source == target:
        assert moved is original
        return
    assert moved.is_leaf and moved.grad_fn is None
    original.data[0] = 99.0          # the two must not share memory
    assert_close(moved.detach(), [1.0, 2.0])


def test_to_accepts_numpy_and_strict_data_of_any_dtype():
    ints = minigrad.tensor([1, 2, 3], backend="strict").to("numpy")
    assert ints.dtype == numpy.int64 and ints.numpy().tolist() == [1, 2, 3]


# --- mixing backends --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("combine", [lambda a, b: a + b, lambda a, b: a @ b, lambda a, b: minigrad.maximum(a, b),
                                     lambda a, b: minigrad.stack([a, b])], ids=["add", "matmul", "maximum", "stack"])
def test_mixing_two_backends_in_one_op_raises_a_type_error_naming_both(combine):
    on_numpy = minigrad.tensor([1.0, 2.0], backend="numpy")
    on_strict = minigrad.tensor([1.0, 2.0], backend="strict")
    for a, b in [(on_numpy, on_strict), (on_strict, on_numpy)]:
        with pytest.raises(TypeError) as error:
            combine(a, b)
        assert "'numpy'" in str(error.value) and "'strict'" in str(error.value)


def test_get_array_module_follows_the_data():
    on_strict = minigrad.tensor([1.0], backend="strict")
    assert minigrad.get_array_module(on_strict) is strict
    assert minigrad.get_array_module(on_strict.data) is strict
    assert minigrad.get_array_module(2.0, on_strict) is strict        # scalars decide nothing
    assert minigrad.get_array_module(numpy.ones(2)) is numpy
    assert minigrad.get_array_module() is numpy


# --- the strict backend behaves like CuPy where it matters -------------------------------------------------------

def test_strict_refuses_implicit_conversion_to_numpy():
    array = strict.asarray([1.0, 2.0])
    with pytest.raises(TypeError, match="Implicit conversion"):
        numpy.asarray(array)
    with pytest.raises(TypeError, match="Implicit conversion"):
        numpy.array([array, array])
    assert isinstance(array.get(), numpy.ndarray) and array.get().tolist() == [1.0, 2.0]


def test_strict_refuses_mixing_with_numpy_arrays():
    array = strict.asarray([1.0, 2.0])
    for mix in (lambda: array + numpy.ones(2), lambda: numpy.ones(2) * array,
                lambda: strict.maximum(array, numpy.ones(2)), lambda: strict.concatenate([array, numpy.ones(2)])):
        with pytest.raises(TypeError, match="cannot mix a NumPy array"):
            mix()
    assert (array + 1.0).get().tolist() == [2.0, 3.0]      # Python scalars are fine, as in CuPy


def test_strict_reductions_return_zero_dimensional_arrays_not_scalars():
    array = strict.asarray([[1.0, 2.0], [3.0, 4.0]])
    for reduced in (array.sum(), array.max(), strict.mean(array), array[0, 1]):
        assert isinstance(reduced, strict.ndarray) and reduced.shape == ()
    assert float(array.sum()) == 10.0  # an explicit conversion is allowed


def test_strict_tensors_convert_to_numpy_only_explicitly():
    on_strict = minigrad.tensor([1.0, 2.0], backend="strict")
    assert isinstance(on_strict.numpy(), numpy.ndarray)
    assert on_strict.sum().item() == 3.0 and isinstance(on_strict.sum().item(), float)
    assert "1., 2." in repr(on_strict)
    with pytest.raises(TypeError):
        numpy.asarray(on_strict.data)


# --- the backend fixture ------------------------------------------------------------------------------------------

def test_new_tensors_follow_the_backend_fixture(backend):
    assert minigrad.get_backend() == backend
    assert minigrad.tensor([1.0]).backend == backend


def _run_fixture_probe(tmp_path, **env):
    """Run the test above in a fresh pytest, with a fake CuPy that is installed but finds no GPU."""
    fake = tmp_path / "fake_cupy" / "cupy"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text("def is_available():\n    return False\n")
    environment = {**os.environ, "PYTHONPATH": f"{fake.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                   **env}
    environment.pop("MINIGRAD_BACKEND", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-rsf", "-q",
               "tests/core/test_backends.py::test_new_tensors_follow_the_backend_fixture"]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=environment, timeout=300)


def test_the_cupy_fixture_skips_with_the_reason_and_require_gpu_turns_that_into_a_failure(tmp_path):
    skipped = _run_fixture_probe(tmp_path)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "2 passed, 1 skipped" in skipped.stdout, skipped.stdout
    assert "CuPy backend unavailable" in skipped.stdout and "no usable GPU" in skipped.stdout

    required = _run_fixture_probe(tmp_path, MINIGRAD_REQUIRE_GPU="1")
    assert required.returncode == 1, required.stdout + required.stderr
    assert "2 passed, 1 error" in required.stdout, required.stdout   # the fixture fails, so pytest says "error"
    assert "MINIGRAD_REQUIRE_GPU=1 but the CuPy backend is unavailable" in required.stdout


def test_is_array_is_the_one_predicate_for_backend_arrays():
    class Subclass(numpy.ndarray):
        pass

    strict = backends.get_module("strict")
    assert backends.is_array(numpy.ones(3)) and backends.is_array(numpy.ones(3).view(Subclass))
    assert backends.is_array(strict.asarray([1.0]))
    assert backends.backend_of(numpy.ones(3).view(Subclass)) == "numpy"
    for value in ([1.0], 2.0, numpy.float64(2.0), minigrad.tensor([1.0]), None):
        assert not backends.is_array(value), value
    with pytest.raises(TypeError, match="is not an array of any minigrad backend"):
        backends.backend_of([1.0])
