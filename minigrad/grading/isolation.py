"""The kernel's part of the grading sandbox: Landlock, seccomp, a separate user, a network namespace.

The grader's child process calls :func:`apply` after it has imported everything a submission may use and before
the submission's code runs. From then on the kernel, not Python, decides what the process can do:

========  ===========================================================================================================
layer     what it stops
========  ===========================================================================================================
landlock  reading any file outside the child's work folder, the minimal minigrad it imports and NumPy's package;
          writing, creating, renaming or deleting any file at all (the result file is opened before); executing
          programs; TCP; signals to processes outside the sandbox and abstract Unix sockets (Landlock ABI >= 6)
seccomp   creating processes or threads (fork, vfork, clone, clone3, execve), ptrace and other processes' memory,
          every signal-sending call (kill, tkill, tgkill, rt_sigqueueinfo, pidfd_*), sockets, memory files and
          System V IPC (memory outside the address-space limit, objects that outlive the process), unshare, setns,
          mount and friends, raising resource limits, io_uring, bpf, perf events, keyrings, kernel modules
user      (when the grader runs as root) the child switches to a fresh unprivileged uid and gid with no
          supplementary groups, so plain file permissions apply too and nothing can be regained
network   a new, empty network namespace (only a loopback interface, down)
========  ===========================================================================================================

Every refusal is an ``EPERM`` or ``EACCES`` that Python raises as ``PermissionError``: a submission fails with a
message, never with a hang. The layers are independent: each one stops most of what a submission could try, and
they overlap on purpose (a socket is refused by seccomp, TCP also by Landlock, any network by the namespace).

This module is loaded by the child from its file (it imports only the standard library), and by the grader, which
compiles the seccomp filter with ``pyseccomp`` (libseccomp knows every architecture's system call numbers) and
hands the child the finished BPF program, so that neither libseccomp nor what ``pyseccomp`` imports is ever in
the child's memory. The grader also uses it to find out which layers this machine offers: :func:`probe` runs a throwaway process that applies every
layer to itself and reports what held. The grader never grades with a layer it could not apply without saying so,
and ``--strict`` refuses to grade at all.

``MINIGRAD_GRADING_WITHOUT`` (a comma-separated list of layer names) makes the grader leave those layers out, as
if the machine lacked them. It is read by the grader's own process only: the child's environment is built from
nothing, so a submission can neither read nor set it. The tests use it to check that a missing layer is reported
and that ``--strict`` refuses.
"""

import errno
import json
import os
import signal
import sys

LAYERS = ("landlock", "seccomp", "user", "network")
REQUIRED = ("landlock", "seccomp", "user")   # what --strict insists on; the network namespace is a bonus
DISABLE_VARIABLE = "MINIGRAD_GRADING_WITHOUT"

# --- Landlock (linux/landlock.h) ----------------------------------------------------------------------------------
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446  # every arch
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_FS_READ_FILE, _FS_READ_DIR = 1 << 2, 1 << 3
_FS_ABI1 = (1 << 13) - 1                      # execute, write, read, read dir, remove, make char/dir/reg/sock/...
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15   # ABI 2, 3, 5
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2         # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2   # ABI 6

_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 1, 22, 2
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000

# Refused by seccomp with EPERM. Names unknown on this architecture (vfork on arm64, say) are skipped.
SECCOMP_REFUSED = (
    # new processes and threads, and replacing this one
    "fork", "vfork", "clone", "clone3", "execve", "execveat",
    # other processes: tracing, memory, signals, process descriptors
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
    "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    # networking
    "socket", "socketpair",
    # memory outside the address-space limit, and System V IPC objects that outlive the process
    "memfd_create", "memfd_secret", "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_notify",
    # namespaces, mounts, the root
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsmount", "fsconfig", "fspick", "mount_setattr",
    # limits (prlimit64 is refused only when it sets a limit, below)
    "setrlimit",
    # kernel interfaces with their own attack surface or that bypass file rules
    "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd",
    "keyctl", "add_key", "request_key", "open_by_handle_at", "name_to_handle_at", "personality",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "iopl", "ioperm", "mknod", "mknodat",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "vhangup",
)


