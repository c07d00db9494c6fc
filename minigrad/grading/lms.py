"""Course platforms: what to upload to Gradescope and PrairieLearn, and PrairieLearn's results format.

Both platforms run one container per submission and read one ``results.json``:

- **Gradescope**: ``minigrad autograder gradescope --assignment NAME --out autograder.zip`` writes the zip an
  instructor uploads. Gradescope unpacks it into ``/autograder/source/``, runs ``setup.sh`` once when it builds the
  image, then ``run_autograder`` once per submission, with the student's files in ``/autograder/submission/``;
  the score goes to ``/autograder/results/results.json`` (:meth:`GradeReport.gradescope`).
- **PrairieLearn**: ``minigrad autograder prairielearn --assignment NAME --out DIR`` writes a Dockerfile for the
  grader image and a question folder whose ``tests/run.sh`` is the entry point: PrairieLearn puts the student's
  files in ``/grade/student/`` and reads ``/grade/results/results.json`` (:func:`prairielearn_results`).

Each ships a wheel built from this checkout, so the grader that runs on the platform is exactly this one. The
scripts take their root from ``$MINIGRAD_AUTOGRADER_ROOT`` (default ``/autograder`` or ``/grade``), which is how
the tests run them end to end in a temporary folder laid out as the platform lays it out. Both grade with
``--strict`` and write a results file even when the grader itself fails, so a student never sees a bare platform
error.
"""

import json
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path

from minigrad.grading import spec

ROOT_VARIABLE = "MINIGRAD_AUTOGRADER_ROOT"
REPOSITORY = Path(__file__).resolve().parents[2]
# PrairieLearn kills a job after 30 s by default; a submission that hangs in every check group costs one timeout
# per group, two groups at a time, so each group gets a few seconds (a correct op needs well under one).
PRAIRIELEARN_GROUP_TIMEOUT_S = 3
PRAIRIELEARN_MEMORY_MB = 512
PRAIRIELEARN_RESULTS_BYTES = 900_000  # PrairieLearn's limit is 1 MB


# --- the wheel ----------------------------------------------------------------------------------------------------
def build_wheel(out_dir):
    """Build minigrad's wheel from this checkout into `out_dir`; return its path.

    The package is copied to a scratch folder first, so the build leaves nothing in the checkout and two builds can
    run at once. With setuptools installed here the build needs no network; without it pip fetches setuptools."""
    if not (REPOSITORY / "pyproject.toml").is_file():
        raise RuntimeError(f"no pyproject.toml at {REPOSITORY}: build the autograder from a checkout of minigrad")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="minigrad-wheel-") as scratch:
        source = Path(scratch) / "minigrad-source"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copyfile(REPOSITORY / name, source / name)
        shutil.copytree(REPOSITORY / "minigrad", source / "minigrad",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "results"))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out_dir)]
        try:
            import setuptools  # noqa: F401  (only whether it is there)
            command.append("--no-build-isolation")
        except ImportError:
            pass
        built = subprocess.run(command + [str(source)], capture_output=True, text=True)
        if built.returncode != 0:
            raise RuntimeError(f"building minigrad's wheel failed:\n{built.stderr[-2000:]}")
    wheels = sorted(out_dir.glob("minigrad-*.whl"), key=lambda path: path.stat().st_mtime)
    return wheels[-1]


# --- Gradescope ---------------------------------------------------------------------------------------------------
GRADESCOPE_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: install minigrad from the wheel
# shipped beside this script, with its dependencies, in a virtual environment of its own.
set -euo pipefail
ROOT="${{MINIGRAD_AUTOGRADER_ROOT:-/autograder}}"
if ! python3 -c "import ctypes.util, ensurepip, venv; assert ctypes.util.find_library('seccomp')" 2>/dev/null; then
    apt-get update -q && apt-get install -y -q python3 python3-venv python3-pip libseccomp2  # seccomp's library
fi
python3 -m venv "$ROOT/minigrad-venv"
"$ROOT/minigrad-venv/bin/python" -m pip install --quiet --disable-pip-version-check \\
    "$ROOT/source/{wheel}[grading]"
