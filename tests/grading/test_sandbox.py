"""The sandbox on its own: what a submission may and may not do in the child, and how results are read back."""

import io
import subprocess
import sys
import zipfile

import numpy
import pytest

from minigrad.grading import sandbox
from minigrad.grading.sandbox import Limits, ResultError, load_arrays, run_child
from tests.grading.conftest import REPOSITORY, SOLUTIONS

SILU = (SOLUTIONS / "silu.py").read_bytes()
FORWARD_ONLY = [{"mode": "evaluate", "args": [{"array": "x", "requires_grad": True}], "grad_output": None}]
PROBE = '''
import os, sys, importlib
import minigrad

def attempt(name, action):
    try:
        action()
        print(f"{name}: allowed", file=sys.stderr)
    except Exception as error:
        print(f"{name}: refused ({type(error).__name__})", file=sys.stderr)

attempt("read its own file", lambda: open(__file__).read())
attempt("read the minimal minigrad", lambda: open(minigrad.__file__).read())
attempt("read minigrad's engine", lambda: open(ENGINE).read())
attempt("import math and numpy.linalg", lambda: [importlib.import_module(name) for name in ("math", "numpy.linalg")])
attempt("list its folder", lambda: os.listdir("."))
attempt("import torch", lambda: importlib.import_module("torch"))
attempt("import minigrad.nn", lambda: importlib.import_module("minigrad.nn"))
attempt("minigrad.nn attribute", lambda: minigrad.nn)
attempt("import the grader", lambda: importlib.import_module("minigrad.grading.references.silu"))
attempt("import ctypes", lambda: importlib.import_module("ctypes"))
attempt("import subprocess", lambda: importlib.import_module("subprocess"))
attempt("import socket", lambda: importlib.import_module("socket"))
attempt("read a solution", lambda: open(SOLUTION).read())
attempt("read the tests", lambda: open(TESTS).read())
attempt("read /proc", lambda: open("/proc/self/environ").read())
attempt("list the repository", lambda: os.listdir(REPOSITORY_ROOT))
attempt("write in its folder", lambda: open("note.txt", "w").write("x"))
attempt("append to its own file", lambda: open(__file__, "a").write("x"))
attempt("os.open for writing", lambda: os.open("/tmp/minigrad-probe", os.O_WRONLY | os.O_CREAT))
attempt("remove a file", lambda: os.remove(__file__))
attempt("fork", lambda: os.fork())
attempt("system", lambda: os.system("true"))
attempt("kill the parent", lambda: os.kill(os.getppid(), 0))
attempt("gc.get_objects", lambda: __import__("gc").get_objects())
attempt("raise a limit", lambda: __import__("resource").setrlimit(__import__("resource").RLIMIT_CPU, (10**6, 10**6)))

class SiLU(minigrad.Function):
    @staticmethod
    def forward(ctx, x):
        return x
'''


def _probe(tmp_path, use_fork_server, monkeypatch):
    monkeypatch.setattr(sandbox, "USE_FORK_SERVER", use_fork_server)
    path = tmp_path / "probe.py"
    path.write_text(f"SOLUTION = {str(SOLUTIONS / 'silu.py')!r}\nTESTS = {str(REPOSITORY / 'tests' / 'helpers.py')!r}\n"
                    f"REPOSITORY_ROOT = {str(REPOSITORY)!r}\nENGINE = {str(REPOSITORY / 'minigrad' / 'autograd' / 'engine.py')!r}\n"
                    + PROBE)
    child = run_child(path.read_bytes(), "SiLU", FORWARD_ONLY, {"x": numpy.ones(3)})
    assert child.failure is None, child.failure
    assert numpy.array_equal(child.arrays["call0.output"], numpy.ones(3))
    return dict(line.split(": ", 1) for line in child.stderr.splitlines() if ": " in line)


@pytest.mark.parametrize("use_fork_server", [True, False], ids=["fork server", "fresh interpreter"])
def test_the_guard_allows_the_op_and_refuses_everything_else(tmp_path, use_fork_server, monkeypatch):
    outcome = _probe(tmp_path, use_fork_server, monkeypatch)
    allowed = ["read its own file", "read the minimal minigrad", "import math and numpy.linalg", "list its folder"]
    for name in allowed:
        assert outcome[name] == "allowed", name
    refused = [name for name in outcome if name not in allowed]
    assert len(refused) == 21
    for name in refused:
        assert outcome[name].startswith("refused"), f"{name}: {outcome[name]}"