class IsolationError(RuntimeError):
    """A layer that was asked for could not be applied: the child must not run the submission."""


def _libc():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return ctypes, libc


def _check(result, ctypes, what):
    if result < 0:
        number = ctypes.get_errno()
        raise IsolationError(f"{what} failed: {os.strerror(number)} (errno {number})")
    return result


def landlock_abi():
    """The kernel's Landlock ABI version, or 0 where Landlock is missing or disabled."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        ctypes, libc = _libc()
    except (ImportError, OSError):
        return 0
    version = libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                           ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(0, int(version))


def _no_new_privileges():
    ctypes, libc = _libc()
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), ctypes, "prctl(PR_SET_NO_NEW_PRIVS)")


def apply_landlock(readable, abi):
    """Allow reading `readable` (folders and files) and nothing else: no write, create, delete or execute anywhere,
    no TCP, and (ABI >= 6) no signals or abstract Unix sockets out of the sandbox."""
    ctypes, libc = _libc()

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                    ("scoped", ctypes.c_uint64)]

    class PathBeneathAttr(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    handled = _FS_ABI1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0) | \
        (_FS_IOCTL_DEV if abi >= 5 else 0)
    attr = RulesetAttr(handled, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
                       (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8   # the struct as this ABI knows it
    ruleset = _check(libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                                  ctypes.c_uint32(0)), ctypes, "landlock_create_ruleset")
    try:
        for path in readable:
            descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                is_dir = os.path.isdir(path)
                rule = PathBeneathAttr(_FS_READ_FILE | (_FS_READ_DIR if is_dir else 0), descriptor)
                _check(libc.syscall(_SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset),
                                    ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                                    ctypes.c_uint32(0)), ctypes, f"landlock_add_rule({path})")
            finally:
                os.close(descriptor)
        _check(libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), ctypes,
               "landlock_restrict_self")
    finally:
        os.close(ruleset)


def seccomp_program():
    """The seccomp filter as a BPF program (bytes): allow by default, refuse SECCOMP_REFUSED with EPERM, and any
    system call of another architecture (the x32 ABI, say) by killing the process. Needs ``pyseccomp``."""
    import tempfile

    import pyseccomp
    refused = pyseccomp.ERRNO(errno.EPERM)
    rules = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    for name in SECCOMP_REFUSED:
        try:
            rules.add_rule(refused, name)
        except (RuntimeError, ValueError, OSError):  # a call this architecture does not have
            continue
    rules.add_rule(refused, "prlimit64", pyseccomp.Arg(2, pyseccomp.NE, 0))  # getrlimit passes no new limit
    with tempfile.TemporaryFile() as file:
        rules.export_bpf(file)
        file.seek(0)
        return file.read()


def load_seccomp(program):
    """Install the BPF `program` (from :func:`seccomp_program`) on this process; no_new_privs must be set."""
    ctypes, libc = _libc()

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    count = len(program) // ctypes.sizeof(SockFilter)
    if count == 0 or count * ctypes.sizeof(SockFilter) != len(program):
        raise IsolationError("the seccomp program is malformed")
    instructions = (SockFilter * count).from_buffer_copy(program)
    header = SockFprog(count, ctypes.cast(instructions, ctypes.POINTER(SockFilter)))
    _check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(header), 0, 0), ctypes,
           "prctl(PR_SET_SECCOMP)")


def new_network_namespace(as_root):
    """Move into a fresh, empty network namespace (through a user namespace when not root)."""
    ctypes, libc = _libc()
    flags = _CLONE_NEWNET if as_root else _CLONE_NEWUSER | _CLONE_NEWNET
    _check(libc.unshare(ctypes.c_int(flags)), ctypes, "unshare(CLONE_NEWNET)")


def drop_to(uid):
    """Become `uid` (and gid `uid`) with no supplementary groups; check that root cannot be regained."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != uid or os.getgroups():
        raise IsolationError("switching to the unprivileged user did not take")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise IsolationError("root could be regained after switching users")


def die_with_parent(parent):
    """SIGKILL this process when `parent` (the process that waits for it) dies."""
    ctypes, libc = _libc()
    _check(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0), ctypes, "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the parent died before the line above: nothing will wait for this process
        os._exit(70)


