"""Submissions that try to raise their grade or damage the grader, each run through the real `minigrad grade`.

Each attack is a SiLU submission (the cheapest exercise to grade) whose honest part is known, plus the attack.
The test runs `python -m minigrad grade ATTACK.py --assignment silu --json results.json` in an instructor's
folder that also holds another student's file and a roster, and checks three things:

- the grade is exactly what the honest part earns: the same as grading the honest part alone with the same seed
  (an attack that fails changes nothing), or the documented zero for a file that cannot even load;
- the results.json in the folder is the grader's, with that score;
- every other file in the folder is byte-for-byte unchanged, and nothing new appeared but results.json.
"""

import json
import textwrap
import time

import pytest

from minigrad.grading.grader import grade
from tests.grading.conftest import SOLUTIONS, run_minigrad, snapshot

SEED = 31337
FORWARD = '''
    @staticmethod
    def forward(ctx, x):
        xp = minigrad.get_array_module(x)
        decay = xp.exp(-xp.abs(x))
        sigmoid = xp.where(x >= 0, 1 / (1 + decay), decay / (1 + decay))
        ctx.save_for_backward(x, sigmoid)
        return x * sigmoid
'''
RIGHT_BACKWARD = '''
    @staticmethod
    def backward(ctx, grad_output):
        x, sigmoid = ctx.saved_tensors
        return grad_output * sigmoid * (1 + x * (1 - sigmoid))
'''
ZERO_BACKWARD = '''
    @staticmethod
    def backward(ctx, grad_output):
        x, sigmoid = ctx.saved_tensors
        return 0 * x
'''


def submission(prelude="", forward=FORWARD, backward=RIGHT_BACKWARD):
    """A SiLU submission: `prelude` runs at import, then the class with the given methods."""
    return ("import minigrad\nimport numpy\n\n" + textwrap.dedent(prelude) + "\n\nclass SiLU(minigrad.Function):"
            + forward + backward)


def grade_through_the_command(folder, source, timeout=3, memory=512):
    """Write `source` into the folder, grade it with the real command, return (results, process)."""
    path = folder / "attack.py"
    path.write_text(source)
    before = snapshot(folder)
    process = run_minigrad("grade", path, "--assignment", "silu", "--json", folder / "results.json",
                           "--seed", SEED, "--timeout", timeout, "--memory", memory, cwd=folder)
    assert process.returncode == 0, process.stderr
    time.sleep(0.3)  # anything left running in the background would strike now
    after = snapshot(folder)
    results = json.loads(after.pop("results.json"))
    assert after == before, f"the grading folder changed: {sorted(set(after) ^ set(before))}"
    return results, process


def honest_score(folder, source):
    path = folder.parent / "honest.py"
    path.write_text(source)
    return grade(path, "silu", seed=SEED).score


def rows(results):
    return {test["name"]: test for test in results["tests"]}


FULL_MARKS = None  # filled in lazily: the solution's score


def full_marks():
    global FULL_MARKS
    if FULL_MARKS is None:
        FULL_MARKS = grade(SOLUTIONS / "silu.py", "silu", seed=SEED).max_score
    return FULL_MARKS


def test_monkeypatching_gradcheck_allclose_and_the_grader_changes_nothing(grading_folder):
    prelude = """
    minigrad.gradcheck = lambda *args, **kwargs: True
    try:  # minigrad's engine does not exist for a submission
        minigrad.autograd.gradcheck.gradcheck = lambda *args, **kwargs: True
    except AttributeError:
        pass
    numpy.allclose = lambda *args, **kwargs: True
    numpy.isclose = lambda a, b, **kwargs: numpy.ones(numpy.shape(a), dtype=bool)
    try:
        import numpy.testing  # refused in the sandbox: it imports subprocess
        numpy.testing.assert_allclose = lambda *args, **kwargs: None
    except ImportError:
        pass
    try:
        import minigrad.grading.grader as grader
        grader.mismatch = lambda *args, **kwargs: None
    except ImportError:
        pass
    """
    results, _ = grade_through_the_command(grading_folder, submission(prelude, backward=ZERO_BACKWARD))
    honest = honest_score(grading_folder, submission(backward=ZERO_BACKWARD))
    assert results["score"] == honest < full_marks()
    assert rows(results)["gradient of x on hidden inputs"]["status"] == "failed"


