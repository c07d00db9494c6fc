"""Running a submission in a child process and reading back its arrays, without trusting anything it does.

:func:`run_child` is the grader's side of :mod:`minigrad.grading.child`. For every run it

- makes a fresh, private folder under the run's temporary root, writes into it (read-only) the submission's
  bytes, the request and the input arrays, and nothing else: no part of minigrad's package folder, no reference,
  no solution. The child imports the minimal minigrad of :mod:`minigrad.grading.minimal` from a folder of its
  own;
- runs the child there: forked by a :class:`ForkServer` (an interpreter started once with ``python -I -S -B
  child.py --serve``, which has imported NumPy, the minimal minigrad and the allowed modules), or, where fork is
  unavailable or the server failed, started as ``python -I -S -B child.py FOLDER``, in a fresh folder with a fresh
  result name. Either way: a clean environment, its own session, stdout/stderr captured to files outside its
  folder, and the kernel layers of :mod:`minigrad.grading.isolation` that :func:`isolation_status` found on this
  machine;
- gives the result file a random name (``result-<token>.npz``); the child creates it and it must not exist
  before; the grader reads it once after the child has ended (:func:`read_result`) and refuses it if it changed;
- enforces a wall-clock timeout (the child also has CPU-time, address-space and file-size limits);
- reads the result with :func:`arrays_from_bytes`: a size-checked zip of ``.npy`` members, each header validated
  before its data is read, loaded with ``allow_pickle=False``; no object arrays, nothing that can run code on load;
- deletes the folder afterwards. Every folder lives under one temporary root per grading process, removed when
  the process ends, and a class's workers share their parent's root, so no folder survives a run.

What comes back is a :class:`ChildResult`: the arrays (or None) and, when something went wrong, a message that
says what (timeout, crash, memory, too much output) in words a student can act on.
"""

import atexit
import contextlib
import io
import json
import os
import re
import secrets
import select
import shutil
import signal
import stat
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

from minigrad.grading import isolation, minimal

CHILD_SCRIPT = Path(__file__).with_name("child.py")
ISOLATION_SCRIPT = Path(isolation.__file__)
CAPTURED_CHARACTERS = 4000  # of the submission's stdout/stderr kept for the report, per stream
ROOT_VARIABLE = "MINIGRAD_GRADING_ROOT"  # a class's workers put their folders under their parent's root


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


# --- the temporary root and the isolation layers ------------------------------------------------------------------
_root_lock = threading.Lock()
_root = None


def run_root():
    """The folder every temporary folder of this process goes in: the parent's (class mode) or a new one."""
    global _root
    with _root_lock:
        if _root is None:
            inherited = os.environ.get(ROOT_VARIABLE)
            if inherited and Path(inherited).is_dir():
                _root = Path(inherited)
            else:
                _root = Path(tempfile.mkdtemp(prefix="minigrad-grading-"))
                _root.chmod(0o711)  # the child's user may pass through, not list
                atexit.register(shutil.rmtree, _root, True)
        return _root


def remove_run_root():
    """Stop every fork server and delete the temporary root now (the CLI calls this before it exits)."""
    global _root
    with _idle_lock:
        servers = list(_idle_servers)
        _idle_servers.clear()
    for server in servers:
        server.close()
    with _root_lock:
        if _root is not None and not os.environ.get(ROOT_VARIABLE):
            shutil.rmtree(_root, ignore_errors=True)
        _root = None


_status = None


def isolation_status():
    """{layer: "active ..." or "missing: why"} for this machine, found once per process by applying every layer
    to a throwaway process; layers switched off with MINIGRAD_GRADING_WITHOUT read as missing."""
    global _status
    if _status is None:
        found = {layer: "missing: not Linux" for layer in isolation.LAYERS}
        if sys.platform.startswith("linux"):
            try:
                probe = subprocess.run([sys.executable, "-I", "-B", str(ISOLATION_SCRIPT), "--self-test"],
                                       capture_output=True, text=True, timeout=60, env=_environment(Path("/")),
                                       cwd="/", stdin=subprocess.DEVNULL)
                found.update(json.loads(probe.stdout.strip().splitlines()[-1]))
            except (OSError, ValueError, IndexError, subprocess.SubprocessError) as error:
                found = {layer: f"missing: the probe failed ({type(error).__name__})" for layer in isolation.LAYERS}
        for layer in isolation.disabled():
            found[layer] = f"missing: switched off ({isolation.DISABLE_VARIABLE})"
        _status = found
    return dict(_status)


def missing_layers(status=None):
    """The layers --strict requires that are not active."""
    status = isolation_status() if status is None else status
    return [layer for layer in isolation.REQUIRED if not status[layer].startswith("active")]


def _plan():
    """What the next child applies: every active layer; a fresh uid per child where the grader is root."""
    status = isolation_status()
    active = {layer: text.startswith("active") for layer, text in status.items()}
    abi = int(status["landlock"].split("ABI ")[1].rstrip(")")) if active["landlock"] else 0
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return {"landlock": abi, "seccomp": active["seccomp"], "network": active["network"],
            "user": 100_000 + secrets.randbelow(2**30) if as_root and active["user"] else None}


