"""The sandbox's kernel layers, and hostile submissions of every kind, run through the real `minigrad grade`.

Each attack is graded with `python -m minigrad grade` (and with `--class` where a class is involved) in an
instructor's folder, with the grader's temporary folders under a folder of the test's own. Every test checks:

- the grade is what the submission's honest part earns (graded alone, same seed), or the documented zero;
- the instructor's folder is byte-for-byte unchanged but for the grader's own outputs, and no file of minigrad's
  package (the grader, the references, the solutions, their __pycache__) changed or appeared;
- no process that the run started is alive afterwards (found by pid, through /proc: its command line or its
  working folder lies in the test's folder), and no temporary folder is left.
"""

import csv
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from minigrad.grading import isolation, sandbox
from minigrad.grading.grader import grade
from tests.grading.conftest import REPOSITORY, SOLUTIONS, snapshot
from tests.grading.test_attacks import FORWARD, RIGHT_BACKWARD, ZERO_BACKWARD, submission

SEED = 4242
PACKAGE = REPOSITORY / "minigrad"
LIB_DYNLOAD = Path(sysconfig.get_paths()["platstdlib"]) / "lib-dynload"
STATUS = sandbox.isolation_status()
IN_CI = bool(os.environ.get("CI"))


def _need(layer):
    """Skip where this machine genuinely lacks `layer`; in CI every layer must be there."""
    if not STATUS[layer].startswith("active"):
        if IN_CI:
            pytest.fail(f"layer {layer} is {STATUS[layer]} in CI")
        pytest.skip(f"layer {layer} unavailable here: {STATUS[layer]}")


def _package_state():
    """Every file of the package, but Numba's cache of the fast kernels (*.nbi, *.nbc), which tests running
    alongside in other workers write while an attack is graded."""
    return {str(path): (path.stat().st_size, path.stat().st_mtime_ns) for path in PACKAGE.rglob("*")
            if path.is_file() and path.suffix not in (".nbi", ".nbc")}


def _processes_under(folder):
    """Pids of live processes whose command line or working folder lies under `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(folder) in command or cwd.startswith(str(folder)):
            found.append(int(entry.name))
    return found


def run_cli(arguments, tmp_path, environment=None, timeout=300):
    """`python -m minigrad ARGUMENTS` with the grader's temporary folders under tmp_path/tmp; checks afterwards
    that no process of the run is alive and that no temporary folder is left."""
    temporary = tmp_path / "tmp"
    temporary.mkdir(exist_ok=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", TMPDIR=str(temporary),
               **(environment or {}))
    process = subprocess.run([sys.executable, "-m", "minigrad", *map(str, arguments)], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=timeout)
    time.sleep(0.3)  # anything left running in the background would show now
    assert _processes_under(temporary) == [], "a process of the grading run survived it"
    assert list(temporary.iterdir()) == [], f"temporary folders left: {list(temporary.iterdir())}"
    return process


def grade_attack(tmp_path, source, *extra, name="attack.py", environment=None):
    """Grade `source` with the real command in an instructor's folder; return (results, process)."""
    folder = tmp_path / "grading"
    folder.mkdir(exist_ok=True)
    (folder / "other_student.py").write_text((SOLUTIONS / "silu.py").read_text())
    (folder / "roster.csv").write_text("student,email\nada,ada@example.org\n")
    path = folder / name
    path.write_text(source)
    before, package = snapshot(folder), _package_state()
    process = run_cli(["grade", path, "--assignment", "silu", "--json", folder / "results.json", "--seed", SEED,
                       "--timeout", 5, *extra], tmp_path, environment)
    assert process.returncode == 0, process.stderr
    after = snapshot(folder)
    results = json.loads(after.pop("results.json"))
    assert after == before, f"the instructor's folder changed: {sorted(set(after) ^ set(before))}"
    changed = {path for path, state in _package_state().items() if package.get(path) != state}
    assert not changed, f"files of the package changed or appeared: {sorted(changed)}"
    return results, process


def honest(tmp_path, source):
    path = tmp_path / "honest.py"
    path.write_text(source)
    return grade(path, "silu", seed=SEED).score


def full_marks():
    return grade(SOLUTIONS / "silu.py", "silu", seed=SEED).max_score


