"""The grader's child process: the only place where a submission's code ever runs.

The grader runs this file as a script, never as part of the ``minigrad.grading`` package, in one of two ways:

    python -I -S -B minigrad/grading/child.py WORK_DIR CONFIG     one fresh interpreter per check group
    python -I -S -B minigrad/grading/child.py --serve CONFIG      a fork server (Linux, macOS)

CONFIG (JSON) names the minimal minigrad folder (see :mod:`minigrad.grading.minimal`), where NumPy lives, the
file of :mod:`minigrad.grading.isolation` and the compiled seccomp filter. The fork server imports NumPy, the minimal minigrad and every module a
submission may import once, then reads one request per line and forks a child for each: the same child as the
first way, minus the 0.2 s that importing NumPy costs. The server never runs submission code. It waits for the
child, kills it at its timeout, kills it too if the grader goes away (its stdin closes), and answers with the
exit status and the request's nonce.

WORK_DIR is a fresh, private folder that holds nothing but a copy of the submission, ``request.json`` (what to
evaluate, and which isolation layers to apply) and ``inputs.npz`` (the arrays). The child answers with raw arrays
only, in an ``.npz`` file whose random name the request gives. It computes no score and sees no reference: the
grader reads those arrays back with ``allow_pickle=False`` and scores them with its own code, in its own process.

The order of :func:`run` is the security argument, so it is written out:

1. its own session, descriptors 0-2 on /dev/null and the capture files, every other descriptor closed;
2. the result file is created (it must not exist yet), the inputs are read, resource limits are set;
3. the kernel layers (:func:`isolation.apply`): network namespace, Landlock, an unprivileged user, seccomp. If
   one that the request asks for fails, the child exits with status 3 before any submission code has run;
4. the import guard, an audit hook (PEP 578) that Python cannot remove: only NumPy, the minimal minigrad and
   the modules in ``ALLOWED_STDLIB`` (all imported already, in step 0) may be imported, and writing files,
   starting processes, sending signals and the like are refused with a message that says so; where Landlock is
   missing, it also refuses reads outside the work folder, the minimal minigrad and NumPy. The guard is there
   for clear messages; the kernel layers are the boundary;
5. only then is the submission loaded and called.

A submission that calls ``sys.exit`` is caught like any other exception; one that calls ``os._exit``, loops, or
exhausts its memory ends this process, and the grader scores the calls that never reported back as zero.

This file imports nothing from minigrad's package folder: it runs on the standard library, NumPy, the minimal
minigrad and the isolation module, which it loads from the file the config names.
"""

import importlib.util
import json
import os
import sys
import traceback

# The modules a submission may import: NumPy and these. The fork server imports all of them before any child
# starts, because after the kernel layers are applied no other file can be read.
ALLOWED_STDLIB = (
    "abc", "cmath", "collections", "collections.abc", "contextlib", "copy", "dataclasses", "decimal", "enum",
    "fractions", "functools", "itertools", "math", "numbers", "operator", "random", "re", "statistics", "string",
    "sys", "time", "types", "typing", "warnings",
)
NUMPY_PRELOADED = ("numpy", "numpy.linalg", "numpy.fft", "numpy.random", "numpy.polynomial", "numpy.lib.mixins",
                   "numpy.lib.stride_tricks")
NUMPY_REFUSED = ("numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib", "numpy._pyinstaller")
MINIGRAD_MODULES = ("minigrad", "minigrad.backends", "minigrad.backends.strict")
# Named in the refusal message: a submission writes its derivative itself.
OTHER_AUTODIFF = ("torch", "jax", "jaxlib", "autograd", "mygrad", "micrograd", "tinygrad", "minitorch", "chainer",
                  "tensorflow", "keras", "mxnet", "paddle", "sympy", "mpmath", "casadi", "theano", "aesara",
                  "pytensor", "functorch", "numdifftools", "scipy")

