"""Making the student release from the solutions: ``minigrad release``.

Solutions are single-sourced, nbgrader style: each ``solutions/<task>.py`` is the complete student file, and the
code that is the answer sits between two marker lines::

    ### BEGIN SOLUTION
    ...the answer...
    ### END SOLUTION

:func:`strip_solutions` replaces every such block with a line that fails loudly and names the task and the
function to write::

    # YOUR CODE HERE
    raise NotImplementedError("layernorm: LayerNorm.forward is not implemented yet")

so a stub is graded zero rather than half-passing, and its error tells the student where to start. The release
(``lessons/exercises/`` by default) holds one stub per exercise, a README, and one guiding notebook for all
exercises, committed with its outputs stripped. :func:`differences` compares a committed release with what this
module generates now; the tests use it so the release never drifts from the solutions.

The hints (a ``### BEGIN HINTS`` / ``### END HINTS`` block, see :mod:`minigrad.grading.hints`) are removed from
the stub without a trace: students get them from ``minigrad hint TASK``, one tier at a time.
"""

import json
import re
import textwrap
from pathlib import Path

from minigrad.grading import hints, spec

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_RELEASE = REPOSITORY / "lessons" / "exercises"
NOTEBOOK = "exercises.ipynb"
_DEFINITION = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)")


def strip_solutions(source, task, keep_solutions=False):
    """`source` with every marked solution block replaced by a NotImplementedError naming `task` and the function
    (with `keep_solutions`, only the marker lines are removed), and the hints block removed."""
    lines = source.splitlines()
    output, open_line, scope, hints_line = [], None, [], None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped in (hints.BEGIN, hints.END):
            if (stripped == hints.BEGIN) != (hints_line is None) or open_line is not None:
                raise ValueError(f"{task}: line {number}: misplaced {stripped}")
            hints_line = number if stripped == hints.BEGIN else None
            if stripped == hints.END and output and output[-1] == "" and lines[number:number + 1] == [""]:
                output.pop()  # the blank lines around the block become one
            continue
        if hints_line is not None:
            continue
        if stripped == BEGIN:
            if open_line is not None:
                raise ValueError(f"{task}: line {number}: {BEGIN} inside the block opened on line {open_line}")
            open_line = number
            if keep_solutions:
                continue
            indent = line[:len(line) - len(line.lstrip())]
            where = ".".join(name for _, name in scope) or "this part"
            output.append(f"{indent}# YOUR CODE HERE")
            output.append(f'{indent}raise NotImplementedError("{task}: {where} is not implemented yet")')
            continue
        if stripped == END:
            if open_line is None:
                raise ValueError(f"{task}: line {number}: {END} without a {BEGIN}")
            open_line = None
            continue
        if open_line is not None and not keep_solutions:
            continue
        definition = _DEFINITION.match(line)
        if definition:
            depth = len(definition.group(1))
            scope = [(d, name) for d, name in scope if d < depth] + [(depth, definition.group(3))]
        output.append(line)
    if open_line is not None:
        raise ValueError(f"{task}: the {BEGIN} on line {open_line} is never closed")
    if hints_line is not None:
        raise ValueError(f"{task}: the {hints.BEGIN} on line {hints_line} is never closed")
    return "\n".join(output) + "\n"


def generate():
    """{relative path: text} of the whole student release."""
    files = {}
    for task in spec.all_exercises():
        source = task.solution_path.read_text()
        if BEGIN not in source:
            raise ValueError(f"{task.task}: {task.solution_path} has no {BEGIN} block")
        hints.read_hints(source, task.task)  # every exercise has its three tiers
        files[f"{task.task}.py"] = strip_solutions(source, task.task)
    files["README.md"] = _readme()
    files[NOTEBOOK] = notebook_json()
    return files


def release(out=DEFAULT_RELEASE):
    """Write the student release into `out`; return the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = out / name
        path.write_text(text)
        written.append(path)
    return written


def differences(out=DEFAULT_RELEASE):
    """The files of the release in `out` that are missing or differ from what :func:`generate` makes now."""
    out = Path(out)
    return [name for name, text in generate().items()
            if not (out / name).is_file() or (out / name).read_text() != text]


# --- the README and the guiding notebook --------------------------------------------------------------------------
def _readme():
    rows = "\n".join(f"| `{task.task}` | `{task.task}.py` | `{task.function}` | {task.title} |"
                     for task in spec.all_exercises())
    return f"""# Exercises: write your own ops

Each exercise asks you to write one op, forward and backward, as a `minigrad.Function`. The file is a stub: read
the statement at its top, then replace each `raise NotImplementedError(...)` with your code.

| task id | file | class | what you write |
|---|---|---|---|
{rows}

