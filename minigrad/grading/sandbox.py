"""Running a submission in a child process and reading back its arrays, without trusting anything it does.

:func:`run_child` is the grader's side of :mod:`minigrad.grading.child`. For every run it

- makes a fresh temporary folder, copies the submission into it (read-only) with the request and the input
  arrays, and runs the child there: forked by a :class:`ForkServer` (an interpreter started once with
  ``python -I -S -B child.py --serve``, which has imported NumPy and minigrad and nothing else), or, where fork is
  unavailable, started as ``python -I -S -B child.py FOLDER``. Either way: isolated mode (no user
  site-packages, no ``PYTHON*`` variables, no current directory on ``sys.path``), no ``site`` (the child adds
  NumPy's folder itself), a clean environment, its own session (so the whole process group can be killed), and
  stdout/stderr captured to files the child cannot reach;
- gives the output file a random name (``result-<token>.npz``, with a token drawn per run), so nothing written
  before the run can pass for its result;
- enforces a wall-clock timeout (the child also has CPU-time, address-space and file-size limits);
- reads the result with :func:`load_arrays`: a size-checked zip of ``.npy`` members, each header validated before
  its data is read, loaded with ``allow_pickle=False``; no object arrays, nothing that can run code on load;
- deletes the folder afterwards.

What comes back is a :class:`ChildResult`: the arrays (or None) and, when something went wrong, a message that
says what (timeout, crash, memory, too much output) in words a student can act on.
"""

import contextlib
import io
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy
from numpy.lib import format as npy_format

CHILD_SCRIPT = Path(__file__).with_name("child.py")
MINIGRAD_ROOT = Path(__file__).resolve().parents[2]  # the folder that contains the `minigrad` package
CAPTURED_CHARACTERS = 4000  # of the submission's stdout/stderr kept for the report, per stream


@dataclass(frozen=True)
class Limits:
    """What one child may use. ``timeout_s`` is wall-clock; the CPU limit is set a little above it."""
    timeout_s: float = 20.0
    memory_mb: int = 1024
    output_mb: int = 32       # largest file the child may write (its result, its captured prints)
    result_mb: int = 64       # largest result archive, uncompressed, the grader agrees to read

    def child_limits(self):
        return {"memory_bytes": self.memory_mb * 2**20, "cpu_seconds": int(self.timeout_s) + 2,
                "file_bytes": self.output_mb * 2**20}


@dataclass
class ChildResult:
    arrays: dict = None           # name -> numpy array, or None if the child returned nothing usable
    failure: str = None           # why there are no arrays, in a sentence
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    returncode: int = None
    timed_out: bool = False


def run_child(submission, function_name, calls, inputs, limits=Limits(), backend="numpy"):
    """Evaluate `calls` of the submission's `function_name` in a sandboxed child; return a :class:`ChildResult`.

    `calls` is the JSON-able request (see :mod:`minigrad.grading.child`), `inputs` the arrays it refers to.
    """
    job = Path(tempfile.mkdtemp(prefix="minigrad-grade-"))
    try:
        work = job / "work"
        work.mkdir()
        submission_copy = work / "submission.py"
        shutil.copyfile(submission, submission_copy)
        submission_copy.chmod(0o444)
        output_name = f"result-{secrets.token_hex(16)}.npz"
        request = {"minigrad_root": str(MINIGRAD_ROOT), "site_packages": _site_packages(),
                   "submission": submission_copy.name,
                   "function": function_name, "backend": backend, "output": output_name,
                   "limits": limits.child_limits(), "calls": calls}
        (work / "request.json").write_text(json.dumps(request))
        numpy.savez(work / "inputs.npz", **inputs)
        return _run(job, work, work / output_name, limits)
    finally:
        shutil.rmtree(job, ignore_errors=True)


def _site_packages():
    """Where NumPy and the standard site-packages live: the child starts without `site` (faster, no .pth files
    run) and adds these itself."""
    import site
    import sysconfig
    folders = [str(Path(numpy.__file__).resolve().parents[1])]
    folders += [sysconfig.get_paths()[key] for key in ("purelib", "platlib")]
    folders += site.getsitepackages() if hasattr(site, "getsitepackages") else []
    return list(dict.fromkeys(folder for folder in folders if Path(folder).is_dir()))


def _environment(work):
    """A clean environment: nothing of the grader's leaks in (tokens, paths); BLAS on one thread."""
    return {"PATH": os.defpath, "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MINIGRAD_BACKEND": "numpy"}


