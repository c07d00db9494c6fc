"""The exercises' solutions, one file per task, with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers.

Each file is exactly what a student hands in, solved: ``minigrad release`` strips the marked blocks to make the
stubs in ``lessons/exercises/``, and the tests grade these files (full marks) and the stubs (zero). The grader
never imports them: its references live in ``minigrad/grading/references/``.
"""