def rows(results):
    return {test["name"]: test for test in results["tests"]}


# --- the layers themselves, without the audit hook ------------------------------------------------------------
LAYER_PROBE = """
import errno, json, os, resource, socket, sys
sys.path.insert(0, {folder!r})
import isolation
plan = {plan}
program = bytes.fromhex({program!r}) if plan["seccomp"] else None
namespace = os.readlink("/proc/self/ns/net")
isolation.apply(plan, [{readable!r}], os.getppid(), program)

def attempt(action):
    try:
        action()
        return 0
    except OSError as error:
        return error.errno
    except ValueError:  # what resource.setrlimit makes of EPERM
        return errno.EPERM

def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)

hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

print(json.dumps({{
    "read outside": attempt(lambda: open("/etc/hostname").read()),
    "read inside": attempt(lambda: open({inside!r}).read()),
    "write inside": attempt(lambda: open({readable!r} + "/new.txt", "w")),
    "fork": attempt(fork),
    "socket": attempt(lambda: socket.socket()),
    "kill": attempt(lambda: os.kill(os.getppid(), 0)),
    "pidfd": attempt(lambda: os.pidfd_open(os.getppid())),
    "memfd": attempt(lambda: os.memfd_create("hoard")),
    "raise limit": attempt(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))),
    "uid": os.getuid(),
    "network": os.readlink("/proc/self/ns/net") if {network!r} else None,
    "network before": namespace,
}}))
"""


def _apply_layers(tmp_path, plan):
    folder = tmp_path / "readable"
    folder.mkdir()
    (folder / "inside.txt").write_text("mine")
    folder.chmod(0o777)
    (folder / "inside.txt").chmod(0o644)
    program = isolation.seccomp_program().hex() if plan["seccomp"] else ""
    code = LAYER_PROBE.format(folder=str(Path(isolation.__file__).parent), plan=plan, program=program,
                              readable=str(folder), inside=str(folder / "inside.txt"), network=plan["network"])
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def test_landlock_refuses_reads_outside_the_allowed_folders_and_every_write(tmp_path):
    _need("landlock")
    outcome = _apply_layers(tmp_path, {"landlock": isolation.landlock_abi(), "seccomp": False, "user": None,
                                       "network": False})
    assert outcome["read outside"] == 13 and outcome["write inside"] == 13  # EACCES from the kernel
    assert outcome["read inside"] == 0


def test_the_network_namespace_is_a_new_one(tmp_path):
    _need("network")
    outcome = _apply_layers(tmp_path, {"landlock": 0, "seccomp": False, "user": None, "network": True})
    assert outcome["network"] != outcome["network before"]


def test_seccomp_refuses_fork_sockets_signals_pidfds_memory_files_and_raising_limits(tmp_path):
    _need("seccomp")
    outcome = _apply_layers(tmp_path, {"landlock": 0, "seccomp": True, "user": None, "network": False})
    for action in ("fork", "socket", "kill", "pidfd", "memfd", "raise limit"):
        assert outcome[action] == 1, f"{action}: {outcome[action]}"  # EPERM
    assert outcome["read outside"] == 0  # seccomp alone does not stop reads: that is Landlock's part


def test_the_user_layer_switches_to_an_unprivileged_uid(tmp_path):
    _need("user")
    if os.geteuid() != 0:
        pytest.skip("the grader is not root here: its children run as its own unprivileged user")
    outcome = _apply_layers(tmp_path, {"landlock": 0, "seccomp": False, "user": 123457, "network": False})
    assert outcome["uid"] == 123457


def test_strict_refuses_to_grade_when_a_layer_is_missing(tmp_path):
    folder = tmp_path / "grading"
    folder.mkdir()
    (folder / "s.py").write_text((SOLUTIONS / "silu.py").read_text())
    for layer in isolation.REQUIRED:
        process = run_cli(["grade", folder / "s.py", "--assignment", "silu", "--json", folder / "results.json",
                           "--strict"], tmp_path, {isolation.DISABLE_VARIABLE: layer})
        assert process.returncode == 3
        assert f"isolation layer {layer} is missing" in process.stderr and "refusing to grade" in process.stderr
        assert not (folder / "results.json").exists()


