"""The lessons' release: solution blocks become a stub, everything else is kept."""

import nbformat
import pytest

from minigrad.lesson_release import STUB, release_notebook, strip_solutions

EXERCISE = """answer = None
### BEGIN SOLUTION
answer = 0.25
### END SOLUTION


def backward(grad, output):
    ### BEGIN SOLUTION
    return grad * (1 - output ** 2)
    ### END SOLUTION
"""


def test_solution_blocks_become_an_indented_stub():
    stripped = strip_solutions(EXERCISE)
    assert "0.25" not in stripped and "1 - output" not in stripped
    assert stripped.splitlines() == ["answer = None", STUB, "", "", "def backward(grad, output):", "    " + STUB]
    namespace = {}
    exec(stripped, namespace)  # the stub is valid Python: the self-check, not the exercise cell, fails
    assert namespace["answer"] is None and namespace["backward"](1.0, 0.5) is None


@pytest.mark.parametrize("broken", ["x = 1\n### BEGIN SOLUTION\nx = 2\n", "### END SOLUTION\n"])
def test_an_unbalanced_marker_is_an_error(broken):
    with pytest.raises(ValueError, match="unbalanced"):
        strip_solutions(broken)


def test_release_strips_code_cells_and_leaves_the_source_notebook_alone():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("### BEGIN SOLUTION in prose"),
                                               nbformat.v4.new_code_cell(EXERCISE)])
    released = release_notebook(notebook)
    assert released.cells[0].source == notebook.cells[0].source
    assert released.cells[1].source == strip_solutions(EXERCISE)
    assert notebook.cells[1].source == EXERCISE
