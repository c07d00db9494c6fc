"""Telling a derived backward apart from finite differences of the forward.

A backward that differences the student's forward (or a copy of its math) agrees with the reference to the
gradient rows' tolerance on small inputs, so values alone cannot tell it apart. Its cost can: finite differences
need one forward per input element, or at best one per colour of the Jacobian (columns that no output shares,
for instance one per feature of a row-wise op), while a derived backward costs about one forward. Two checks
use that, and one catches the plain spelling early:

- **the large case.** Each exercise has a ``large_case`` (about half a million to a million elements, in long
  rows or with a long inner dimension: many colours) that a derived backward handles in well under a second.
  It runs in a group of its own with a time budget of ``LARGE_CASE_SECONDS`` (or ``--timeout`` if that is
  shorter); finite differences there need 16,000 to a million forwards, minutes at least. Its row is worth no points, but a
  row elsewhere that earns points from the gradient of an argument (gradients, gradient checks, edge cases,
  backpropagation through time, the public gradient rows) keeps them only if that gradient is right on the
  large case: a file that returns anything quick there and differences elsewhere gains nothing, while an
  honest file with one wrong gradient keeps the rows of the others, and its rows keep their own messages.
- **a backward that calls forward.** The child notes a call of the graded class's ``forward`` made while its
  ``backward`` runs (a profile function, keyed on forward's code object, so a saved reference is caught too),
  and the rows of that group that score the backward earn nothing, with a message that says why.

What this does not catch is written down in the README ("What is not covered"): differences along one or two
directions where the Jacobian is diagonal or symmetric, which cost what a derived backward costs.
"""

import dataclasses

LARGE_CASE_SECONDS = 10.0
LARGE_GROUP = "large"
# The key under which the child reports that backward called forward (see child.py, _ForwardWatch).
CALLS_FORWARD_KEY = "watch.backward_calls_forward"
CALLS_FORWARD = ("your backward calls your forward: derive the gradient instead of differencing the forward "
                 "(compute it from what forward saved on ctx; a helper function that both share is fine)")


def large_group(task, seed, visibility):
    """The check group of the large case: one forward and backward, one row worth no points (a condition)."""
    from minigrad.grading import grader
    group = grader.Group(task, LARGE_GROUP)
    prepared = grader.prepare(task, task.large_case, seed)
    index = group.evaluate(prepared)
    group.large = (prepared, index)

    def scorer(returned):
        if returned.child.timed_out:
            return 0.0, (f"{prepared.label(task.arguments)}: your forward and backward did not finish within "
                         f"{returned.child.seconds:.0f} s. A derived backward costs about as much as the forward "
                         "(well under a second here); finite differences need one forward per element and do "
                         "not fit, nor does an explicit Jacobian")
        return grader._edge_case(prepared, index, returned, task)

    group.add_row("large case: every gradient within the time budget", 0.0, visibility, scorer)
    return group


def budget_seconds(timeout_s):
    return min(float(timeout_s), LARGE_CASE_SECONDS)


def limits_for(group, limits):
    """The large group's limits: the grader's, with the time budget of the large case."""
    if group.name != LARGE_GROUP:
        return limits
    return dataclasses.replace(limits, timeout_s=budget_seconds(limits.timeout_s))


class Read(list):
    """The gradients of one call, noting which positions a scorer reads (into `read`), so that the gate knows
    which gradients a row's points rest on."""

    def __init__(self, items, read):
        super().__init__(items)
        self.read = read

    def __getitem__(self, position):
        self.read.add(position)
        return super().__getitem__(position)

    def __iter__(self):
        self.read.update(range(len(self)))
        return super().__iter__()


def failed_positions(group, child):
    """The differentiable positions whose gradient is wrong or missing on the large case (all of them if the
    call or the child failed). A wrong forward alone closes nothing: the forward rows grade it."""
    from minigrad.grading import grader
    task, (prepared, index) = group.task, group.large
    returned = grader.Returned(child, len(task.arguments), group.slot or {})
    try:
        return {position for position in task.differentiable
                if grader._check_gradient(prepared, index, returned, task, position)}
    except grader.NoResult:
        return set(task.differentiable)


def score(finished):
    """Score every (group, child) pair. A row outside the large group that earns points from the gradient of an
    argument keeps them only if that gradient passed the large case."""
    failed = set()
    for group, child in finished:
        if group.name == LARGE_GROUP:
            failed = failed_positions(group, child)

    def gate(read, fraction, text):
        if read & failed:
            return 0.0, ("not counted: your backward failed the large case (see its row), and a row counts only "
                         "if the gradients it grades pass there")
        return fraction, text

    rows = []
    for group, child in finished:
        rows.extend(group.score(child, None if group.name == LARGE_GROUP else gate))
    return rows