def apply(plan, readable, parent, seccomp=None):
    """Apply the layers `plan` asks for, in the only order that works, or raise IsolationError.

    `plan`: {"landlock": ABI or 0, "seccomp": bool, "user": uid or None, "network": bool}; `seccomp`: the BPF
    program, required when the plan asks for seccomp. The network namespace
    needs privileges that the user switch gives up, and the seccomp filter refuses the calls the other layers
    make, so: network, Landlock, user, parent-death signal (cleared by a user switch), seccomp last.
    """
    if not sys.platform.startswith("linux"):  # no layer exists here; the grader has reported them missing
        if any(plan.get(layer) for layer in ("landlock", "seccomp", "network")) or plan.get("user") is not None:
            raise IsolationError("kernel layers were asked for on a system that has none")
        return
    as_root = os.geteuid() == 0
    _no_new_privileges()
    if plan.get("network"):
        new_network_namespace(as_root)
    if plan.get("landlock"):
        apply_landlock(readable, plan["landlock"])
    if plan.get("user") is not None:
        drop_to(plan["user"])
    die_with_parent(parent)
    if plan.get("seccomp"):
        if not seccomp:
            raise IsolationError("seccomp was asked for, but no filter program was given")
        load_seccomp(seccomp)


def forget_setup_modules():
    """Remove ctypes and this module from ``sys.modules`` so that the import rules see them as new.

    This does not unload them (CPython never unloads an extension), which is why the kernel layers, not the
    import rules, are the boundary.
    """
    for name in list(sys.modules):
        if name.split(".")[0] in ("ctypes", "_ctypes", "isolation"):
            del sys.modules[name]


# --- what this machine offers ---------------------------------------------------------------------------------------
def disabled():
    """Layers switched off through MINIGRAD_GRADING_WITHOUT (in the grader's environment)."""
    names = {name.strip() for name in os.environ.get(DISABLE_VARIABLE, "").split(",") if name.strip()}
    unknown = names - set(LAYERS)
    if unknown:
        raise ValueError(f"{DISABLE_VARIABLE}: unknown layer(s) {', '.join(sorted(unknown))}; the layers are "
                         f"{', '.join(LAYERS)}")
    return names


def _self_test():
    """Run in a throwaway process: apply each layer to this process and report what held (a JSON line)."""
    report = {}
    as_root = os.geteuid() == 0
    try:
        program, seccomp_problem = seccomp_program(), None  # compiled before the other layers, as the grader does
    except Exception as error:  # noqa: BLE001  (pyseccomp missing, libseccomp missing)
        program, seccomp_problem = None, f"missing: {type(error).__name__}: {error}"
    try:
        _no_new_privileges()
    except Exception as error:  # noqa: BLE001  (every failure is a finding here)
        print(json.dumps({layer: f"missing: {error}" for layer in LAYERS}))
        return
    try:
        new_network_namespace(as_root)
        report["network"] = "active"
    except Exception as error:  # noqa: BLE001
        report["network"] = f"missing: {error}"
    abi = landlock_abi()
    if abi <= 0:
        report["landlock"] = "missing: the kernel offers no Landlock (Linux 5.13 or later with landlock enabled)"
    else:
        try:
            apply_landlock([os.path.dirname(os.path.abspath(__file__))], abi)
            report["landlock"] = f"active (ABI {abi})"
        except Exception as error:  # noqa: BLE001
            report["landlock"] = f"missing: {error}"
    if as_root:
        try:
            drop_to(65534)
            report["user"] = "active"
        except Exception as error:  # noqa: BLE001
            report["user"] = f"missing: {error}"
    else:
        report["user"] = "active"
    if program is None:
        report["seccomp"] = seccomp_problem
    else:
        try:
            load_seccomp(program)
            os.fork()  # must fail now
            os._exit(0)
        except PermissionError:
            report["seccomp"] = "active"
        except Exception as error:  # noqa: BLE001  (a kernel without seccomp filters)
            report["seccomp"] = f"missing: {type(error).__name__}: {error}"
    print(json.dumps(report))


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        _self_test()