def test_import_minigrad_loads_neither_the_layers_nor_the_grader():
    code = ("import sys, minigrad; print(sorted(m for m in sys.modules if m.startswith(('minigrad.nn', "
            "'minigrad.grading', 'minigrad.bench', 'torch'))))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_a_timeout_kills_the_child_and_says_so(tmp_path):
    path = tmp_path / "loop.py"
    path.write_text("import minigrad\nclass SiLU(minigrad.Function):\n    @staticmethod\n    def forward(ctx, x):\n"
                    "        while True:\n            pass\n")
    child = run_child(path.read_bytes(), "SiLU", FORWARD_ONLY, {"x": numpy.ones(3)}, Limits(timeout_s=0.5))
    assert child.timed_out and child.arrays is None
    assert "timed out" in child.failure
    assert child.seconds < 5


def test_printing_without_end_is_captured_and_truncated(tmp_path):
    path = tmp_path / "chatty.py"
    path.write_text("import minigrad\nprint('x' * 10**6)\nclass SiLU(minigrad.Function):\n    @staticmethod\n"
                    "    def forward(ctx, x):\n        print('forward!')\n        return x\n")
    child = run_child(path.read_bytes(), "SiLU", FORWARD_ONLY, {"x": numpy.ones(3)})
    assert child.failure is None
    assert child.stdout.endswith("[... truncated]") and len(child.stdout) < 5000


def test_a_failure_before_the_submission_runs_is_reported_as_the_sandboxs(tmp_path):
    child = run_child(SILU, "SiLU", FORWARD_ONLY, {"x": numpy.ones(3)}, backend="no-such-backend")
    assert child.arrays is None
    assert "grading sandbox failed before your code ran" in child.failure
    assert str(REPOSITORY) not in child.failure and "Traceback" not in child.failure


def test_a_dead_fork_server_is_replaced(tmp_path):
    first = run_child(SILU, "SiLU", FORWARD_ONLY, {"x": numpy.ones(3)})
    for server in sandbox._idle_servers:
        server.process.kill()
        server.process.wait()
    second = run_child(SILU, "SiLU", FORWARD_ONLY, {"x": numpy.ones(3)})
    assert first.failure is None and second.failure is None
    numpy.testing.assert_array_equal(first.arrays["call0.output"], second.arrays["call0.output"])


# --- reading results back ------------------------------------------------------------------------------------
def _npz(tmp_path, members):
    path = tmp_path / "result.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    numpy.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_load_arrays_reads_plain_numeric_arrays(tmp_path):
    path = _npz(tmp_path, {"call0.output.npy": _npy(numpy.arange(6.0).reshape(2, 3)),
                           "call0.error.npy": _npy(numpy.asarray("a message"))})
    arrays = load_arrays(path, 2**20)
    numpy.testing.assert_array_equal(arrays["call0.output"], numpy.arange(6.0).reshape(2, 3))
    assert str(arrays["call0.error"]) == "a message"


@pytest.mark.parametrize("members, complaint", [
    ({"call0.output.npy": _npy(numpy.array([object()], dtype=object), allow_pickle=True)}, "not a plain numeric"),
    ({"../escape.npy": _npy(numpy.ones(2))}, "unexpected entry"),
    ({"call0.output.npy": _npy(numpy.ones(2))[:-8]}, "different number of bytes"),
    ({"call0.output.npy": b"not an npy file at all"}, "invalid .npy header"),
    ({"call0.output.npy": _npy(numpy.zeros(2, dtype=[("a", "f8"), ("b", "i8")]))}, "not a plain numeric"),
    ({"call0.output.npy": _npy(numpy.zeros(300_000))}, "larger than"),
])
def test_load_arrays_refuses_anything_else(tmp_path, members, complaint):
    path = _npz(tmp_path, members)
    with pytest.raises(ResultError, match=complaint):
        load_arrays(path, 2**21)


def test_load_arrays_refuses_a_missing_empty_or_non_zip_file(tmp_path):
    with pytest.raises(ResultError, match="no result file"):
        load_arrays(tmp_path / "missing.npz", 2**20)
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ResultError, match="empty"):
        load_arrays(tmp_path / "empty.npz", 2**20)
    (tmp_path / "pickle.npz").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ResultError, match="not a valid .npz"):
        load_arrays(tmp_path / "pickle.npz", 2**20)