# Audit events refused outright (exact names), and families refused by prefix: clear messages for what the
# kernel layers refuse anyway.
FORBIDDEN_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg",
    "subprocess.Popen", "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.chflags",
    "os.lchflags", "os.lchmod", "os.lchown", "os.link", "os.symlink", "os.truncate", "os.utime",
    "os.setxattr", "os.removexattr", "os.chdir", "os.startfile", "os.mkfifo", "os.mknod", "resource.setrlimit",
    "resource.prlimit", "signal.pthread_kill", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "sys._current_frames", "webbrowser.open", "pty.spawn", "_thread.start_new_thread", "sys.addaudithook",
    "sys.setprofile", "sys.settrace",  # the child's own profile function (_ForwardWatch) stays in place
})
FORBIDDEN_EVENT_PREFIXES = ("ctypes.", "shutil.", "socket.", "tempfile.", "http.", "urllib.", "sqlite3.")

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
OUTPUT_LIMIT_BYTES = 64 * 1024  # what the child keeps of the submission's prints, per stream
MESSAGE_LIMIT = 2000            # characters kept of one error message
SETUP_FAILED = 3                # exit status: the sandbox could not be set up; no submission code ran


# --- 0. what every child starts from: imported once, in the server or the fresh interpreter ----------------------
class Setup:
    """The modules imported before any child starts, and the isolation module with its prepared seccomp rules."""

    def __init__(self, config):
        sys.path[:0] = [config["minimal"]] + config["site_packages"]
        import numpy
        for name in ALLOWED_STDLIB + NUMPY_PRELOADED + MINIGRAD_MODULES:
            importlib.import_module(name)
        import minigrad
        from minigrad import backends
        for backend in ("numpy", "strict"):
            backends.get_module(backend)
        spec = importlib.util.spec_from_file_location("isolation", config["isolation"])
        self.isolation = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.isolation)
        self.seccomp = bytes.fromhex(config["seccomp"]) if config.get("seccomp") else None
        self.numpy, self.minigrad, self.backends = numpy, minigrad, backends
        self.readable = [config["minimal"], os.path.dirname(numpy.__file__)]
        del sys.path[:len(config["site_packages"]) + 1]


def main(work_dir, config):
    """A fresh interpreter: the same preparation the fork server makes, then the same child."""
    try:
        setup = Setup(config)
    except BaseException:  # noqa: B036  (before the submission runs, any failure is the grader's own)
        sys.stderr.write("grading sandbox misconfigured:\n" + traceback.format_exc())
        os._exit(SETUP_FAILED)
    run(setup, work_dir, parent=os.getppid())


# --- the fork server ---------------------------------------------------------------------------------------------
def serve(config):
    """Import everything once, then fork one child per request line on stdin; answer on stdout."""
    setup = Setup(config)
    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        returncode, timed_out = _fork_and_wait(setup, request)
        replies.write(json.dumps({"nonce": request["nonce"], "returncode": returncode, "timed_out": timed_out})
                      + "\n")
        replies.flush()


def _fork_and_wait(setup, request):
    import signal
    sys.stdout.flush()
    sys.stderr.flush()
    server = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: detach from the server, then run exactly what a fresh interpreter would
        try:
            os.setsid()  # its own session and process group
            for descriptor, path, flags in ((0, os.devnull, os.O_RDONLY),
                                            (1, request["stdout"], os.O_WRONLY | os.O_APPEND),
                                            (2, request["stderr"], os.O_WRONLY | os.O_APPEND)):
                opened = os.open(path, flags)
                os.dup2(opened, descriptor)
                os.close(opened)
            os.closerange(3, 4096)  # nothing else of the server's stays reachable (it opens only a few)
            run(setup, request["work"], parent=server)
        finally:
            os._exit(70)
    finished = _exited_within(pid, request["timeout"])
    if finished:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), False
    for kill in (os.killpg, os.kill):  # its group, and the child itself whatever group it ended up in
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    os.waitpid(pid, 0)
    if finished is None:  # the grader is gone: so is the reason to serve
        os._exit(0)
    return -signal.SIGKILL, True


