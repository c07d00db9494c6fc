"""The lessons' exercises, single-sourced: each notebook holds its exercise's solution; the release strips it.

Every lesson ends with one exercise cell and one self-check cell. The exercise cell first sets up what the
student fills in (a default that is wrong on purpose, or a function to complete) and then gives the solution
between two marker lines, the same markers as the homework solutions::

    predicted_ratio = None        # your prediction
    ### BEGIN SOLUTION
    predicted_ratio = 0.25
    ### END SOLUTION

The self-check cell, whose first line is ``# Self-check``, asserts what only a right answer satisfies. The
release replaces each marked block by ``...  # YOUR CODE HERE`` at the block's indentation, so the student's
notebook runs up to the self-check, which then fails until the exercise is done. The test suite runs every lesson
with the solutions in place (the self-check passes), then runs the stripped exercise cell and the self-check
again in the same kernel and requires the self-check to fail.

Write the student release of the lessons with ``python -m minigrad.lesson_release lessons/ release/``.
"""

import re
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "...  # YOUR CODE HERE"
SELF_CHECK = "# Self-check"
_BLOCK = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[ \t]*\n.*?^[ \t]*{re.escape(END)}[ \t]*$", re.M | re.S)


def strip_solutions(source):
    """`source` with every marked solution block replaced by the stub line; a stray marker raises ValueError."""
    stripped = _BLOCK.sub(lambda match: match.group(1) + STUB, source)
    if BEGIN in stripped or END in stripped:
        raise ValueError(f"unbalanced {BEGIN!r} / {END!r} markers in:\n{source}")
    return stripped


def has_solution(source):
    return BEGIN in source


def is_self_check(source):
    return source.lstrip().startswith(SELF_CHECK)


def release_notebook(notebook):
    """A copy of an nbformat notebook with the solutions stripped from its code cells."""
    import copy
    released = copy.deepcopy(notebook)
    for cell in released.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
    return released


def main(argv=None):
    import nbformat
    source_folder, target_folder = (Path(argument) for argument in (argv or sys.argv[1:]))
    target_folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(source_folder.glob("[0-9]*.ipynb")):
        nbformat.write(release_notebook(nbformat.read(path, as_version=4)), target_folder / path.name)
        print(f"released {target_folder / path.name}")


if __name__ == "__main__":
    main()
