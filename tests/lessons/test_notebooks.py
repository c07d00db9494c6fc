"""Run every lesson notebook from a clean kernel, so each lesson's claim is checked on every test run.

Each ``lessons/NN_*.ipynb`` ends with assertion cells that test the lesson's claim against a measured number;
executing the notebook top to bottom is therefore the test. The notebooks are executed in memory and never
written back: the committed files stay stripped of outputs (checked below), so their diffs stay readable.

The kernel inherits this process's environment, so ``MINIGRAD_BACKEND=strict`` (or ``cupy``) runs the lessons on
that backend. BLAS is pinned to one thread so that two notebooks under pytest-xdist share two cores without
oversubscribing them, and matplotlib draws off-screen.
"""

import re
from pathlib import Path

import nbformat
import pytest

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9]*.ipynb"))  # lessons/exercises/ holds student exercises, not lessons
CELL_TIMEOUT_S = 600  # generous: a lesson takes about two minutes on a 2-core CPU in total
QUIET_ENVIRONMENT = {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                     "MKL_NUM_THREADS": "1"}
ALLOWED_NOTEBOOK_METADATA = {"kernelspec", "language_info"}


def test_the_lessons_are_numbered_in_order():
    numbers = [int(re.match(r"(\d+)_", path.name).group(1)) for path in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)), [path.name for path in NOTEBOOKS]
    assert len(NOTEBOOKS) >= 11, "the course has eleven lessons"


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
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    assert path.read_bytes() == committed, f"running {path.name} changed the committed file"