def _exited_within(pid, timeout):
    """True if child `pid` exits within `timeout` seconds (it is not reaped here), False if it does not, None if the
    grader closed the server's stdin meanwhile."""
    import select
    import time
    if hasattr(os, "pidfd_open"):  # Linux: a descriptor that becomes readable when the process exits
        descriptor = os.pidfd_open(pid)
        try:
            ready = select.select([descriptor, sys.stdin], [], [], timeout)[0]
        finally:
            os.close(descriptor)
        if descriptor in ready:
            return True
        return None if ready else False
    deadline, pause = time.monotonic() + timeout, 0.001
    while time.monotonic() < deadline:  # elsewhere: poll without reaping
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        time.sleep(pause)
        pause = min(2 * pause, 0.02)
    return False


# --- the child ---------------------------------------------------------------------------------------------------
def run(setup, work_dir, parent):
    """Steps 1-5 of the module docstring, in a process that has nothing but `setup` in memory."""
    numpy, minigrad = setup.numpy, setup.minigrad
    try:
        work_dir = os.path.realpath(work_dir)
        os.chdir(work_dir)
        with open("request.json", encoding="utf-8") as file:
            request = json.load(file)
        output = os.fdopen(os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600),
                           "wb")
        with numpy.load("inputs.npz", allow_pickle=False) as archive:
            inputs = {key: archive[key] for key in archive.files}
        xp = setup.backends.get_module(request["backend"])
        set_limits(request["limits"])
        setup.isolation.apply(request["isolation"], [work_dir] + setup.readable, parent, setup.seccomp)
        setup.isolation.forget_setup_modules()
        sys.path[:] = []
        watch = _ForwardWatch()
        sys.setprofile(watch)
        install_guard(None if request["isolation"].get("landlock") else [work_dir] + setup.readable)
    except BaseException:  # noqa: B036  (before the submission runs, any failure is the grader's own)
        sys.stderr.write("grading sandbox misconfigured:\n" + traceback.format_exc())
        sys.stderr.flush()
        os._exit(SETUP_FAILED)
    submission_path = request["submission"]  # relative to the work folder, the current one: the folders above it
    #                                          may be closed to the child's user
    sys.stdout = _CappedStream(sys.stdout)
    sys.stderr = _CappedStream(sys.stderr)

    results = {}
    function = _load(submission_path, request["function"], minigrad, results)
    if function is not None:
        runner = _Runner(function, minigrad, xp, numpy, submission_path, watch.watching(function))
        for index, call in enumerate(request["calls"]):
            runner.run(index, call, inputs, results)
        if watch.called:
            results["watch.backward_calls_forward"] = numpy.asarray(True)
    numpy.savez(output, **results)
    output.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # not sys.exit: no atexit handler or lingering object of the submission runs after this


def set_limits(limits):
    """Address space, CPU seconds and file size, as soft and hard limits (a non-root process can only lower them)."""
    try:
        import resource
    except ImportError:  # Windows: the grader's wall-clock timeout still applies
        return
    wanted = {"RLIMIT_AS": limits.get("memory_bytes"), "RLIMIT_CPU": limits.get("cpu_seconds"),
              "RLIMIT_FSIZE": limits.get("file_bytes"), "RLIMIT_CORE": 0,
              "RLIMIT_NOFILE": 64}
    for name, value in wanted.items():
        if value is None or not hasattr(resource, name):
            continue
        try:
            resource.setrlimit(getattr(resource, name), (int(value), int(value)))
        except (ValueError, OSError):  # e.g. macOS does not enforce RLIMIT_AS; the timeout still applies
            pass


