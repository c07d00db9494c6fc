"""Helpers for the grading tests: where the solutions, stubs and bugs are, and running the real command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SOLUTIONS = REPOSITORY / "minigrad" / "grading" / "solutions"
RELEASE = REPOSITORY / "lessons" / "exercises"
BUGS = Path(__file__).resolve().parent / "bugs"


def run_minigrad(*arguments, cwd=None, timeout=300, env=None):
    """Run `python -m minigrad ARGUMENTS` as a student or an instructor would; return the CompletedProcess.
    `env` adds variables to the environment."""
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "minigrad", *map(str, arguments)], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def grading_folder(tmp_path):
    """An instructor's folder: another student's submission and a roster that a submission might try to damage."""
    folder = tmp_path / "grading"
    folder.mkdir()
    (folder / "other_student.py").write_text((SOLUTIONS / "silu.py").read_text())
    (folder / "roster.csv").write_text("student,email\nada,ada@example.org\n")
    return folder


def snapshot(folder):
    """{relative path: bytes} of every file under `folder`: compared before and after grading."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(Path(folder).rglob("*"))
            if path.is_file()}