PROBE = """
import os
import minigrad

def outcome(action):
    try:
        action()
        return 0.0
    except OSError as error:
        return float(error.errno or -1)
    except Exception:
        return -2.0

def thread():
    import threading
    threading.Thread(target=int).start()

class Probe(minigrad.Function):
    @staticmethod
    def forward(ctx, x):
        return minigrad.get_array_module(x).array([outcome(lambda: open(OUTSIDE).read()),
                                                   outcome(lambda: os.pidfd_open(os.getppid())),
                                                   outcome(thread), float(os.getuid()), outcome(lambda: os.setuid(0))])
"""


def check_isolation():
    """[(name, ok, text)]: each layer's status here, then a probe child that tries what the layers must stop."""
    status = isolation_status()
    findings = [(f"layer {layer}", text.startswith("active") or layer not in isolation.REQUIRED, text)
                for layer, text in status.items()]
    outside = run_root() / f"outside-{secrets.token_hex(8)}.txt"
    outside.write_text("readable by everyone, outside the child's folder")
    outside.chmod(0o644)
    try:
        source = f"OUTSIDE = {str(outside)!r}\n{PROBE}".encode()
        call = [{"mode": "evaluate", "args": [{"array": "x", "requires_grad": False}], "grad_output": None}]
        child = run_child(source, "Probe", call, {"x": numpy.zeros(1)}, Limits(timeout_s=20))
    finally:
        outside.unlink()
    if child.arrays is None or "call0.output" not in child.arrays:
        why = child.failure or {key: str(value) for key, value in (child.arrays or {}).items()}
        return findings + [("probe", False, f"the probe child failed: {why}")]
    read, pidfd, thread, uid, setuid = (float(v) for v in child.arrays["call0.output"])
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    findings += [
        ("probe: read a file outside its folder", read == 13.0, f"errno {read:g} (13: refused by Landlock)"),
        ("probe: pidfd_open on the server", pidfd == 1.0, f"errno {pidfd:g} (1: refused by seccomp)"),
        ("probe: start a thread", thread != 0.0, "refused by seccomp" if thread != 0.0 else "a thread started"),
        ("probe: its user", (uid != 0.0) if as_root else uid == os.getuid(), f"uid {uid:.0f}"),
        ("probe: setuid(0)", setuid != 0.0, "refused" if setuid != 0.0 else "allowed"),
    ]
    return findings


# --- one child ----------------------------------------------------------------------------------------------------
def run_child(source, function_name, calls, inputs, limits=Limits(), backend="numpy"):
    """Evaluate `calls` of the submission (its source, bytes) in a sandboxed child; return a :class:`ChildResult`.

    `calls` is the JSON-able request (see :mod:`minigrad.grading.child`), `inputs` the arrays it refers to. If the
    fork server fails, the child runs again in a fresh interpreter, in a fresh folder with a fresh result name.
    """
    answer = None
    if USE_FORK_SERVER:
        with _borrowed_server() as server:
            if server is not None:
                answer = _attempt(source, function_name, calls, inputs, limits, backend, server)
    if answer is None:  # no fork server here (Windows), or it failed
        answer = _attempt(source, function_name, calls, inputs, limits, backend, None)
    return answer


def _attempt(source, function_name, calls, inputs, limits, backend, server):
    job = Path(tempfile.mkdtemp(prefix="job-", dir=run_root()))
    try:
        job.chmod(0o711)
        work = job / "work"
        work.mkdir()
        output_name = f"result-{secrets.token_hex(16)}.npz"
        request = {"submission": "submission.py", "function": function_name, "backend": backend,
                   "output": output_name, "limits": limits.child_limits(), "calls": calls,
                   "isolation": _plan()}
        (work / "submission.py").write_bytes(source)
        (work / "request.json").write_text(json.dumps(request))
        numpy.savez(work / "inputs.npz", **inputs)
        for path in work.iterdir():
            path.chmod(0o444)
        work.chmod(0o755)
        stdout_path, stderr_path = job / "stdout", job / "stderr"
        for path in (stdout_path, stderr_path):
            path.touch(0o600)
        started = time.perf_counter()
        if server is not None:
            answer = server.run(work, stdout_path, stderr_path, limits.timeout_s)
            if answer is None:
                return None
        else:
            answer = _run_fresh_interpreter(job, work, stdout_path, stderr_path, limits.timeout_s)
        return _result(answer, work / output_name, stdout_path, stderr_path, limits, time.perf_counter() - started)
    finally:
        shutil.rmtree(job, ignore_errors=True)