# --- 4. the import guard ------------------------------------------------------------------------------------------
def _module_allowed(name):
    if name in ALLOWED_STDLIB or name in MINIGRAD_MODULES:
        return True
    if name == "numpy" or name.startswith("numpy."):
        return not any(name == refused or name.startswith(refused + ".") for refused in NUMPY_REFUSED)
    return False


def _refusal(name):
    top = name.split(".")[0]
    if top in OTHER_AUTODIFF:
        return ImportError(f"grading sandbox: a submission may not import {name!r}: another autodiff or symbolic "
                           "library would take the derivative for you; write forward and backward yourself")
    if top == "minigrad":
        return ImportError(f"grading sandbox: a submission may not import {name!r}: it does not exist while grading; use minigrad.Function and "
                           "minigrad.get_array_module only")
    return ImportError(f"grading sandbox: a submission may not import {name!r}; it may import numpy (not "
                       f"numpy.testing) and {', '.join(m for m in ALLOWED_STDLIB if '.' not in m)}")


def install_guard(readable):
    """Install the audit hook. Everything it needs is captured as immutable values; nothing refers to it after.

    `readable`: None where Landlock guards reads; otherwise the folders the hook lets a submission read, a
    fallback that is weaker than Landlock (it cannot see a ``dir_fd``, so a relative path must be one of the
    work folder's own names).
    """
    forbidden_events, forbidden_prefixes, write_flags = FORBIDDEN_EVENTS, FORBIDDEN_EVENT_PREFIXES, _WRITE_FLAGS
    module_allowed, refusal = _module_allowed, _refusal
    roots = None if readable is None else tuple(os.path.realpath(root) for root in readable)
    own_names = frozenset(os.listdir(".")) if roots else frozenset()
    realpath, fsdecode, sep, isabs = os.path.realpath, os.fsdecode, os.sep, os.path.isabs

    def may_read(path):
        if roots is None or isinstance(path, int):
            return True
        path = fsdecode(path)
        if not isabs(path):
            return path in own_names
        path = realpath(path)
        return any(path == root or path.startswith(root + sep) for root in roots)

    def guard(event, args):
        if event == "import":
            if not module_allowed(args[0]):
                raise refusal(args[0])
        elif event == "open":
            path, mode, flags = args
            if (flags or 0) & write_flags or (isinstance(mode, str) and any(c in mode for c in "wax+")):
                raise PermissionError(f"grading sandbox: a submission may not write files ({path!r})")
            if not may_read(path):
                raise PermissionError(f"grading sandbox: a submission may not read {path!r}")
        elif event in ("os.listdir", "os.scandir"):
            if args and args[0] not in ("", b"", None, ".") and not may_read(args[0]):
                raise PermissionError(f"grading sandbox: a submission may not list {args[0]!r}")
        elif event in forbidden_events or event.startswith(forbidden_prefixes):
            raise PermissionError(f"grading sandbox: {event} is not allowed in a submission")

    sys.addaudithook(guard)


class _CappedStream:
    """A text stream that passes the first OUTPUT_LIMIT_BYTES characters through and drops the rest."""

    def __init__(self, stream):
        self._stream = stream
        self._left = OUTPUT_LIMIT_BYTES
        self.encoding = getattr(stream, "encoding", "utf-8")

    def write(self, text):
        text = str(text)
        if self._left > 0:
            kept = text[:self._left]
            self._left -= len(kept)
            self._stream.write(kept)
            if self._left <= 0:
                self._stream.write("\n[further output dropped]\n")
        return len(text)

    def flush(self):
        self._stream.flush()

    def isatty(self):
        return False