def test_a_missing_layer_is_reported_in_the_output_and_results_json(tmp_path):
    results, process = grade_attack(tmp_path, submission(), environment={isolation.DISABLE_VARIABLE: "landlock"})
    assert "MISSING: landlock" in process.stdout
    assert results["extra_data"]["isolation"]["landlock"].startswith("missing")
    assert results["score"] == full_marks()


def test_the_isolation_command_reports_every_layer_and_demonstrates_it(tmp_path):
    for layer in isolation.REQUIRED:
        _need(layer)
    process = run_cli(["isolation"], tmp_path)
    assert process.returncode == 0, process.stdout
    assert "probe: read a file outside its folder  ok" in process.stdout
    weaker = run_cli(["isolation"], tmp_path, {isolation.DISABLE_VARIABLE: "seccomp"})
    assert weaker.returncode == 1 and "pidfd_open on the server        FAIL" in weaker.stdout


# --- 1. C extensions under another name -----------------------------------------------------------------------
def test_forbidden_c_extensions_loaded_under_another_name_get_nothing(tmp_path):
    victim = tmp_path / "grading" / "roster.csv"
    prelude = f"""
    import importlib.machinery, importlib.util, os, sys
    def load(alias, name):
        path = [os.path.join({str(LIB_DYNLOAD)!r}, f) for f in os.listdir({str(LIB_DYNLOAD)!r})
                if f.startswith(name + ".")][0]
        loader = importlib.machinery.ExtensionFileLoader(alias, path)
        spec = importlib.util.spec_from_loader(alias, loader)
        return loader.create_module(spec)
    attempts = [
        lambda: load("innocent._posixsubprocess", "_posixsubprocess").fork_exec(
            ["/bin/sh", "-c", "echo mallory >> {victim}"], [b"/bin/sh"], True, (), None, None, -1, -1, -1, -1,
            -1, -1, -1, -1, False, False, None, None, None, -1, None, False),
        lambda: load("innocent._socket", "_socket").socket(),
        lambda: load("innocent._xxsubinterpreters", "_xxsubinterpreters").create(),
        lambda: load("innocent._testcapi", "_testcapi"),
        lambda: open(os.path.join({str(LIB_DYNLOAD)!r}, "_socket.cpython-311-x86_64-linux-gnu.so"), "rb").read(),
    ]
    for attempt in attempts:
        try:
            attempt()
        except BaseException as error:
            print("refused:", type(error).__name__, file=sys.stderr)
    """
    results, _ = grade_attack(tmp_path, submission(prelude, backward=ZERO_BACKWARD))
    assert results["score"] == honest(tmp_path, submission(backward=ZERO_BACKWARD)) < full_marks()


def test_ctypes_types_dug_out_of_the_interpreter_call_nothing(tmp_path):
    victim = tmp_path / "grading" / "roster.csv"
    prelude = f"""
    import os, sys
    def find(name):
        todo, seen = list(object.__subclasses__()), set()
        while todo:
            cls = todo.pop()
            if id(cls) not in seen:
                seen.add(id(cls))
                if cls.__name__ == name:
                    return cls
                try:
                    todo.extend(cls.__subclasses__())
                except TypeError:
                    pass
    try:
        class Int(find("_SimpleCData")):
            _type_ = "i"
        class Text(find("_SimpleCData")):
            _type_ = "z"
        class Handle:
            _handle = 0
        class Function(find("CFuncPtr")):
            _flags_ = 1
            _restype_ = Int
        Function(("system", Handle()))(Text(b"echo mallory >> {victim}"))
        Function(("kill", Handle()))(Int(os.getppid()), Int(9))
    except BaseException as error:
        print("refused:", type(error).__name__, file=sys.stderr)
    """
    results, _ = grade_attack(tmp_path, submission(prelude, backward=ZERO_BACKWARD))
    assert results["score"] == honest(tmp_path, submission(backward=ZERO_BACKWARD)) < full_marks()


