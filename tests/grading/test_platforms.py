"""Gradescope and PrairieLearn, end to end from the generated files.

`minigrad autograder gradescope` writes the zip; here it is unpacked into a temporary folder laid out as
Gradescope lays out /autograder (source/, submission/, results/, submission_metadata.json), `setup.sh` builds
its virtual environment once for the whole test session (shared by the xdist workers through a lock), and
`run_autograder` grades a correct, a buggy, a missing, a notebook and a hostile submission. `minigrad autograder
prairielearn` is run the same way in a folder laid out as /grade (student/, tests/, results/), with the same
environment's Python standing in for the image's. The roots come from $MINIGRAD_AUTOGRADER_ROOT.
"""

import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from filelock import FileLock

from minigrad.grading import lms, release
from tests.grading.conftest import BUGS, SOLUTIONS, run_minigrad

TASK = "layernorm"
HOSTILE = '''
attempts = []
for attack in (
        lambda: open("{root}/results/results.json", "w").write('{{"score": 1000}}'),
        lambda: open("{root}/pwned", "w").write("x"),
        lambda: attempts.append(open(next(name for name in __import__("os").listdir("{root}/source")
                                          if name.endswith(".whl")), "rb").read(10)),
        lambda: __import__("minigrad.grading.references.layernorm"),
        lambda: __import__("os").system("touch {root}/pwned"),
        lambda: __import__("subprocess").run(["touch", "{root}/pwned"])):
    try:
        attack()
        attempts.append("an attack got through")
    except BaseException:
        pass
print(\'{{"score": 1000, "tests": []}}\', attempts)
'''


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    """(the generated files, the virtual environment's bin folder): built once per session, by setup.sh."""
    base = tmp_path_factory.getbasetemp()  # under xdist, one folder per worker inside the session's folder
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "minigrad-platforms"
    with FileLock(str(shared) + ".lock"):
        if not (shared / "ready").is_file():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir()
            wheel = lms.build_wheel(shared / "wheel")
            lms.gradescope(TASK, shared / "autograder.zip", wheel=wheel)
            lms.prairielearn(TASK, shared / "prairielearn", wheel=wheel)
            root = shared / "autograder"
            with zipfile.ZipFile(shared / "autograder.zip") as archive:
                archive.extractall(root / "source")
            started = time.perf_counter()
            setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], capture_output=True, text=True,
                                   env=dict(os.environ, MINIGRAD_AUTOGRADER_ROOT=str(root)), timeout=900)
            assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
            (shared / "setup_seconds").write_text(f"{time.perf_counter() - started:.1f}")
            (shared / "ready").write_text("")
    return shared