def _run(job, work, output_path, limits):
    stdout_path, stderr_path = job / "stdout", job / "stderr"
    stdout_path.touch()
    stderr_path.touch()
    started = time.perf_counter()
    answer = None
    if USE_FORK_SERVER:
        with _borrowed_server() as server:
            answer = server.run(work, stdout_path, stderr_path, limits.timeout_s) if server else None
    if answer is None:  # no fork server here (Windows), or it failed: a fresh interpreter does the same job
        answer = _run_fresh_interpreter(work, stdout_path, stderr_path, limits.timeout_s)
    returncode, timed_out = answer
    result = ChildResult(seconds=time.perf_counter() - started, returncode=returncode, timed_out=timed_out,
                         stdout=_read_capped(stdout_path), stderr=_read_capped(stderr_path))
    if timed_out:
        result.failure = (f"timed out: your code was stopped after {limits.timeout_s:g} s (an infinite loop, or "
                          "a very slow implementation?)")
        return result
    if returncode != 0:
        result.failure = _describe_exit(returncode, limits, result.stderr)
        return result
    if not output_path.is_file() or output_path.stat().st_size == 0:
        result.failure = ("your code's process ended (exit status 0) before it returned any result: does it call "
                          "os._exit()?")
        return result
    try:
        result.arrays = load_arrays(output_path, limits.result_mb * 2**20)
    except ResultError as error:
        result.failure = f"no usable result came back from your code: {error}"
    return result


def _run_fresh_interpreter(work, stdout_path, stderr_path, timeout_s):
    """``python -I -S -B child.py WORK``, waited for at most `timeout_s`; returns (returncode, timed_out)."""
    command = [sys.executable, "-I", "-S", "-B", str(CHILD_SCRIPT), str(work)]
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        popen_options = {"start_new_session": True} if os.name == "posix" else {}
        process = subprocess.Popen(command, cwd=work, env=_environment(work), stdin=subprocess.DEVNULL,
                                   stdout=stdout, stderr=stderr, close_fds=True, **popen_options)
        timed_out = False
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(process)
    return process.returncode, timed_out


# --- the fork server --------------------------------------------------------------------------------------------
USE_FORK_SERVER = hasattr(os, "fork")
_idle_servers = []              # started servers not serving anyone now; one request at a time per server
_idle_lock = threading.Lock()


class ForkServer:
    """A clean interpreter (``child.py --serve``) that imported NumPy and minigrad once and forks a child per
    check group: the per-group cost drops from an interpreter start to a fork. See :mod:`minigrad.grading.child`.

    Every request carries a fresh random nonce that the answer must repeat, so nothing but the server's own
    answer to this request is accepted; anything unexpected (no answer in time, a wrong nonce, a dead server)
    shuts the server down and the caller falls back to a fresh interpreter.
    """

    def __init__(self):
        config = {"minigrad_root": str(MINIGRAD_ROOT), "site_packages": _site_packages()}
        self.home = Path(tempfile.mkdtemp(prefix="minigrad-forkserver-"))
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(CHILD_SCRIPT), "--serve", json.dumps(config)],
            cwd=self.home, env=_environment(self.home), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True, text=True)
        self._finalizer = weakref.finalize(self, ForkServer._shut_down, self.process, self.home)

    def run(self, work, stdout_path, stderr_path, timeout_s):
        """(returncode, timed_out) of one child, or None if the server could not serve the request."""
        nonce = secrets.token_hex(16)
        request = {"nonce": nonce, "work": str(work), "stdout": str(stdout_path), "stderr": str(stderr_path),
                   "timeout": timeout_s}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], timeout_s + 30)
            answer = json.loads(self.process.stdout.readline()) if ready else None
        except (OSError, ValueError):
            answer = None
        if not isinstance(answer, dict) or answer.get("nonce") != nonce:
            self.close()
            return None
        return int(answer["returncode"]), bool(answer["timed_out"])

    @property
    def alive(self):
        return self.process.poll() is None

    def close(self):
        self._finalizer()

    @staticmethod
    def _shut_down(process, home):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        for stream in (process.stdin, process.stdout):
            stream.close()
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def _borrowed_server():
    """An idle fork server (started if there is none), given back afterwards if it is still alive; None if no
    server can be started."""
    with _idle_lock:
        server = _idle_servers.pop() if _idle_servers else None
    if server is None or not server.alive:
        try:
            server = ForkServer()
        except OSError:
            server = None
    try:
        yield server
    finally:
        if server is not None and server.alive:
            with _idle_lock:
                _idle_servers.append(server)