# --- 5. running the submission ------------------------------------------------------------------------------------
def _load(path, function_name, minigrad, results):
    """Execute the submission's file and return its Function class, or record why that failed."""
    try:
        with open(path, "rb") as file:  # relative to the work folder (see run)
            code = compile(file.read(), path, "exec")
        module = type(sys)("submission")
        module.__file__ = path
        sys.modules["submission"] = module
        exec(code, module.__dict__)  # noqa: S102  (running the submission is this process's one job)
    except BaseException as error:  # noqa: B036  (SystemExit and KeyboardInterrupt are the submission's too)
        results["load.error"] = _text(f"loading the file failed: {_describe(error, path)}")
        return None
    function = getattr(module, function_name, None)
    if function is None:
        results["load.error"] = _text(f"the file defines no {function_name!r}; the exercise asks for "
                                      f"class {function_name}(minigrad.Function)")
        return None
    if not (isinstance(function, type) and issubclass(function, minigrad.Function)):
        results["load.error"] = _text(f"{function_name} must be a class that subclasses minigrad.Function, "
                                      f"not {type(function).__name__}")
        return None
    return function


class _Runner:
    """Evaluates one call of the request, forward (and backward) on given inputs, or a recurrence unrolled over a
    sequence, and stores the raw arrays under ``call<i>.*`` keys. Every call goes through the same code: the
    grader's finite-difference points are ordinary forward calls, in an order the grader shuffled."""

    def __init__(self, function, minigrad, xp, numpy, submission_path, watch):
        self.function, self.minigrad, self.xp, self.numpy = function, minigrad, xp, numpy
        self.submission_path, self.watch = submission_path, watch

    def run(self, index, call, inputs, results):
        """Record ``call<i>.error`` if forward failed, ``call<i>.backward_error`` if only backward did."""
        prefix = f"call{index}"
        stage = ["forward"]  # moved on to "backward" once the output is recorded
        try:
            self.evaluate(prefix, call, inputs, results, stage)
        except BaseException as error:  # noqa: B036  (sys.exit in a submission is its own failure, not ours)
            key = "error" if stage[0] == "forward" else "backward_error"
            results[f"{prefix}.{key}"] = _text(_describe(error, self.submission_path))

    def evaluate(self, prefix, call, inputs, results, stage):
        host = [inputs[spec["array"]] if "array" in spec else spec["value"] for spec in call["args"]]
        grad_output = inputs[call["grad_output"]] if call.get("grad_output") else None

        def record(output):
            results[f"{prefix}.output"] = output
            stage[0] = "backward"

        if call.get("unroll"):
            grads = self.unroll(call, host, grad_output, record)
        else:
            grads = self.step(call, host, grad_output, record)
        if grads is not None:
            results[f"{prefix}.count"] = self.numpy.asarray(len(grads))
            for position, grad in enumerate(grads):
                if grad is not None:
                    results[f"{prefix}.grad{position}"] = grad

    def device(self, value):
        return self.xp.asarray(value) if isinstance(value, self.numpy.ndarray) else value

    def forward(self, call, arguments):
        """forward called directly with a fresh ctx, as the engine would call it; returns (ctx, raw output)."""
        ctx = self.minigrad.Context()
        ctx.needs_input_grad = tuple(bool(spec.get("requires_grad")) for spec in call["args"])
        return ctx, self.function.forward(ctx, *arguments)

    def backward(self, ctx, upstream, what):
        with self.watch:
            grads = self.function.backward(ctx, self.xp.asarray(upstream))
        if not isinstance(grads, tuple):
            grads = (grads,)
        return [None if grad is None else self.to_host(grad, f"{what}, in position {i},")
                for i, grad in enumerate(grads)]

    def step(self, call, host, grad_output, record):
        """One forward (and backward if `grad_output` is given). The output goes to `record` as soon as forward
        returns; the gradients are returned."""
        ctx, output = self.forward(call, [self.device(value) for value in host])
        record(self.to_host(output, "forward returned"))
        if grad_output is None:
            return None
        return self.backward(ctx, grad_output, "backward returned")

    def unroll(self, call, host, grad_output, record):
        """h_t = f(x[t], h_{t-1}, params...) for t = 1..T, then backward of sum_t <v_t, h_t> step by step, newest
        first: each step's backward gets v_t plus the gradient the later steps sent to h_t."""
        numpy = self.numpy
        sequence, state = call["unroll"]["sequence"], call["unroll"]["state"]
        steps, contexts, states = host[sequence].shape[0], [], []
        hidden = self.device(host[state])
        for t in range(steps):
            arguments = [self.device(value) for value in host]
            arguments[sequence], arguments[state] = self.device(host[sequence][t]), hidden
            ctx, hidden = self.forward(call, arguments)
            contexts.append(ctx)
            states.append(self.to_host(hidden, "forward returned"))
        record(numpy.stack(states))
        if grad_output is None:
            return None
        differentiable = [bool(spec.get("requires_grad")) for spec in call["args"]]
        grads = [None] * len(host)
        grads[sequence] = numpy.zeros_like(host[sequence])
        grad_hidden = numpy.zeros_like(states[0])
        for t in reversed(range(steps)):
            step_grads = self.backward(contexts[t], grad_output[t] + grad_hidden, "backward returned")
            if len(step_grads) != len(host):
                raise TypeError(f"backward returned {len(step_grads)} value(s), but forward takes {len(host)} "
                                "arguments")
            for position, grad in enumerate(step_grads):
                if not differentiable[position] or grad is None:
                    continue
                if position == sequence:
                    grads[sequence][t] = grad
                elif position == state:
                    grad_hidden = grad
                else:
                    grads[position] = grad if grads[position] is None else grads[position] + grad
        grads[state] = grad_hidden
        return grads

    def to_host(self, value, what):
        numpy = self.numpy
        if isinstance(value, (int, float, numpy.generic)):
            value = self.xp.asarray(value)
        if isinstance(value, numpy.ndarray) and self.xp is not numpy:
            raise TypeError(f"{what} a numpy.ndarray although the inputs live on another backend; compute with "
                            "xp = minigrad.get_array_module(...) instead of numpy")
        if not hasattr(value, "shape") or not hasattr(value, "dtype"):
            raise TypeError(f"{what} a {type(value).__name__}, not an array")
        host = value if isinstance(value, numpy.ndarray) else value.get()
        if not isinstance(host, numpy.ndarray) or host.dtype.kind not in "fiub":
            raise TypeError(f"{what} an array of dtype {getattr(host, 'dtype', '?')}, not numbers")
        return numpy.array(host, copy=True, order="C")  # a plain ndarray, never a subclass of the submission's