def test_importing_or_reading_the_reference_is_refused(grading_folder):
    prelude = f"""
    import sys
    found = []
    for attempt in (lambda: __import__("minigrad.grading.references.silu", fromlist=["reference"]).reference,
                    lambda: __import__("torch").nn.functional.silu,
                    lambda: __import__("minigrad.nn.functional", fromlist=["silu"]),
                    lambda: minigrad.nn,
                    lambda: open({str(SOLUTIONS / "silu.py")!r}).read(),
                    lambda: __import__("autograd"),
                    lambda: [c for c in minigrad.Function.__subclasses__() if c.__name__ == "SiLU"][0]):
        try:
            found.append(attempt())
        except Exception as error:
            print("refused:", error, file=sys.stderr)
    assert not found, found  # the file fails to load if any attempt got through
    """
    wrong_forward = FORWARD.replace("return x * sigmoid", "return x")  # the honest part is wrong
    results, _ = grade_through_the_command(grading_folder, submission(prelude, forward=wrong_forward))
    honest = honest_score(grading_folder, submission(forward=wrong_forward))
    assert rows(results)["loads, and defines SiLU as a minigrad.Function"]["status"] == "passed"
    assert results["score"] == honest < full_marks()


def test_printing_a_fake_score_prints_nothing_the_grader_reads(grading_folder):
    prelude = """
    import json, sys
    fake = {"score": 1000, "tests": [{"name": "everything", "score": 1000, "max_score": 1000}]}
    print(json.dumps(fake))
    print("score: 12/12")
    sys.stderr.write(json.dumps(fake))
    """
    stub_forward = FORWARD.replace("xp = minigrad", "raise NotImplementedError('silu')\n        xp = minigrad")
    results, process = grade_through_the_command(grading_folder, submission(prelude, forward=stub_forward))
    assert results["score"] == 0
    assert '"score": 1000' not in process.stdout and "score: 12/12" not in process.stdout
    assert "score: 0/" in process.stdout


def test_writing_results_json_or_a_result_file_itself_is_refused(grading_folder):
    prelude = f"""
    import json, os
    fake = json.dumps({{"score": 1000, "tests": []}})
    for path in ({str(grading_folder / "results.json")!r}, "results.json", "result-0.npz",
                 "/autograder/results/results.json"):
        try:
            with open(path, "w") as file:
                file.write(fake)
        except OSError:
            pass
    try:
        numpy.savez("result.npz", output=numpy.zeros(3))
    except OSError:
        pass
    """
    results, _ = grade_through_the_command(grading_folder, submission(prelude, backward=ZERO_BACKWARD))
    assert results["score"] == honest_score(grading_folder, submission(backward=ZERO_BACKWARD)) < full_marks()


def test_sys_exit_at_import_scores_zero_with_a_clear_message(grading_folder):
    results, _ = grade_through_the_command(grading_folder, submission("import sys\nsys.exit(0)"))
    assert results["score"] == 0
    assert "sys.exit(0)" in results["tests"][0]["output"]


def test_sys_exit_in_backward_keeps_the_forward_points(grading_folder):
    backward = RIGHT_BACKWARD.replace("x, sigmoid = ctx.saved_tensors", "import sys; sys.exit(0)")
    results, _ = grade_through_the_command(grading_folder, submission(backward=backward))
    assert results["score"] == honest_score(grading_folder, submission(backward=backward))
    table = rows(results)
    assert table["forward on hidden inputs"]["status"] == "passed"
    assert table["public: forward on the published example"]["status"] == "passed"
    assert "sys.exit(0)" in table["gradient of x on hidden inputs"]["output"]


def test_os_exit_in_backward_costs_only_the_checks_that_call_backward(grading_folder):
    backward = RIGHT_BACKWARD.replace("x, sigmoid = ctx.saved_tensors", "import os; os._exit(0)")
    results, _ = grade_through_the_command(grading_folder, submission(backward=backward))
    table = rows(results)
    assert table["forward on hidden inputs"]["status"] == "passed"
    assert results["score"] == table["forward on hidden inputs"]["max_score"]  # every other row calls backward
    assert "os._exit" in table["gradient of x on hidden inputs"]["output"]


