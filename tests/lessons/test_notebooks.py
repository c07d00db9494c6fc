"""Run every lesson notebook from a clean kernel, so each lesson's claim is checked on every test run.

Each ``lessons/NN_*.ipynb`` ends with assertion cells that test the lesson's claim against a measured number;
executing the notebook top to bottom is therefore the test. Each lesson then ends with an exercise and a
self-check (see :mod:`minigrad.lesson_release`): the self-check must pass with the solution in place, and fail
once the solution is stripped as in the student release. The notebooks are executed in memory and never
written back: the committed files stay stripped of outputs (checked below), so their diffs stay readable.

The kernel inherits this process's environment, so ``MINIGRAD_BACKEND=strict`` (or ``cupy``) runs the lessons on
that backend. BLAS is pinned to one thread so that two notebooks under pytest-xdist share two cores without
oversubscribing them, and matplotlib draws off-screen.
"""

import re
from pathlib import Path

import nbformat
import pytest

from minigrad.lesson_release import has_solution, is_self_check, strip_solutions

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9]*.ipynb"))  # lessons/exercises/ holds student exercises, not lessons
CELL_TIMEOUT_S = 600  # generous: a lesson takes under two minutes on a 2-core CPU in total
QUIET_ENVIRONMENT = {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                     "MKL_NUM_THREADS": "1"}
ALLOWED_NOTEBOOK_METADATA = {"kernelspec", "language_info"}


def test_the_lessons_are_numbered_in_order():
    numbers = [int(re.match(r"(\d+)_", path.name).group(1)) for path in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)), [path.name for path in NOTEBOOKS]
    assert len(NOTEBOOKS) >= 17, "the course has seventeen lessons"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_stripped(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    unexpected = set(notebook.metadata) - ALLOWED_NOTEBOOK_METADATA
    assert not unexpected, f"{path.name}: notebook metadata {sorted(unexpected)} should be stripped"
    for index, cell in enumerate(notebook.cells):
        where = f"{path.name}, cell {index}"
        assert not cell.metadata, f"{where}: cell metadata {dict(cell.metadata)} should be stripped"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{where}: outputs should be stripped before committing"
            assert cell.execution_count is None, f"{where}: execution count should be stripped"


SHOWS_THE_FAST_PATH = {"03_layernorm_backward"}  # compares the fast LayerNorm with the plain one on purpose


@pytest.mark.parametrize("path", [path for path in NOTEBOOKS if path.stem not in SHOWS_THE_FAST_PATH],
                         ids=lambda path: path.stem)
def test_lesson_runs_on_the_readable_ops(path):
    """The same numbers whether or not the optional compiled kernels are installed: the setup cell turns them off."""
    setup = next(cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    assert "minigrad.set_fast_kernels(False)" in setup.source, f"{path.name}: the first code cell"


def test_readme_lists_every_lesson():
    readme = (LESSONS / "README.md").read_text()
    missing = [path.name for path in NOTEBOOKS if path.name not in readme]
    assert not missing, f"lessons/README.md does not list {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_and_its_claims_hold(path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for name, value in QUIET_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    committed = path.read_bytes()
    notebook = nbformat.reads(committed.decode("utf-8"), as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(LESSONS)}})
    exercise, self_check = exercise_cells(notebook)
    with client.setup_kernel():
        try:
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
        except CellExecutionError as error:
            pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
        # The student's version: the exercise with its solution stripped, then the self-check, which must fail.
        notebook.cells += [nbformat.v4.new_code_cell(strip_solutions(exercise.source)),
                           nbformat.v4.new_code_cell(self_check.source)]
        client.execute_cell(notebook.cells[-2], len(notebook.cells) - 2)
        with pytest.raises(CellExecutionError):
            client.execute_cell(notebook.cells[-1], len(notebook.cells) - 1)
    assert path.read_bytes() == committed, f"running {path.name} changed the committed file"


def exercise_cells(notebook):
    """The lesson's one exercise cell (with a marked solution) and the self-check cell that follows it."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    exercises = [index for index, cell in enumerate(code) if has_solution(cell.source)]
    checks = [index for index, cell in enumerate(code) if is_self_check(cell.source)]
    assert len(exercises) == 1 and len(checks) == 1, "a lesson ends with one exercise cell and one self-check cell"
    assert checks[0] == exercises[0] + 1 == len(code) - 1, "the self-check cell follows the exercise, last"
    return code[exercises[0]], code[checks[0]]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_ends_with_an_exercise_and_its_self_check(path):
    exercise, self_check = exercise_cells(nbformat.read(path, as_version=4))
    assert strip_solutions(exercise.source) != exercise.source
    assert "assert" in self_check.source