# --- 2. relative paths against a directory descriptor ---------------------------------------------------------
def test_reading_the_solution_or_the_reference_through_a_directory_descriptor_fails(tmp_path):
    prelude = f"""
    import os
    stolen = None
    for relative in ("minigrad/grading/solutions/silu.py", "minigrad/grading/references/silu.py"):
        try:
            folder = os.open({str(REPOSITORY)!r}, os.O_RDONLY | os.O_DIRECTORY)
            stolen = os.read(os.open(relative, os.O_RDONLY, dir_fd=folder), 100000).decode()
        except OSError:
            pass
    """
    wrong = FORWARD.replace("return x * sigmoid", "return x")
    source = submission(prelude, forward=wrong) + "\nif stolen:  # the solution's SiLU replaces the wrong one\n" \
        "    exec(compile(stolen, 'stolen', 'exec'))\n"
    results, _ = grade_attack(tmp_path, source)
    assert "BEGIN SOLUTION" not in json.dumps(results) and "def reference" not in json.dumps(results)
    assert results["score"] == honest(tmp_path, submission(forward=wrong)) < full_marks()


# --- 3. signals without an audit event ------------------------------------------------------------------------
def test_signals_through_pidfds_reach_neither_the_fork_server_nor_the_grader(tmp_path):
    prelude = """
    import os, signal
    for pid in (os.getppid(), 1):
        try:
            descriptor = os.pidfd_open(pid)
            signal.pidfd_send_signal(descriptor, signal.SIGKILL)
        except OSError:
            pass
    """
    results, process = grade_attack(tmp_path, submission(prelude))
    assert results["score"] == full_marks()
    text = json.dumps(results) + process.stdout
    assert "misconfigured" not in text and str(REPOSITORY) not in text and sys.prefix not in text


# --- 4. gradient-check rows ------------------------------------------------------------------------------------
ZERO_WORK = '''
    @staticmethod
    def forward(ctx, x):
        return 0 * x
'''


def test_a_zero_work_file_scores_zero(tmp_path):
    results, _ = grade_attack(tmp_path, submission(forward=ZERO_WORK, backward=ZERO_BACKWARD))
    assert results["score"] == 0


def test_nan_at_the_finite_difference_points_fails_the_gradient_check(tmp_path):
    prelude = """
    seen = []
    """
    nan_sweep = FORWARD.replace("ctx.save_for_backward(x, sigmoid)", """ctx.save_for_backward(x, sigmoid)
        key = x.tobytes()
        first = not any(len(s) == len(key) for s in seen)
        seen.append(key)
        if not first and x.size == 12:
            return x * xp.nan""")
    results, _ = grade_attack(tmp_path, submission(prelude, forward=nan_sweep, backward=ZERO_BACKWARD))
    table = rows(results)
    assert table["gradient check: your backward against finite differences of your forward, random upstream "
                 "gradient"]["score"] == 0
    assert results["score"] <= honest(tmp_path, submission(backward=ZERO_BACKWARD))


def test_forward_values_forged_at_the_finite_difference_points_are_caught(tmp_path):
    # A correct forward, a backward of zeros, and at every point that differs from an earlier input in exactly
    # one element, the earlier output: finite differences of zero, consistent with the zero backward.
    prelude = """
    import numpy as np
    seen = []
    def forged(x, real):
        for old_x, old_y in seen:
            if old_x.shape == x.shape and np.count_nonzero(old_x != x) == 1:
                return old_y
        seen.append((x.copy(), real.copy()))
        return real
    """
    forging = FORWARD.replace("return x * sigmoid", "return forged(x, x * sigmoid)")
    results, _ = grade_attack(tmp_path, submission(prelude, forward=forging, backward=ZERO_BACKWARD))
    table = rows(results)
    for name, row in table.items():
        if "gradient check" in name:
            assert row["score"] == 0, name
    assert results["score"] <= honest(tmp_path, submission(backward=ZERO_BACKWARD))  # forging only costs


def test_hard_coded_public_answers_gain_nothing_beyond_the_public_rows(tmp_path):
    from minigrad.grading import spec
    from minigrad.grading.grader import PUBLIC_SEED, prepare
    task = spec.get("silu")
    public = prepare(task, task.public_case, PUBLIC_SEED)
    source = ("import minigrad\nimport numpy\n\nclass SiLU(minigrad.Function):\n    @staticmethod\n"
              "    def forward(ctx, x):\n"
              f"        return numpy.array({public.expected_output.tolist()!r}, dtype=x.dtype).reshape(-1)[:x.size]"
              ".reshape(x.shape) if x.size == 8 else 0 * x\n\n"
              "    @staticmethod\n    def backward(ctx, grad_output):\n"
              f"        return numpy.array({public.expected_grads[0].tolist()!r}) if grad_output.size == 8 else "
              "0 * grad_output\n")
    results, _ = grade_attack(tmp_path, source)
    public_points = sum(row["max_score"] for name, row in rows(results).items() if name.startswith("public"))
    assert results["score"] <= public_points
    assert all(row["score"] == 0 for name, row in rows(results).items() if not name.startswith("public"))