def _result(answer, output_path, stdout_path, stderr_path, limits, seconds):
    returncode, timed_out = answer
    result = ChildResult(seconds=seconds, returncode=returncode, timed_out=timed_out,
                         stdout=_read_capped(stdout_path), stderr=_read_capped(stderr_path))
    if timed_out:
        result.failure = (f"timed out: your code was stopped after {limits.timeout_s:g} s (an infinite loop, or "
                          "a very slow implementation?)")
        return result
    if returncode == 3 and "grading sandbox misconfigured" in result.stderr:  # a submission could fake this, but
        sys.stderr.write(f"minigrad grade: the sandbox failed before the submission ran:\n{result.stderr}\n")
        result.failure = ("grading error: the grading sandbox failed before your code ran (a problem of the "
                          "grader, not of your code)")  # only to fail itself; the details go to the grader's log
        result.stderr = ""
        return result
    if returncode != 0:
        result.failure = _describe_exit(returncode, limits)
        return result
    try:
        result.arrays = load_arrays(output_path, limits.result_mb * 2**20)
    except ResultError as error:
        result.failure = f"no usable result came back from your code: {error}"
        if str(error).startswith(("no result file", "the result file is empty")):
            result.failure = ("your code's process ended (exit status 0) before it returned any result: does it "
                              "call os._exit()?")
    return result


def _site_packages():
    """Where NumPy lives: the child starts without `site` (faster, no .pth files run) and adds it itself."""
    return [str(Path(numpy.__file__).resolve().parents[1])]


_seccomp = None


def _config(minimal_folder):
    global _seccomp
    if _seccomp is None:
        active = isolation_status()["seccomp"].startswith("active")
        _seccomp = isolation.seccomp_program().hex() if active else ""
    return {"minimal": str(minimal_folder), "site_packages": _site_packages(), "isolation": str(ISOLATION_SCRIPT),
            "seccomp": _seccomp}


def _environment(work):
    """A clean environment: nothing of the grader's leaks in (tokens, paths); BLAS on one thread."""
    return {"PATH": os.defpath, "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MINIGRAD_BACKEND": "numpy"}


def _run_fresh_interpreter(job, work, stdout_path, stderr_path, timeout_s):
    """``python -I -S -B child.py WORK CONFIG``, waited for at most `timeout_s`; returns (returncode, timed_out)."""
    folder = minimal.assemble(job / "minimal")
    command = [sys.executable, "-I", "-S", "-B", str(CHILD_SCRIPT), str(work), json.dumps(_config(folder))]
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
    """A clean interpreter (``child.py --serve``) that imported NumPy and the minimal minigrad once and forks a
    child per check group: the per-group cost drops from an interpreter start to a fork. See
    :mod:`minigrad.grading.child`.

    Every request carries a fresh random nonce that the answer must repeat, so nothing but the server's own
    answer to this request is accepted; anything unexpected (no answer in time, a wrong nonce, a dead server)
    shuts the server down and the caller runs the child again in a fresh interpreter.
    """

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="server-", dir=run_root()))
        self.home.chmod(0o711)
        folder = minimal.assemble(self.home / "minimal")
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(CHILD_SCRIPT), "--serve", json.dumps(_config(folder))],
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
            try:
                stream.close()
            except OSError:
                pass
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


def _describe_exit(returncode, limits):
    if returncode < 0:
        number = -returncode
        reasons = {
            getattr(signal, "SIGXCPU", None): f"used more than {limits.timeout_s:g} s of CPU time",
            getattr(signal, "SIGXFSZ", None): f"wrote more than {limits.output_mb} MB of output",
            signal.SIGSEGV: "crashed (segmentation fault)",
            signal.SIGKILL: f"was killed (out of memory? the limit is {limits.memory_mb} MB)",
            signal.SIGABRT: "aborted",
            getattr(signal, "SIGSYS", None): "made a system call the sandbox forbids",
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
    """The arrays of the ``.npz`` at `path` (read once, see :func:`read_result`), checked member by member."""
    return arrays_from_bytes(read_result(path, max_bytes), max_bytes)


def read_result(path, max_bytes):
    """The bytes of the result file at `path`: a regular file (no link, no second name) that does not change while
    it is read. The child that wrote it has ended, so a change means something else writes there."""
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        raise ResultError("no result file was written") from None
    if not stat.S_ISREG(before.st_mode) or before.st_nlink != 1:
        raise ResultError("the result is not a plain file")
    if before.st_size == 0:
        raise ResultError("the result file is empty (the process ended before writing it)")
    if before.st_size > max_bytes:
        raise ResultError(f"the result file is larger than {max_bytes // 2**20} MB")
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        with os.fdopen(descriptor, "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise ResultError(f"the result file could not be read ({error.strerror})") from None
    after = os.lstat(path)
    if (after.st_ino, after.st_size, after.st_mtime_ns) != (before.st_ino, before.st_size, before.st_mtime_ns) \
            or len(data) != before.st_size:
        raise ResultError("the result file changed after your code's process ended")
    return data


def arrays_from_bytes(data, max_bytes):
    """The arrays of an ``.npz`` held in `data`, checked member by member before any is loaded.

    Refuses: more than MAX_MEMBERS members, odd member names, members whose uncompressed size exceeds the budget,
    headers that declare object/structured dtypes or a shape that does not match the bytes present. Loads with
    ``allow_pickle=False``.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
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
