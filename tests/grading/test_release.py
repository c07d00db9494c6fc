"""The student release: generated from the solutions, committed as generated, stubs that fail loudly, and a
guiding notebook that runs whether the exercises are done or not."""

import ast
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from minigrad.grading import spec
from minigrad.grading import release
from tests.grading.conftest import RELEASE


def test_the_committed_release_is_what_minigrad_release_generates():
    stale = release.differences(RELEASE)
    assert not stale, f"run `minigrad release` and commit lessons/exercises/: {stale} differ"


@pytest.mark.parametrize("task", spec.TASKS)
def test_every_solution_block_becomes_a_named_not_implemented_error(task):
    solution = spec.get(task).solution_path.read_text()
    stub = (RELEASE / f"{task}.py").read_text()
    blocks = solution.count(release.BEGIN)
    assert blocks >= 2 and solution.count(release.END) == blocks
    assert release.BEGIN not in stub and release.END not in stub
    assert stub.count(f'raise NotImplementedError("{task}: ') == blocks
    stub_tree, solution_tree = ast.parse(stub), ast.parse(solution)
    assert ast.get_docstring(stub_tree) == ast.get_docstring(solution_tree)  # the statement is kept whole
    signatures = [(node.name, [a.arg for a in node.args.args]) for node in ast.walk(stub_tree)
                  if isinstance(node, ast.FunctionDef)]
    assert signatures == [(node.name, [a.arg for a in node.args.args]) for node in ast.walk(solution_tree)
                          if isinstance(node, ast.FunctionDef)]


def test_strip_solutions_names_the_enclosing_function():
    source = ("class Op:\n    def forward(ctx, x):\n        ### BEGIN SOLUTION\n        return x\n"
              "        ### END SOLUTION\n\n\ndef helper():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n")
    stub = release.strip_solutions(source, "demo")
    assert 'raise NotImplementedError("demo: Op.forward is not implemented yet")' in stub
    assert 'raise NotImplementedError("demo: helper is not implemented yet")' in stub
    assert "return x" not in stub


@pytest.mark.parametrize("source, complaint", [
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside the block"),
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("### END SOLUTION\n", "without a"),
])
def test_strip_solutions_refuses_broken_markers(source, complaint):
    with pytest.raises(ValueError, match=complaint):
        release.strip_solutions(source, "demo")


def test_the_notebook_is_valid_and_committed_without_outputs():
    notebook = nbformat.read(RELEASE / release.NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}
    for cell in notebook.cells:
        assert not cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    text = (RELEASE / release.NOTEBOOK).read_text()
    for task in spec.all_exercises():
        assert f"class {task.function}(minigrad.Function):" in text
        assert f"!minigrad check {release.NOTEBOOK} --assignment {task.task}" in text


def _run_notebook(folder):
    from nbclient import NotebookClient
    notebook = nbformat.read(folder / release.NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return ["".join(output.get("text", "") for output in cell.outputs) for cell in notebook.cells
            if cell.cell_type == "code"]


@pytest.fixture
def release_copy(tmp_path):
    folder = tmp_path / "exercises"
    shutil.copytree(RELEASE, folder)
    return folder


@pytest.fixture
def minigrad_on_path(monkeypatch):
    """The notebook's `!minigrad check` cells run the command of this environment."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")


def test_the_notebook_runs_on_the_stubs_and_says_what_is_missing(release_copy, minigrad_on_path):
    text = "\n".join(_run_notebook(release_copy))
    for task in spec.all_exercises():
        assert f"not implemented yet: {task.task}: {task.function}.forward is not implemented yet" in text
    assert text.count("score: 0/4") == len(spec.TASKS)


def test_the_notebook_passes_everything_with_the_solutions(release_copy, minigrad_on_path):
    (release_copy / release.NOTEBOOK).write_text(release.notebook_json(solved=True))
    text = "\n".join(_run_notebook(release_copy))
    assert text.count("gradcheck: your backward agrees with finite differences") == len(spec.TASKS)
    assert text.count("score: 4/4") == len(spec.TASKS)
    assert "not implemented" not in text and "FAIL" not in text