# --- 5. what minigrad offers a submission -----------------------------------------------------------------------
def test_minigrads_own_ops_engine_and_tensors_do_not_exist_for_a_submission(tmp_path):
    attempts = [
        "Op = minigrad.ops.Exp",
        "import minigrad.ops",
        "from minigrad.autograd import engine",
        "t = minigrad.tensor([1.0], requires_grad=True)",
        "from minigrad.nn import functional",
    ]
    for number, attempt in enumerate(attempts):
        (tmp_path / str(number)).mkdir()
        results, _ = grade_attack(tmp_path / str(number), submission(attempt))
        assert results["score"] == 0, attempt
        output = results["tests"][0]["output"]
        assert "not available to a submission" in output or "may not import" in output, output


@pytest.mark.parametrize("library", ["mpmath", "sympy", "autograd", "jax", "torch", "scipy"])
def test_other_autodiff_and_symbolic_libraries_are_refused_with_a_clear_message(tmp_path, library):
    results, _ = grade_attack(tmp_path, submission(f"import {library}"))
    assert results["score"] == 0
    assert "another autodiff or symbolic library" in results["tests"][0]["output"]


# --- 6. paths, names, output ------------------------------------------------------------------------------------
def test_a_symlinked_submission_is_refused_not_followed(tmp_path):
    folder = tmp_path / "grading"
    folder.mkdir()
    (folder / "attack.py").symlink_to(SOLUTIONS / "silu.py")
    process = run_cli(["grade", folder / "attack.py", "--assignment", "silu", "--json", folder / "results.json"],
                      tmp_path)
    results = json.loads((folder / "results.json").read_text())
    assert results["score"] == 0 and "symbolic link" in results["tests"][0]["output"]
    assert process.returncode == 0


def test_a_folder_given_as_one_submission_is_graded_zero_and_results_json_stays_a_file(tmp_path):
    folder = tmp_path / "grading"
    (folder / "submission.py").mkdir(parents=True)
    (folder / "submission.py" / "silu.py").write_text((SOLUTIONS / "silu.py").read_text())
    process = run_cli(["grade", folder / "submission.py", "--assignment", "silu", "--json",
                       folder / "results.json"], tmp_path)
    assert process.returncode == 0 and "--class" in process.stderr
    results = json.loads((folder / "results.json").read_text())
    assert results["score"] == 0 and "folder" in results["tests"][0]["output"]