def _kill_group(process):
    """Kill the child and anything left in its process group; reap it."""
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the child leads its own session, so this is its group
        except (ProcessLookupError, PermissionError):  # already gone
            pass
    if process.poll() is None:
        process.kill()
    process.wait()


def _describe_exit(returncode, limits, stderr):
    if returncode == 3 and "misconfigured" in stderr:  # a submission could fake this, but only to fail itself
        return ("the grading sandbox failed before your code ran. If every submission shows this, the grader is "
                f"misconfigured:\n{stderr.strip()[-1500:]}")
    if returncode < 0:
        number = -returncode
        reasons = {
            getattr(signal, "SIGXCPU", None): f"used more than {limits.timeout_s:g} s of CPU time",
            getattr(signal, "SIGXFSZ", None): f"wrote more than {limits.output_mb} MB of output",
            signal.SIGSEGV: "crashed (segmentation fault)",
            signal.SIGKILL: f"was killed (out of memory? the limit is {limits.memory_mb} MB)",
            signal.SIGABRT: "aborted",
        }
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
        return f"your code's process {reasons.get(number, f'ended with signal {name}')} before the check finished"
    return (f"your code's process ended with exit status {returncode} before the check finished (does it call "
            f"os._exit() or exit at import?)")


def _read_capped(path):
    with open(path, "rb") as file:
        head = file.read(CAPTURED_CHARACTERS + 1)
    text = head[:CAPTURED_CHARACTERS].decode("utf-8", errors="replace")
    return text + ("\n[... truncated]" if len(head) > CAPTURED_CHARACTERS else "")


# --- reading the child's arrays -------------------------------------------------------------------------------
class ResultError(ValueError):
    """The child's result file is missing, too large, or not a plain archive of numeric arrays."""


_MEMBER_NAME = re.compile(r"^[A-Za-z0-9_.]{1,100}\.npy$")
_ALLOWED_KINDS = "fiubU"  # floats, integers, booleans, and text (error messages); never objects or records
MAX_MEMBERS = 4096


def load_arrays(path, max_bytes):
    """The arrays of the ``.npz`` at `path`, checked member by member before any is loaded.

    Refuses: a missing or oversized file, more than MAX_MEMBERS members, odd member names, members whose
    uncompressed size exceeds the budget, headers that declare object/structured dtypes or a shape that does not
    match the bytes present. Loads with ``allow_pickle=False``.
    """
    path = Path(path)
    if not path.is_file() or path.is_symlink():
        raise ResultError("no result file was written")
    if path.stat().st_size == 0:
        raise ResultError("the result file is empty (the process ended before writing it)")
    if path.stat().st_size > max_bytes:
        raise ResultError(f"the result file is larger than {max_bytes // 2**20} MB")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise ResultError(f"the result has {len(members)} entries, more than {MAX_MEMBERS}")
            if sum(member.file_size for member in members) > max_bytes:
                raise ResultError(f"the result is larger than {max_bytes // 2**20} MB uncompressed")
            arrays = {}
            for member in members:
                if not _MEMBER_NAME.match(member.filename):
                    raise ResultError(f"unexpected entry {member.filename[:80]!r} in the result")
                with archive.open(member) as stream:
                    data = stream.read(member.file_size + 1)
                if len(data) != member.file_size:
                    raise ResultError(f"entry {member.filename!r} is not the size it claims")
                arrays[member.filename[:-4]] = _load_npy(member.filename, data)
            return arrays
    except ResultError:
        raise
    except Exception as error:  # a damaged, encrypted or exotic archive: all the child's doing
        raise ResultError(f"the result is not a valid .npz archive ({type(error).__name__}: {error})") from None


def _load_npy(name, data):
    stream = io.BytesIO(data)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(stream)
        else:
            raise ResultError(f"entry {name!r} has an unsupported .npy version {version}")
    except ValueError as error:
        raise ResultError(f"entry {name!r} has an invalid .npy header ({error})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in _ALLOWED_KINDS:
        raise ResultError(f"entry {name!r} has dtype {dtype}, not a plain numeric array")
    expected = int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    if expected != len(data) - stream.tell():
        raise ResultError(f"entry {name!r} declares shape {shape} but holds a different number of bytes")
    stream.seek(0)
    array = numpy.load(stream, allow_pickle=False)
    if array.dtype.kind == "U":
        try:
            str(array)  # text must be valid: error messages are shown to people
        except ValueError:
            raise ResultError(f"entry {name!r} holds invalid text") from None
    return array
