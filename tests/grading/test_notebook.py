"""Notebook submissions: code cells run in order, IPython syntax is skipped and reported, errors point at the
cell, and the release's exercises.ipynb, once solved, is a submission like a .py file."""

import json

import nbformat
import pytest

from minigrad.grading import release
from minigrad.grading.notebook import Source
from tests.grading.conftest import RELEASE, SOLUTIONS, run_minigrad


def _notebook(path, *cells):
    """Write a notebook whose cells are ("markdown" | "code", source) pairs."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(source) if kind == "markdown" else
                      nbformat.v4.new_code_cell(source) for kind, source in cells]
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize("task", ["layernorm", "matmul"])
def test_the_released_notebook_once_solved_is_a_submission_with_full_marks(tmp_path, task):
    path = tmp_path / release.NOTEBOOK
    path.write_text(release.notebook_json(solved=True))
    results = tmp_path / "results.json"
    process = run_minigrad("grade", path, "--assignment", task, "--json", results, "--seed", 3)
    data = json.loads(results.read_text())
    assert data["score"] == sum(test["max_score"] for test in data["tests"]) > 0, process.stdout
    assert "not run: IPython syntax" in data["output"]  # the `!minigrad check` cells, reported


def test_the_released_notebook_unsolved_loads_and_scores_zero():
    process = run_minigrad("check", RELEASE / release.NOTEBOOK, "--assignment", "silu")
    assert process.returncode == 1
    assert "score: 0/4" in process.stdout and "silu: SiLU.forward is not implemented yet" in process.stdout


def test_magics_are_reported_not_run_and_errors_point_at_the_cell(tmp_path):
    solution = (SOLUTIONS / "silu.py").read_text().replace("return x * sigmoid", "return x * sigmoid_of_x")
    path = _notebook(tmp_path / "homework.ipynb",
                     ("markdown", "# My SiLU"),
                     ("code", "%load_ext autoreload\n%autoreload 2"),
                     ("code", "import numpy\nprint('hello from a cell')"),
                     ("code", "!pip install torch"),
                     ("code", solution))
    process = run_minigrad("check", path, "--assignment", "silu")
    line = next(number for number, text in enumerate(solution.splitlines(), 1) if "sigmoid_of_x" in text)
    flat = " ".join(process.stdout.split())
    assert "NameError" in flat and f"(homework.ipynb, cell 5, line {line}, in forward:" in flat
    assert "cells 2, 4 of homework.ipynb not run: IPython syntax" in flat and "`%load_ext autoreload`" in flat
    assert "| hello from a cell" in process.stdout


def test_a_syntax_error_names_the_cell(tmp_path):
    path = _notebook(tmp_path / "broken.ipynb", ("code", "import minigrad"), ("code", "x = 1\ndef f(:\n    pass"))
    process = run_minigrad("check", path, "--assignment", "silu")
    assert "SyntaxError" in process.stdout and "(broken.ipynb, cell 2, line 2)" in process.stdout


def test_a_file_that_is_not_a_notebook_scores_zero_and_says_why(tmp_path):
    path = tmp_path / "silu.ipynb"
    path.write_text("{ not json")
    process = run_minigrad("check", path, "--assignment", "silu")
    assert process.returncode == 1 and "silu.ipynb is not a notebook that can be read" in process.stdout


def test_source_maps_every_line_of_the_converted_file_to_its_cell(tmp_path):
    path = _notebook(tmp_path / "n.ipynb", ("code", "a = 1\nb = 2"), ("markdown", "text"), ("code", "c = 3"))
    source = Source(path, path.read_bytes())
    lines = source.code.decode().splitlines()
    assert source.where(lines.index("b = 2") + 1) == "n.ipynb, cell 1, line 2"
    assert source.where(lines.index("c = 3") + 1) == "n.ipynb, cell 3, line 1"
    assert source.relabel("oops (your file, line 5, in f: c = 3)") == "oops (n.ipynb, cell 3, line 1, in f: c = 3)"


def test_a_class_folder_takes_notebooks_and_ignores_jupyter_checkpoints(tmp_path):
    folder = tmp_path / "class"
    (folder / "bob" / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "ada.ipynb").write_text(release.notebook_json(solved=True))
    (folder / "bob" / release.NOTEBOOK).write_text(release.notebook_json(solved=True))
    (folder / "bob" / ".ipynb_checkpoints" / "exercises-checkpoint.ipynb").write_text(release.notebook_json())
    scores = tmp_path / "scores.csv"
    process = run_minigrad("grade", "--class", folder, "--assignment", "silu", "--csv", scores, "--jobs", 2)
    assert process.returncode == 0, process.stderr
    rows = {line.split(",")[0]: line.split(",") for line in scores.read_text().splitlines()[1:]}
    assert sorted(rows) == ["ada", "bob"]
    assert all(row[1] == row[2] and float(row[1]) > 0 and row[3] == "graded" for row in rows.values()), rows