"$ROOT/minigrad-venv/bin/python" -m minigrad exercises > /dev/null
"""

GRADESCOPE_RUN = """\
#!/usr/bin/env bash
# Gradescope runs this once per submission: grade the student's file in submission/ ({assignment}) into
# results/results.json. The file is named {assignment}.py or {assignment}.ipynb, or is the only one there.
ROOT="${{MINIGRAD_AUTOGRADER_ROOT:-/autograder}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
"$ROOT/minigrad-venv/bin/python" -m minigrad grade "$ROOT/submission" --student-folder \\
    --assignment {assignment} --strict --hidden-visibility {visibility} --jobs 2 --json "$RESULTS"
status=$?
if [ ! -s "$RESULTS" ]; then  # the grader itself failed: say so rather than leave Gradescope without results
    message="The autograder failed before it could grade this submission (exit status $status); tell your instructor."
    printf '{{"score": 0, "output": "%s", "tests": []}}\\n' "$message" > "$RESULTS"
fi
exit 0
"""


def gradescope(assignment, out, hidden_visibility="after_published", wheel=None):
    """Write Gradescope's autograder zip for `assignment` to `out`; return its path."""
    task = spec.get(assignment)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="minigrad-gradescope-") as scratch:
        wheel = Path(wheel) if wheel else build_wheel(scratch)
        files = {"setup.sh": GRADESCOPE_SETUP.format(wheel=wheel.name),
                 "run_autograder": GRADESCOPE_RUN.format(assignment=task.task, visibility=hidden_visibility)}
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                _add(archive, name, text.encode(), executable=True)
            _add(archive, wheel.name, wheel.read_bytes())
    return out


