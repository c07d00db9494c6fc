"""Homework: exercises that ask students to write ops, and a grader that checks them by gradient checks.

Students write a ``minigrad.Function`` (forward and backward) per exercise; the grader runs it in a child process
confined by the kernel and scores the arrays it returns against trusted references, in the grader's own process. Read, in
order:

- ``spec.py``: how an exercise is described (arguments, reference, inputs, edge cases);
- ``solutions/`` and ``references/``: the exercises' solutions (with nbgrader-style markers) and the grader's
  half of each (the NumPy reference and the inputs);
- ``grader.py``: which checks run, and how each is scored (``compare.py`` words the failures);
- ``sandbox.py`` and ``child.py``: the child process, each side of the process boundary; ``isolation.py``: the
  kernel layers (Landlock, seccomp, an unprivileged user, a network namespace); ``minimal.py``: the minigrad a
  submission imports; ``text.py``: student-derived text made safe to print;
- ``batch.py``: a whole class in parallel, to a CSV; ``release.py``: the student release from the solutions.

Command line (``python -m minigrad`` works too)::

    minigrad grade submission.py --assignment layernorm --json results.json   # one student, Gradescope output
    minigrad grade --class submissions/ --assignment layernorm --csv scores.csv   # a class, in parallel
    minigrad isolation                                                        # which sandbox layers are active
    minigrad check layernorm.py --assignment layernorm                        # a student's public checks
    minigrad release                                                          # regenerate lessons/exercises/

README.md in this folder is the guide for instructors and students.
"""

from minigrad.grading.spec import TASKS, all_exercises, get
from minigrad.grading.grader import GradeReport, grade
from minigrad.grading.sandbox import Limits


def check(submission, assignment, *, limits=Limits(), quiet=False):
    """Run the public checks of `assignment` on the file `submission`; print the table and return the report."""
    report = grade(submission, assignment, limits=limits, public_only=True, jobs=2)
    if not quiet:
        print(report.table())
    return report


__all__ = ["grade", "check", "GradeReport", "Limits", "TASKS", "get", "all_exercises"]