def _gradescope_root(platform, tmp_path):
    """A fresh /autograder for one submission, sharing the environment setup.sh built."""
    root = tmp_path / "autograder"
    root.mkdir()
    shutil.copytree(platform / "autograder" / "source", root / "source")
    (root / "minigrad-venv").symlink_to(platform / "autograder" / "minigrad-venv")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps({"id": 1, "users": [{"email": "ada@example.org"}]}))
    shutil.copyfile(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    return root


def _run(script, root, extra_path=None, timeout=120, **variables):
    environment = dict(os.environ, MINIGRAD_AUTOGRADER_ROOT=str(root), OPENBLAS_NUM_THREADS="1", **variables)
    if extra_path:
        environment["PATH"] = f"{extra_path}{os.pathsep}{environment['PATH']}"
    started = time.perf_counter()
    process = subprocess.run([str(script)], capture_output=True, text=True, env=environment, timeout=timeout)
    return process, time.perf_counter() - started


def _submit(folder, kind, root):
    if kind == "correct":
        shutil.copyfile(SOLUTIONS / f"{TASK}.py", folder / f"{TASK}.py")
    elif kind == "buggy":
        shutil.copyfile(BUGS / "layernorm_missing_mean_term.py", folder / "my_layernorm.py")
    elif kind == "notebook":
        (folder / release.NOTEBOOK).write_text(release.notebook_json(solved=True))
    elif kind == "hostile":
        stub = (SOLUTIONS / f"{TASK}.py").read_text().replace("xp = minigrad.get_array_module(x)\n",
                                                               "raise NotImplementedError('not done')\n", 1)
        (folder / f"{TASK}.py").write_text(HOSTILE.format(root=root) + stub)
    elif kind == "syntax error":
        (folder / f"{TASK}.py").write_text("import minigrad\n\nclass LayerNorm(minigrad.Function)\n")
    # "missing": nothing is submitted


@pytest.mark.parametrize("kind", ["correct", "buggy", "missing", "notebook", "hostile"])
def test_gradescope_run_autograder_grades_from_the_generated_zip(platform, tmp_path, kind):
    root = _gradescope_root(platform, tmp_path)
    _submit(root / "submission", kind, root)
    process, _ = _run(root / "run_autograder", root)
    assert process.returncode == 0, process.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    full = sum(test["max_score"] for test in results["tests"])
    assert full > 0 and results["tests"][0]["name"].startswith("loads")
    if kind in ("correct", "notebook"):
        assert results["score"] == full, process.stdout
    elif kind == "buggy":
        assert 0 < results["score"] < full
        assert any("path through the mean mu is missing" in test["output"] for test in results["tests"])
    elif kind == "missing":
        assert results["score"] == 0 and "no .py or .ipynb file" in results["tests"][0]["output"]
    else:  # hostile: every attack refused, the grade is the honest part's (a stub: zero), results.json the grader's
        assert results["score"] == 0 and results["tests"][0]["status"] == "passed", results["tests"][0]["output"]
        assert not (root / "pwned").exists() and "an attack got through" not in results["output"]
        assert '| {"score": 1000, "tests": []} []' in results["output"]  # its own print, shown as such
    if kind == "notebook":
        assert "not run: IPython syntax" in results["output"]
    assert "isolation: landlock, seccomp, user" in process.stdout  # --strict: it graded with every layer


def test_gradescope_strict_refuses_without_a_layer_and_still_writes_results(platform, tmp_path):
    root = _gradescope_root(platform, tmp_path)
    _submit(root / "submission", "correct", root)
    process, _ = _run(root / "run_autograder", root, MINIGRAD_GRADING_WITHOUT="landlock")
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "autograder failed" in results["output"] and "exit status 3" in results["output"]
    assert "refusing to grade" in process.stderr


def test_gradescope_zip_holds_the_scripts_and_the_wheel(platform):
    with zipfile.ZipFile(platform / "autograder.zip") as archive:
        names = archive.namelist()
        run_autograder = archive.read("run_autograder").decode()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder"} <= set(names)
    assert any(name.startswith("minigrad-") and name.endswith(".whl") for name in names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "--student-folder" in run_autograder and f"--assignment {TASK} --strict" in run_autograder


def _prairielearn_root(platform, tmp_path):
    root = tmp_path / "grade"
    shutil.copytree(platform / "prairielearn" / "question" / "tests", root / "tests")
    (root / "student").mkdir()
    (root / "data").mkdir()
    (root / "data" / "data.json").write_text("{}")
    return root


@pytest.mark.parametrize("kind", ["correct", "buggy", "missing", "syntax error", "notebook"])
def test_prairielearn_entry_point_grades_from_the_generated_folder(platform, tmp_path, kind):
    root = _prairielearn_root(platform, tmp_path)
    _submit(root / "student", kind, root)
    process, seconds = _run(root / "tests" / "run.sh", root, extra_path=platform / "autograder" / "minigrad-venv" /
                            "bin")
    assert process.returncode == 0, process.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    if kind in ("missing", "syntax error"):  # not gradable: PrairieLearn charges no attempt
        assert results["gradable"] is False and results["format_errors"]
        assert ("no .py or .ipynb file" if kind == "missing" else "SyntaxError") in results["format_errors"][0]
        return
    assert results["gradable"] is True and 0 <= results["score"] <= 1
    assert {"name", "description", "points", "max_points", "message", "output"} <= set(results["tests"][0])
    earned = sum(test["points"] for test in results["tests"])
    assert results["score"] == pytest.approx(earned / sum(test["max_points"] for test in results["tests"]), 1e-3)
    assert results["score"] == (pytest.approx(1.0) if kind != "buggy" else pytest.approx(results["score"]))
    if kind == "buggy":
        assert 0 < results["score"] < 1
    assert seconds < 30


def test_prairielearn_fits_its_30_seconds_when_every_check_hangs(platform, tmp_path):
    root = _prairielearn_root(platform, tmp_path)
    hanging = (SOLUTIONS / f"{TASK}.py").read_text().replace("xp = minigrad.get_array_module(x)\n",
                                                            "while True:\n            pass\n", 1)
    (root / "student" / f"{TASK}.py").write_text(hanging)
    process, seconds = _run(root / "tests" / "run.sh", root, extra_path=platform / "autograder" / "minigrad-venv" /
                            "bin")
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["gradable"] is True and results["score"] == 0
    assert "timed out" in json.dumps(results["tests"])
    assert seconds < 30, f"{seconds:.1f} s"


def test_prairielearn_folder_has_the_dockerfile_the_question_and_the_entry_point(platform):
    folder = platform / "prairielearn"
    dockerfile = (folder / "image" / "Dockerfile").read_text()
    wheel = next((folder / "image").glob("minigrad-*.whl"))
    assert "FROM python:3.12-slim" in dockerfile and f"COPY {wheel.name}" in dockerfile
    info = json.loads((folder / "question" / "info.json").read_text())
    options = info["externalGradingOptions"]
    assert options["entrypoint"] == "/grade/tests/run.sh" and options["timeout"] == 30
    assert "enableNetworking" not in options  # no network, PrairieLearn's default
    assert os.access(folder / "question" / "tests" / "run.sh", os.X_OK)
    assert f'optional-file-names="{TASK}.py,{TASK}.ipynb"' in (folder / "question" / "question.html").read_text()


def test_grade_writes_prairielearn_results_directly(tmp_path):
    results = tmp_path / "pl" / "results.json"
    process = run_minigrad("grade", BUGS / "layernorm_missing_variance_term.py", "--assignment", TASK,
                           "--prairielearn", results)
    assert process.returncode == 0, process.stderr
    data = json.loads(results.read_text())
    assert data["gradable"] is True and 0 < data["score"] < 1 and data["message"].startswith(f"{TASK}: ")
    failing = [test for test in data["tests"] if test["points"] < test["max_points"]]
    assert failing and all(test["message"] != "passed" for test in failing)
    assert any("path through the variance" in test["message"] for test in failing)
    wrong_class = tmp_path / "wrong.py"
    wrong_class.write_text("import minigrad\n\nclass LayerNormal(minigrad.Function):\n    pass\n")
    run_minigrad("grade", wrong_class, "--assignment", TASK, "--prairielearn", results)
    data = json.loads(results.read_text())
    assert data["gradable"] is False and "defines no 'LayerNorm'" in data["format_errors"][0]


def test_the_autograder_command_writes_both(tmp_path):
    process = run_minigrad("autograder", "gradescope", "--assignment", "silu", "--out", tmp_path / "ag.zip")
    assert process.returncode == 0, process.stderr
    assert "--assignment silu" in zipfile.ZipFile(tmp_path / "ag.zip").read("run_autograder").decode()
    process = run_minigrad("autograder", "prairielearn", "--assignment", "silu", "--out", tmp_path / "pl")
    assert process.returncode == 0 and "--assignment silu" in (tmp_path / "pl/question/tests/run.sh").read_text()