class _ForwardWatch:
    """The profile function of the child: notes a call of the graded class's forward made while its backward
    runs (finite differences of the forward), by forward's code object, so a reference to forward saved under
    another name is caught too. The grader then scores that group's gradients as zero (grading/derivation.py)."""

    def __init__(self):
        self.code, self.active, self.called = None, False, False

    def __call__(self, frame, event, arg):
        if self.active and event == "call" and frame.f_code is self.code:
            self.called = True

    def watching(self, function):
        forward = getattr(function, "forward", None)
        self.code = getattr(getattr(forward, "__func__", forward), "__code__", None)
        return self

    def __enter__(self):
        self.active = True

    def __exit__(self, *exception):
        self.active = False


def _describe(error, submission_path):
    """'ValueError: ... (your file, line 12, in backward)': the exception and the last line of the submission."""
    try:
        where = ""
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            if frame.filename == submission_path:
                where = f" (your file, line {frame.lineno}, in {frame.name}: {frame.line})"
                break
        if isinstance(error, SystemExit):
            return f"the submission called sys.exit({error.code!r}){where}"
        return f"{type(error).__name__}: {error}{where}"
    except BaseException:  # noqa: B036  (an exception whose __str__ fails is still a failure to report)
        return f"{type(error).__name__} (its message could not be shown)"


def _text(message):
    import numpy
    return numpy.asarray(str(message)[:MESSAGE_LIMIT])


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve(json.loads(sys.argv[2]))
    else:
        main(sys.argv[1], json.loads(sys.argv[2]))