`{NOTEBOOK}` walks through them: it runs your op, checks its backward against finite differences of its forward,
and runs the public checks. From a terminal, in this folder:

    minigrad check layernorm.py --assignment layernorm

runs the public checks of one exercise (replace both names for another; a notebook works too:
`minigrad check exercises.ipynb --assignment layernorm`). Stuck on a derivation?

    minigrad hint layernorm

prints a hint, one tier per call: first which paths the gradient takes, then the intermediate gradients, then
the formula (`--level N` shows a given tier). Try the derivation again after each.

The grader runs the same checks and hidden ones: your op on inputs drawn when it grades (so outputs cannot be hard-coded), its gradients against a reference,
a gradient check of your backward against your own forward with a random upstream gradient, and edge cases
(constant rows, a batch of two, large values, float32, a CuPy-like backend). Your code runs in a separate,
locked-down process: use only `minigrad.Function` and the array module (`xp = minigrad.get_array_module(x)`).

This folder is generated by `minigrad release` from the solutions; do not edit it by hand in the repository.
"""


def _cell(kind, source, cell_id):
    cell = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source.strip("\n").splitlines(True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook_json(solved=False):
    """The guiding notebook, as the exact text committed (stable cell ids, no outputs). It holds every exercise's
    code too, so a student may work in it instead of the ``.py`` files and submit it; `solved` fills in the
    solutions (what the tests grade)."""
    names = ", ".join(f"`{task.task}`" for task in spec.all_exercises())
    cells = [
        _cell("markdown", f"""\
# Exercises: write your own ops

Each section below is one exercise: {names}. Read its statement, then fill in the places marked
`# YOUR CODE HERE` in the code cell under it (or in the `.py` file of the same name in this folder: the same
code; submit whichever you worked in). Then run the section: it

1. runs your op forward,
2. runs `minigrad.gradcheck`, which compares your backward with finite differences of your forward in float64,
   with a random upstream gradient (all ones would let some wrong gradients pass: for LayerNorm the true gradient
   of `sum(y)` with respect to x is exactly zero),
3. runs the exercise's public checks on this notebook: the same kinds of checks the grader runs, on a published
   example. They read the notebook's file, so save it first (Ctrl-S).

Until you fill in an op, its section says what is not implemented yet. Stuck on a derivation? Run
`!minigrad hint layernorm` (any task id) in a cell, or in a terminal: one tier per call.

To submit the notebook, hand in this `.ipynb` file. The grader runs its code cells in order, except cells with
IPython syntax (`%magics`, `!shell` commands), which it skips and reports, and it skips what sits under
`if __name__ == "__main__":` (the cells that try your ops: the grader runs its own checks). Your op itself may
use only `minigrad.Function` and `minigrad.get_array_module`.""",
              "introduction"),
        _cell("code", """\
import numpy

import minigrad

rng = numpy.random.default_rng(0)


def try_op(function, inputs):
    \"\"\"Run `function` forward, then gradcheck its backward; say what is missing instead of raising.\"\"\"
    try:
        output = function.apply(*inputs)
        print(f"forward: output of shape {output.shape}, dtype {output.dtype}")
        minigrad.gradcheck(function.apply, inputs)
        print("gradcheck: your backward agrees with finite differences of your forward")
    except NotImplementedError as error:
        print(f"not implemented yet: {error}")
    except minigrad.GradcheckError as error:
        print(f"gradcheck failed: {error}")""", "setup"),
    ]
    for task in spec.all_exercises():
        cells.append(_cell("markdown", f"## {task.title}\n\nTask id `{task.task}`, class `{task.function}` (also "
                                       f"in `{task.task}.py`).\n\n{_preformatted(task.statement())}",
                           f"{task.task}-statement"))
        cells.append(_cell("code", _code(task, solved), f"{task.task}-code"))
        demo = textwrap.indent(f"{task.notebook_demo}\ntry_op({task.function}, inputs)", "    ")
        cells.append(_cell("code", f"if __name__ == \"__main__\":  # in Jupyter; skipped when the notebook is graded\n"
                                   f"{demo}", f"{task.task}-try"))
        cells.append(_cell("code", f"# the public checks read the saved notebook: save it first\n"
                                   f"!minigrad check {NOTEBOOK} --assignment {task.task}", f"{task.task}-check"))
    notebook = {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _code(task, solved):
    """The exercise's code without its statement (the cell above shows it): the stub, or the solution."""
    import ast
    source = task.solution_path.read_text()
    code = strip_solutions(source, task.task, keep_solutions=solved)
    docstring = ast.parse(code).body[0]
    return "\n".join(code.splitlines()[docstring.end_lineno:]).strip("\n")


def _preformatted(statement):
    """The statement as a preformatted Markdown block: its formulas are aligned with spaces."""
    return "```text\n" + statement + "\n```"