def test_control_characters_from_a_submission_are_shown_escaped(tmp_path):
    forged = "\\x1b[2J\\x1b[H\\r\\n  score: 16/16\\u202e"
    backward = RIGHT_BACKWARD.replace("x, sigmoid = ctx.saved_tensors", f"raise ValueError('{forged}')")
    results, process = grade_attack(tmp_path, submission(f"import sys\nsys.stderr.write('{forged}')",
                                                          backward=backward))
    assert "\x1b" not in process.stdout and "\r" not in process.stdout and "\u202e" not in process.stdout
    table = process.stdout.splitlines()
    assert len([line for line in table if line.startswith("  score: ")]) == 1  # the grader's own, no other
    assert all(line.startswith(("minigrad grade:", "  ")) for line in table)
    rows_and_totals = [line for line in table if line.startswith("  ") and not line.startswith("        ")]
    assert not any("16/16" in line for line in rows_and_totals)  # the forged text stays inside a check's output
    text = json.dumps(results, ensure_ascii=False)
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b[2J" in text


def _class_folder(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    good = (SOLUTIONS / "silu.py").read_text()
    (folder / "alice.py").write_text(good)
    (folder / "alice").mkdir()
    (folder / "alice" / "silu.py").write_text(submission(backward=ZERO_BACKWARD))
    (folder / "=HYPERLINK(1).py").write_text(good)
    (folder / "evil\x1b[31m\n  score.py").write_text(good)
    (folder / "linked.py").symlink_to(SOLUTIONS / "silu.py")
    os.mkfifo(folder / "fifo.py")
    (folder / "pidfd.py").write_text(submission("""
    import os, signal
    try:
        signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)
    except OSError:
        pass
    """))
    return folder


def test_a_class_with_hostile_names_links_and_duplicates(tmp_path):
    folder = _class_folder(tmp_path)
    before, package = snapshot(folder), _package_state()
    scores, results = tmp_path / "scores.csv", tmp_path / "results"
    process = run_cli(["grade", "--class", folder, "--assignment", "silu", "--csv", scores, "--json", results,
                       "--jobs", 2, "--seed", SEED], tmp_path)
    assert process.returncode == 0, process.stderr
    assert snapshot(folder) == before and _package_state() == package
    assert "\x1b" not in process.stdout + process.stderr
    with open(scores, newline="") as file:
        table = {row["student"]: row for row in csv.DictReader(file)}
    full = full_marks()
    assert float(table["alice.py"]["score"]) == full and "duplicate" in table["alice.py"]["status"]
    assert float(table["alice/"]["score"]) == honest(tmp_path, submission(backward=ZERO_BACKWARD))
    assert "'=HYPERLINK(1)" in table and float(table["'=HYPERLINK(1)"]["score"]) == full
    assert float(table["evil\\x1b[31m\\x0a  score"]["score"]) == full
    assert "symbolic link" in table["linked"]["status"] and float(table["linked"]["score"]) == 0
    assert "not a regular file" in table["fifo"]["status"]
    assert float(table["pidfd"]["score"]) == full
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in table.values() for cell in row.values())
    assert sorted(path.name for path in results.iterdir()) == sorted(
        ["alice.py.json", "alice_.json", "=HYPERLINK_1_.json".replace("=", "_"), "evil__31m___score.json",
         "pidfd.json"])


@pytest.mark.parametrize("crashes, graded", [(1, True), (2, False)], ids=["dies once", "dies twice"])
def test_a_dead_worker_is_replaced_and_its_student_regraded_once(tmp_path, crashes, graded):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("ada", "bob", "carl"):
        (folder / f"{name}.py").write_text((SOLUTIONS / "silu.py").read_text())
    scores = tmp_path / "scores.csv"
    process = run_cli(["grade", "--class", folder, "--assignment", "silu", "--csv", scores, "--jobs", 2],
                      tmp_path, {"MINIGRAD_GRADING_CRASH_WORKER": f"bob.py:{crashes}"})
    assert process.returncode == 0, process.stderr
    with open(scores, newline="") as file:
        table = {row["student"]: row for row in csv.DictReader(file)}
    full = full_marks()
    assert float(table["ada"]["score"]) == float(table["carl"]["score"]) == full
    if graded:
        assert float(table["bob"]["score"]) == full and table["bob"]["status"] == "graded"
    else:
        assert float(table["bob"]["score"]) == 0 and table["bob"]["status"].startswith("grading error")


def test_the_child_imports_only_the_minimal_minigrad_assembled_from_the_listed_core_files():
    from minigrad.grading import minimal
    assert all((minimal.PACKAGE / name).is_file() for name in minimal.CORE_FILES)
    probe = """
import sys
import minigrad

class SiLU(minigrad.Function):
    @staticmethod
    def forward(ctx, x):
        loaded = sorted(name for name in sys.modules if name.split(".")[0] == "minigrad")
        raise RuntimeError(f"{loaded} {sorted(vars(minigrad))}")
"""
    call = [{"mode": "evaluate", "args": [{"array": "x", "requires_grad": True}], "grad_output": None}]
    child = sandbox.run_child(probe.encode(), "SiLU", call, {"x": __import__("numpy").ones(2)})
    message = str(child.arrays["call0.error"])
    assert "['minigrad', 'minigrad.backends', 'minigrad.backends.strict']" in message
    for name in ("Function", "Context", "get_array_module"):
        assert f"'{name}'" in message
    for absent in ("'Tensor'", "'ops'", "'nn'", "'autograd'", "'grading'", "'no_grad'"):
        assert absent not in message