def _add(archive, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same checkout gives the same zip
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    archive.writestr(info, data)


# --- PrairieLearn -------------------------------------------------------------------------------------------------
PRAIRIELEARN_DOCKERFILE = """\
# The grader image for minigrad's exercises on PrairieLearn. Build and push it once per course:
#     docker build -t YOUR_NAME/minigrad-grader . && docker push YOUR_NAME/minigrad-grader
# then put that name in each question's info.json ("image"). The image needs no network when it grades.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends libseccomp2 && rm -rf /var/lib/apt/lists/*
COPY {wheel} /opt/minigrad/
RUN python -m pip install "/opt/minigrad/{wheel}[grading]" && python -m minigrad exercises > /dev/null
"""

PRAIRIELEARN_RUN = """\
#!/usr/bin/env bash
# PrairieLearn runs this once per submission (the question's "entrypoint"): grade the student's file in
# /grade/student/ ({assignment}) into /grade/results/results.json. Each check group may take
# {timeout} s, so even a submission that hangs everywhere finishes inside the job's 30 s.
ROOT="${{MINIGRAD_AUTOGRADER_ROOT:-/grade}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
python3 -m minigrad grade "$ROOT/student" --student-folder --assignment {assignment} --strict --jobs 2 \\
    --timeout {timeout} --memory {memory} --prairielearn "$RESULTS"
status=$?
if [ ! -s "$RESULTS" ]; then  # the grader itself failed: not the student's fault, so no attempt is charged
    message="The grader failed before it could grade this submission (exit status $status); tell your instructor."
    printf '{{"gradable": false, "format_errors": ["%s"]}}\\n' "$message" > "$RESULTS"
fi
exit 0
"""

PRAIRIELEARN_QUESTION = """\
<pl-question-panel>
  <p>{title}.</p>
  <p>Write <code>class {function}(minigrad.Function)</code> in <code>{task}.py</code> (or in the exercises
  notebook, uploaded as <code>{task}.ipynb</code>) and upload it. Check it first on your machine with
  <code>minigrad check {task}.py --assignment {task}</code>; <code>minigrad hint {task}</code> gives hints.</p>
</pl-question-panel>

<pl-file-upload optional-file-names="{task}.py,{task}.ipynb"></pl-file-upload>

<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
"""


def prairielearn(assignment, out, wheel=None):
    """Write the PrairieLearn grader image and question for `assignment` into the folder `out`; return the paths.

    ``out/image/`` holds the Dockerfile and the wheel (one image serves every exercise of a course);
    ``out/question/`` is a question folder: ``info.json`` (external grading with the image, 30 s, no network),
    ``question.html`` (a file upload) and ``tests/run.sh``, the entry point."""
    task = spec.get(assignment)
    out = Path(out)
    image, question = out / "image", out / "question"
    (question / "tests").mkdir(parents=True, exist_ok=True)
    image.mkdir(parents=True, exist_ok=True)
    for old in image.glob("minigrad-*.whl"):
        old.unlink()
    wheel = shutil.copy(wheel, image) if wheel else build_wheel(image)
    info = {"uuid": str(uuid.uuid4()), "title": task.title, "topic": "Autodiff", "tags": ["minigrad", task.task],
            "type": "v3", "singleVariant": True, "gradingMethod": "External",
            "externalGradingOptions": {"enabled": True, "image": "YOUR_NAME/minigrad-grader",
                                       "entrypoint": "/grade/tests/run.sh", "timeout": 30}}
    files = {image / "Dockerfile": PRAIRIELEARN_DOCKERFILE.format(wheel=Path(wheel).name),
             question / "info.json": json.dumps(info, indent=2) + "\n",
             question / "question.html": PRAIRIELEARN_QUESTION.format(title=task.title, function=task.function,
                                                                      task=task.task),
             question / "tests" / "run.sh": PRAIRIELEARN_RUN.format(assignment=task.task,
                                                                    timeout=PRAIRIELEARN_GROUP_TIMEOUT_S,
                                                                    memory=PRAIRIELEARN_MEMORY_MB)}
    for path, text in files.items():
        path.write_text(text)
    (question / "tests" / "run.sh").chmod(0o755)
    return [Path(wheel), *files]


def prairielearn_results(report):
    """PrairieLearn's results.json for a :class:`~minigrad.grading.grader.GradeReport`.

    A file that does not load, or does not define the class, is not gradable (``gradable: false`` with
    ``format_errors``): PrairieLearn then charges no attempt, as for a syntax error. Otherwise ``score`` is the
    fraction of the points earned, and every check is one entry of ``tests``."""
    from minigrad.grading import feedback
    load = report.checks[0]
    output = feedback.student_output(report)
    if not load.passed:
        return {"gradable": False, "format_errors": [_capped(load.output, 4000)],
                "message": f"{Path(report.submission).name} could not be graded: fix the problem below and submit "
                           "again (this attempt does not count).", "output": _capped(output, 20_000)}
    tests = [{"name": check.name, "description": _description(check), "points": check.score,
              "max_points": check.max_score, "message": "passed" if check.passed else _capped(check.output, 8000),
              "output": ""} for check in report.checks[1:]]
    score = report.score / report.max_score if report.max_score else 0.0
    results = {"gradable": True, "score": round(min(1.0, max(0.0, score)), 4),
               "message": f"{report.assignment}: {report.score:g}/{report.max_score:g} points",
               "output": _capped(output, 20_000), "tests": tests}
    while len(json.dumps(results)) > PRAIRIELEARN_RESULTS_BYTES and any(test["message"] for test in tests):
        longest = max(tests, key=lambda test: len(test["message"]))
        longest["message"] = _capped(longest["message"], len(longest["message"]) // 2)
    return results


_DESCRIPTIONS = {"public": "the published example that `minigrad check` runs",
                 "public: CuPy-like backend": "the published example on minigrad's strict (CuPy-like) backend",
                 "forward": "your forward on inputs drawn when grading",
                 "gradients": "your gradient against the reference, on inputs drawn when grading",
                 "gradcheck": "your backward against finite differences of your own forward",
                 "bptt": "your cell unrolled over a sequence and backpropagated through time"}


def _description(check):
    if check.group.startswith("edge: "):
        return f"an edge case: {check.group[len('edge: '):]}"
    return _DESCRIPTIONS.get(check.group, check.group)


def _capped(text, limit):
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} characters not shown]"


def write_results(path, data):
    """Write a results file, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


__all__ = ["build_wheel", "gradescope", "prairielearn", "prairielearn_results", "write_results"]