def test_an_infinite_loop_in_backward_times_out_only_the_checks_that_call_backward(grading_folder):
    backward = RIGHT_BACKWARD.replace("x, sigmoid = ctx.saved_tensors", "while True:\n            pass")
    results, _ = grade_through_the_command(grading_folder, submission(backward=backward), timeout=1.5)
    table = rows(results)
    assert table["forward on hidden inputs"]["status"] == "passed"
    assert results["score"] == table["forward on hidden inputs"]["max_score"]
    assert "timed out" in table["gradient of x on hidden inputs"]["output"]


def test_unbounded_memory_is_stopped_at_the_limit(grading_folder):
    backward = RIGHT_BACKWARD.replace("x, sigmoid = ctx.saved_tensors",
                                      "hoard = []\n        while True:\n            hoard.append(numpy.ones(10**7))")
    # a generous timeout: filling memory page by page is slow on a loaded machine, and this test is about memory
    results, _ = grade_through_the_command(grading_folder, submission(backward=backward), timeout=30, memory=300)
    table = rows(results)
    forward_only = ["public: forward on the published example", "forward on hidden inputs"]
    assert all(table[name]["status"] == "passed" for name in forward_only)
    assert results["score"] == sum(table[name]["max_score"] for name in forward_only)
    assert "MemoryError" in table["gradient of x on hidden inputs"]["output"]


def test_raising_at_import_scores_zero_with_the_error(grading_folder):
    results, _ = grade_through_the_command(grading_folder, submission("raise RuntimeError('not today')"))
    assert results["score"] == 0
    assert "RuntimeError: not today" in results["tests"][0]["output"]
    assert all(test["output"].startswith("not run") for test in results["tests"][1:])


def test_deleting_or_overwriting_the_grading_folder_is_refused(grading_folder):
    folder = str(grading_folder)
    prelude = f"""
    import os, shutil
    folder = {folder!r}
    for attempt in (lambda: os.remove(os.path.join(folder, "other_student.py")),
                    lambda: open(os.path.join(folder, "other_student.py"), "w").write("# gone"),
                    lambda: open(os.path.join(folder, "roster.csv"), "a").write("mallory,1000"),
                    lambda: os.rename(os.path.join(folder, "roster.csv"), os.path.join(folder, "x")),
                    lambda: os.truncate(os.path.join(folder, "roster.csv"), 0),
                    lambda: os.chmod(folder, 0),
                    lambda: os.symlink("/etc/passwd", os.path.join(folder, "link")),
                    lambda: shutil.rmtree(folder),
                    lambda: os.remove("submission.py"),
                    lambda: open(os.path.join(folder, "other_student.py")).read()):
        try:
            attempt()
        except Exception:
            pass
    """
    results, _ = grade_through_the_command(grading_folder, submission(prelude))
    assert results["score"] == full_marks()


def test_processes_signals_and_ctypes_are_refused(grading_folder):
    folder = str(grading_folder)
    prelude = f"""
    import os, signal
    victim = os.path.join({folder!r}, "roster.csv")
    attempts = [lambda: os.system("sleep 0.1; echo mallory >> " + victim),
                lambda: __import__("subprocess").Popen(["sh", "-c", "sleep 0.1; rm " + victim]),
                lambda: os.fork(),
                lambda: os.kill(os.getppid(), signal.SIGKILL),
                lambda: os.killpg(0, signal.SIGKILL),
                lambda: __import__("ctypes").CDLL(None).system(b"rm " + victim.encode()),
                lambda: __import__("resource").setrlimit(__import__("resource").RLIMIT_AS, (-1, -1))]
    for attempt in attempts:
        try:
            attempt()
        except Exception:
            pass
    """
    results, _ = grade_through_the_command(grading_folder, submission(prelude))
    assert results["score"] == full_marks()


@pytest.mark.parametrize("attack", ["import torch", "from minigrad.nn import functional",
                                    "import minigrad.grading"])
def test_a_forbidden_import_at_top_level_fails_to_load(attack, tmp_path):
    path = tmp_path / "attack.py"
    path.write_text(submission(attack))
    report = grade(path, "silu", seed=SEED)
    assert report.score == 0
    assert "may not import" in report.checks[0].output
