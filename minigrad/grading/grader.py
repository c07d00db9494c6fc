"""Grading one submission: plan the checks, run each group of them in its own sandboxed child, score the arrays.

For an exercise the grader runs these checks (rows of the report), each group in a separate child process so a
hang or a crash costs only that group:

======================  ==================================================================  =====================
group                   rows                                                                inputs
======================  ==================================================================  =====================
load                    the file loads and defines the class (0 points; stops grading)     none
public                  forward, gradients, gradient check (what ``minigrad check`` runs)  fixed, published seed
forward                 forward against the reference                                       secret seed
gradients               one row per differentiable argument: gradient against reference    secret seed
gradcheck               the student's backward against finite differences of the           secret seed
                        student's own forward, with a random upstream gradient
edge: <name>            one row per edge case (constant rows, batch of two, large values,   secret seed
                        float32, CuPy-like backend, ...): forward and every gradient
bptt (recurrent cells)  gradients through an unrolled sequence; their gradient check       secret seed
======================  ==================================================================  =====================

The secret seed is drawn per run from :mod:`secrets`; every case's inputs come from a generator seeded with it
and the case's name, so hard-coded outputs fail and a rerun with ``seed=`` reproduces a run exactly. The reference
values are computed here, in the grader's process, by the exercise's NumPy reference; the finite differences are
computed here too, from the forward values the child returned at x +- eps.
"""

import os
import secrets
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from minigrad.grading import derivation, feedback, spec
from minigrad.grading.compare import describe_arguments, mismatch
from minigrad.grading.notebook import Source, SubmissionError, find_submission
from minigrad.grading.spec import Tolerance, case_generator
from minigrad.grading.sandbox import Limits, isolation_status, run_child
from minigrad.grading.text import from_submission, lines, one_line, without_paths

PUBLIC_SEED = 0
FINITE_DIFFERENCE_EPS = 1e-6
GRADCHECK_TOLERANCE = Tolerance(rtol=1e-3, atol=1e-5)  # gradcheck's (and PyTorch's) defaults
POINTS = {"public": 1.0, "forward": 2.0, "gradient": 1.0, "gradcheck": 2.0, "edge": 1.0, "bptt": 2.0,
          "bptt gradcheck": 1.0}
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
MAX_SUBMISSION_BYTES = 1_000_000
STRICT_HINT = ("minigrad's strict backend, with CuPy's rules, refuses NumPy calls on its arrays (numpy.asarray, "
               "numpy.exp, mixing with NumPy arrays): compute with xp = minigrad.get_array_module(x)")


@dataclass
class CheckResult:
    """One row of the report."""
    name: str
    max_score: float
    score: float = 0.0
    passed: bool = False
    output: str = ""
    visibility: str = "visible"
    group: str = ""


@dataclass
class GradeReport:
    submission: str
    assignment: str
    function: str
    checks: list
    seed: int
    seconds: float = 0.0
    public_only: bool = False
    captured: list = field(default_factory=list)  # (check group, stdout, stderr) of the student's own prints
    notes: list = field(default_factory=list)     # how the file was read (a notebook's skipped cells)
    isolation: dict = None      # layer -> "active ..." or "missing: why", as the children ran

    def isolation_line(self):
        status = self.isolation or {}
        active = [layer for layer, text in status.items() if text.startswith("active")]
        missing = [f"{layer} ({text[len('missing: '):]})" for layer, text in status.items()
                   if not text.startswith("active")]
        line = f"  isolation: {', '.join(active) or 'none'} active"
        return line + (f"; MISSING: {'; '.join(missing)}" if missing else "")

    @property
    def score(self):
        return round(sum(check.score for check in self.checks), 4)

    @property
    def max_score(self):
        return round(sum(check.max_score for check in self.checks), 4)

    def table(self, width=110):
        """The per-check table a person reads: points and pass/fail per row, and under each failure, why."""
        lines = [f"minigrad {'check' if self.public_only else 'grade'}: {one_line(self.submission)}  "
                 f"(assignment {self.assignment}: {self.function})"]
        name_width = min(66, max(len(check.name) for check in self.checks))
        lines.append(f"  {'#':>2}  {'check':<{name_width}}  {'points':>9}  result")
        for number, check in enumerate(self.checks, 1):
            points = "-" if check.max_score == 0 else f"{_points(check.score)}/{_points(check.max_score)}"
            result = "pass" if check.passed else ("partial" if check.score > 0 else "FAIL")
            lines.append(f"  {number:>2}  {check.name[:name_width]:<{name_width}}  {points:>9}  {result}")
            if not check.passed and check.output:
                lines.extend(_indent(check.output, width))
        lines.append(f"  score: {_points(self.score)}/{_points(self.max_score)}   "
                     f"({len(self.checks)} checks in {self.seconds:.1f} s)")
        if not self.public_only:
            lines.append(f"  hidden inputs drawn from seed {self.seed} (--seed {self.seed} repeats this run)")
        if self.isolation is not None:
            lines.append(self.isolation_line())
        # what the student printed: for `check`, the student's own debugging tool; `grade` leaves it to results.json
        printed = feedback.student_output(self) if self.public_only else ""
        return "\n".join(lines + ([""] + printed.splitlines() if printed else []))

    def gradescope(self):
        """Gradescope's results.json: a total score and one entry per check."""
        tests = [{"name": check.name, "number": str(number), "score": check.score, "max_score": check.max_score,
                  "status": "passed" if check.passed else "failed", "output": check.output or "passed",
                  "visibility": check.visibility} for number, check in enumerate(self.checks, 1)]
        summary = f"{self.assignment}: {_points(self.score)}/{_points(self.max_score)} points"
        printed = feedback.student_output(self)
        return {"score": self.score, "execution_time": round(self.seconds, 2),
                "output": summary + (f"\n\n{printed}" if printed else ""),
                "stdout_visibility": "hidden", "extra_data": {"seed": self.seed, "isolation": self.isolation},
                "tests": tests}


def grade(submission, assignment, *, seed=None, limits=Limits(), jobs=1, public_only=False,
          hidden_visibility="visible", student_folder=False):
    """Grade the file `submission` for exercise `assignment`; return a :class:`GradeReport`. `submission` is a
    .py file or a notebook; with `student_folder`, one student's folder holding one of them.

    `seed` fixes the hidden inputs (default: a fresh secret per call); `jobs` runs that many check groups at
    once; `public_only` runs only the public checks (what students run with ``minigrad check``).
    """
    started = time.perf_counter()
    task = spec.get(assignment)
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {hidden_visibility!r}")
    seed = secrets.randbits(63) if seed is None else int(seed)
    groups = plan(task, seed, public_only, hidden_visibility)
    report = GradeReport(str(submission), task.task, task.function, [], seed, public_only=public_only,
                         isolation={layer: without_paths(text) for layer, text in isolation_status().items()})

    path, problem, source = Path(submission), None, None
    if student_folder and path.is_dir() and not path.is_symlink():  # Gradescope's submission/, PrairieLearn's
        found, problem = find_submission(path, task.task)
        path = found or path
        report.submission = str(path)
    data, problem = (None, problem) if problem else read_submission(path)
    if problem is None:
        try:
            source = Source(path, data)
        except SubmissionError as error:
            problem = str(error)
    _run_checks(report, task, groups, source.code if source else None, problem, limits, jobs)
    if source is not None:  # name the student's file, line (and notebook cell), not the grader's copy
        report.notes = source.notes
        for check in report.checks:
            check.output = source.relabel(check.output)
        report.captured = [(name, source.relabel(out), source.relabel(err)) for name, out, err in report.captured]
    report.seconds = time.perf_counter() - started
    return report


def _run_checks(report, task, groups, source, problem, limits, jobs):
    """The load probe, then every group in its own child (or, if the file does not load, every row at zero)."""
    load = CheckResult(f"loads, and defines {task.function} as a minigrad.Function", 0.0, group="load")
    if problem is None:
        probe = run_child(source, task.function, [], {}, limits)
        problem = _failure_of(probe)
        if problem is not None:  # (otherwise every group's capture repeats what the file printed at import)
            report.captured.append(("load", probe.stdout, probe.stderr))
    load.passed = problem is None
    load.output = problem or ""
    report.checks.append(load)
    if problem is not None:
        for group in groups:
            for row, _ in group.rows:
                row.output = f"not run: {problem}"
                report.checks.append(row)
    else:
        def run(group):
            calls, inputs = group.request()
            return group, run_child(source, task.function, calls, inputs, derivation.limits_for(group, limits),
                                    group.backend)

        if jobs > 1:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                finished = list(pool.map(run, groups))
        else:
            finished = [run(group) for group in groups]
        report.checks.extend(derivation.score(finished))
        for group, child in finished:
            report.captured.append((group.name, child.stdout, child.stderr))


def read_submission(path):
    """(the file's bytes, None), or (None, why it cannot be graded). The file is opened once, without following
    a symbolic link, and must be a regular file: a link, a folder or a device is refused, not followed."""
    name = one_line(path.name)
    try:
        if path.is_symlink():
            return None, f"{name} is a symbolic link; submit the file itself"
        if not path.exists():
            return None, f"no such file: {name}"
        if not path.is_file():
            return None, f"{name} is not a regular file" + (" but a folder" if path.is_dir() else "")
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return None, f"{name} is not a regular file"
            source = file.read(MAX_SUBMISSION_BYTES + 1)
    except OSError as error:
        return None, f"{name} cannot be read ({error.strerror})"
    if len(source) > MAX_SUBMISSION_BYTES:
        return None, f"the file is larger than {MAX_SUBMISSION_BYTES // 1000} kB"
    return source, None


def _failure_of(child):
    if child.arrays is None:
        return child.failure + _stderr_tail(child)
    if "load.error" in child.arrays:
        return from_submission(child.arrays["load.error"])
    return None


def _stderr_tail(child):
    tail = child.stderr.strip()[-800:]
    return f"\nwhat your code printed to stderr last:\n{lines(without_paths(tail))}" if tail else ""


# --- planning -----------------------------------------------------------------------------------------------------
@dataclass
class Prepared:
    """A case made concrete: the arguments sent to the child, the upstream gradient, the reference's answers."""
    case: object
    args: list
    grad_output: numpy.ndarray
    expected_output: numpy.ndarray
    expected_grads: tuple
    reference_forward: object = None   # args -> the reference's output (float64), for the finite-difference points
    task: object = None                # the Exercise (for the targeted hints of feedback.py)
    unrolled: bool = False             # run over a sequence (backpropagation through time)

    def label(self, arguments):
        return f"case '{self.case.name}' ({describe_arguments(arguments, self.args)})"


def prepare(task, case, seed, unroll=False):
    rng = case_generator(seed, task.task, case.name)
    values = case.make(rng)
    args = []
    for argument, value in zip(task.arguments, values):
        if argument.kind == "tensor":
            args.append(numpy.asarray(value, dtype=case.dtype))
        elif argument.kind == "index":
            args.append(numpy.asarray(value, dtype=numpy.int64))
        else:
            args.append(value)
    as_float64 = [a.astype(numpy.float64) if isinstance(a, numpy.ndarray) and a.dtype.kind == "f" else a
                  for a in args]
    evaluate = (lambda *a, grad_output: reference_unroll(task, a, grad_output)) if unroll else task.reference
    output_shape = numpy.shape(evaluate(*as_float64, grad_output=None)[0])
    grad_output = rng.standard_normal(output_shape)
    if grad_output.ndim == 0:  # a scalar loss: still not 1, so a gradient that ignores grad_output fails
        grad_output = numpy.asarray(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
    grad_output = grad_output.astype(case.dtype)
    output, grads = evaluate(*as_float64, grad_output=grad_output.astype(numpy.float64))

    def reference_forward(values):
        floats = [v.astype(numpy.float64) if isinstance(v, numpy.ndarray) and v.dtype.kind == "f" else v
                  for v in values]
        return numpy.asarray(evaluate(*floats, grad_output=None)[0], dtype=numpy.float64)

    return Prepared(case, args, grad_output, numpy.asarray(output, dtype=numpy.float64), grads, reference_forward,
                    task, unroll)


def reference_unroll(task, args, grad_output):
    """The reference run over a sequence (h_t = f(x_t, h_{t-1}, ...)) and backpropagated through time."""
    sequence, state = task.unroll.sequence, task.unroll.state

    def step_args(t, hidden):
        values = list(args)
        values[sequence], values[state] = args[sequence][t], hidden
        return values

    states = [args[state]]
    for t in range(args[sequence].shape[0]):
        states.append(task.reference(*step_args(t, states[-1]), grad_output=None)[0])
    output = numpy.stack(states[1:])
    if grad_output is None:
        return output, None
    grads = [numpy.zeros_like(a, dtype=numpy.float64) if argument.differentiable else None
             for a, argument in zip(args, task.arguments)]
    grad_hidden = numpy.zeros_like(states[0], dtype=numpy.float64)
    for t in reversed(range(args[sequence].shape[0])):
        _, step_grads = task.reference(*step_args(t, states[t]), grad_output=grad_output[t] + grad_hidden)
        for position in task.differentiable:
            if position == sequence:
                grads[sequence][t] = step_grads[position]
            elif position == state:
                grad_hidden = step_grads[position]
            else:
                grads[position] = grads[position] + step_grads[position]
    grads[state] = grad_hidden
    return output, tuple(grads)


class Group:
    """The calls one child makes, and the rows scored from its answer.

    Calls are numbered here in the order they are planned; :meth:`request` sends them in an order shuffled with
    a secret random permutation, so the child cannot tell a finite-difference point from any other forward by
    its place, and ``self.slot`` maps a planned call to where it went.
    """

    def __init__(self, task, name, backend="numpy"):
        self.task, self.name, self.backend = task, name, backend
        self.planned = []   # (prepared-like args, grad_output or None, unroll)
        self.rows = []      # (CheckResult, scorer(returned) -> (fraction, text))
        self.slot = None

    def evaluate(self, prepared, with_gradients=True, unroll=False, args=None):
        """Plan forward (and backward, with the case's upstream gradient) on `args` (default: the case's)."""
        self.planned.append((prepared.args if args is None else args,
                             prepared.grad_output if with_gradients else None, unroll))
        return len(self.planned) - 1

    def sweep(self, prepared, unroll=False):
        """Plan the forwards at x + eps e_k and x - eps e_k for every element k of every differentiable argument:
        {position: [(index of +, index of -) per element]}."""
        points = {}
        for position in self.task.differentiable:
            original = prepared.args[position]
            pairs = []
            for k in range(original.size):
                pair = []
                for sign in (1.0, -1.0):
                    shifted = original.copy()
                    shifted.reshape(-1)[k] += sign * FINITE_DIFFERENCE_EPS
                    args = list(prepared.args)
                    args[position] = shifted
                    pair.append(self.evaluate(prepared, with_gradients=False, unroll=unroll, args=args))
                pairs.append(tuple(pair))
            points[position] = pairs
        return points

    def request(self):
        """(calls, inputs) for the child: the planned calls in a secret random order, arrays by reference."""
        order = list(range(len(self.planned)))
        secrets.SystemRandom().shuffle(order)
        self.slot = {planned: sent for sent, planned in enumerate(order)}
        calls, inputs = [], {}
        for sent, planned in enumerate(order):
            args, grad_output, unroll = self.planned[planned]
            encoded = []
            for position, (argument, value) in enumerate(zip(self.task.arguments, args)):
                if argument.is_array:
                    key = f"call{sent}.arg{position}"
                    inputs[key] = value
                    encoded.append({"array": key, "requires_grad": argument.differentiable})
                else:
                    encoded.append({"value": value})
            call = {"mode": "evaluate", "args": encoded, "grad_output": None}
            if grad_output is not None:
                call["grad_output"] = f"call{sent}.grad_output"
                inputs[call["grad_output"]] = grad_output
            if unroll:
                call["unroll"] = {"sequence": self.task.unroll.sequence, "state": self.task.unroll.state}
            calls.append(call)
        return calls, inputs

    def add_row(self, name, points, visibility, scorer):
        self.rows.append((CheckResult(name, points, visibility=visibility, group=self.name), scorer))

    def score(self, child, gate=None):
        """The rows, scored from the child's arrays; `gate(positions, fraction, text)` (derivation.score) may take
        back the points of a row that read the gradients at `positions`."""
        returned = Returned(child, len(self.task.arguments), self.slot or {})
        scored = []
        for row, scorer in self.rows:
            returned.read = set()
            try:
                fraction, text = scorer(returned)
            except NoResult as missing:
                fraction, text = 0.0, str(missing)
            except Exception as error:  # arrays that passed loading but make no sense: the child's fault, not ours
                fraction, text = 0.0, ("the grader could not make sense of what your code returned "
                                       f"({type(error).__name__})")
            if gate is not None and fraction > 0:
                fraction, text = gate(returned.read, fraction, text)
            row.score = round(row.max_score * fraction, 2)
            row.passed = fraction == 1.0
            row.output = text
            scored.append(row)
        return scored


def plan(task, seed, public_only=False, hidden_visibility="visible"):
    """The check groups for `task`, with inputs drawn from `seed` (public ones from PUBLIC_SEED)."""
    arguments = task.arguments
    groups = []

    public = Group(task, "public")
    example = prepare(task, task.public_case, PUBLIC_SEED)
    evaluated, swept = public.evaluate(example), public.sweep(example)
    public.add_row("public: forward on the published example", POINTS["public"], "visible",
                   lambda r: _forward([(example, evaluated)], r, arguments))
    public.add_row("public: gradients on the published example", POINTS["public"], "visible",
                   lambda r: _all_gradients([(example, evaluated)], r, task))
    public.add_row("public: gradient check of your backward against your forward", POINTS["public"], "visible",
                   lambda r: _gradcheck(example, evaluated, swept, r, task))
    groups.append(public)
    strict = Group(task, "public: CuPy-like backend", backend="strict")  # the array-module rule, checked in public
    on_strict = strict.evaluate(example)
    strict.add_row("public: the published example on the CuPy-like backend", POINTS["public"], "visible",
                   lambda r: _on_strict_backend(example, on_strict, r, task))
    groups.append(strict)
    if public_only:
        return groups
    hidden = hidden_visibility

    forward = Group(task, "forward")
    cases = [prepare(task, case, seed) for case in task.hidden_cases]
    forward_calls = [(p, forward.evaluate(p, with_gradients=False)) for p in cases]
    forward.add_row("forward on hidden inputs", POINTS["forward"], hidden,
                    lambda r: _forward(forward_calls, r, arguments))
    groups.append(forward)

    gradients = Group(task, "gradients")
    gradient_calls = [(p, gradients.evaluate(p)) for p in cases]
    for position in task.differentiable:
        gradients.add_row(f"gradient of {arguments[position].name} on hidden inputs", POINTS["gradient"], hidden,
                          lambda r, position=position: _gradient(gradient_calls, r, task, position))
    groups.append(gradients)

    gradcheck = Group(task, "gradcheck")
    small = prepare(task, task.gradcheck_case, seed)
    evaluated_small, swept_small = gradcheck.evaluate(small), gradcheck.sweep(small)
    gradcheck.add_row("gradient check: your backward against finite differences of your forward, random upstream "
                      "gradient", POINTS["gradcheck"], hidden,
                      lambda r: _gradcheck(small, evaluated_small, swept_small, r, task))
    groups.append(gradcheck)

    for case in task.edge_cases:
        edge = Group(task, f"edge: {case.name}", backend=case.backend)
        prepared = prepare(task, case, seed)
        index = edge.evaluate(prepared)
        edge.add_row(f"edge case: {case.name}", POINTS["edge"], hidden,
                     lambda r, prepared=prepared, index=index: _edge_case(prepared, index, r, task))
        groups.append(edge)

    if task.large_case is not None:
        groups.append(derivation.large_group(task, seed, hidden))

    if task.unroll is not None:
        bptt = Group(task, "bptt")
        sequence = prepare(task, task.bptt_case, seed, unroll=True)
        steps = sequence.args[task.unroll.sequence].shape[0]
        evaluated_bptt, swept_bptt = bptt.evaluate(sequence, unroll=True), bptt.sweep(sequence, unroll=True)
        bptt.add_row(f"backpropagation through time over {steps} steps: every gradient against the reference",
                     POINTS["bptt"], hidden, lambda r: _edge_case(sequence, evaluated_bptt, r, task))
        bptt.add_row(f"backpropagation through time over {steps} steps: gradient check", POINTS["bptt gradcheck"],
                     hidden, lambda r: _gradcheck(sequence, evaluated_bptt, swept_bptt, r, task))
        groups.append(bptt)
    return groups


# --- what the child returned --------------------------------------------------------------------------------------
class NoResult(Exception):
    """The child has no (valid) answer for a call; the message says why."""


class Returned:
    """Typed access to the child's arrays, by planned call number: every accessor validates before it returns."""

    def __init__(self, child, argument_count, slot=None):
        self.child, self.arrays, self.argument_count = child, child.arrays, argument_count
        self.slot = slot or {}
        self.read = set()  # positions whose gradients a row has read (see Group.score)

    def _key(self, index, name):
        return f"call{self.slot.get(index, index)}.{name}"

    def _raise_if_failed(self, index, backward=False):
        if self.arrays is None:
            raise NoResult(self.child.failure + _stderr_tail(self.child))
        if "load.error" in self.arrays:
            raise NoResult(from_submission(self.arrays["load.error"]))
        error = self.arrays.get(self._key(index, "error"))
        if error is not None:
            raise NoResult(f"your code raised {from_submission(error)}")
        error = self.arrays.get(self._key(index, "backward_error")) if backward else None
        if error is not None:
            raise NoResult(f"your backward raised {from_submission(error)}")

    def _array(self, key, what):
        value = self.arrays.get(key)
        if value is None:
            raise NoResult(f"no {what} came back from your code")
        if value.dtype.kind not in "fiub":
            raise NoResult(f"the {what} that came back is not numeric ({value.dtype})")
        return value

    def output(self, index):
        self._raise_if_failed(index)
        return self._array(self._key(index, "output"), "output")

    def gradients(self, index, names):
        self._raise_if_failed(index, backward=True)
        if derivation.CALLS_FORWARD_KEY in self.arrays:
            raise NoResult(derivation.CALLS_FORWARD)
        count = self._array(self._key(index, "count"), "gradient count")
        if count.shape != () or int(count) != self.argument_count:
            raise NoResult(f"backward returned {int(count) if count.shape == () else '?'} value(s), but forward "
                           f"takes {self.argument_count} arguments ({', '.join(names)}): return one gradient per "
                           "argument, in order, with None for arguments that are not tensors")
        return derivation.Read([self.arrays.get(self._key(index, f"grad{position}"))
                                for position in range(self.argument_count)], self.read)


# --- scorers: (fraction of the row's points earned, text) ---------------------------------------------------------
def _summarize(failures, total, what):
    if not failures:
        return 1.0, f"passed on {total} {what}"
    shown = "\n".join(failures[:2]) + (f"\n(and {len(failures) - 2} more)" if len(failures) > 2 else "")
    return (total - len(failures)) / total, f"failed on {len(failures)} of {total} {what}:\n{shown}"


def _check_output(prepared, index, returned, arguments):
    """None, or why the output of call `index` is wrong."""
    output = returned.output(index)
    wanted = prepared.case.dtype
    if output.dtype != numpy.dtype(wanted):
        return f"the output has dtype {output.dtype} but the inputs are {wanted}: keep the input's dtype"
    problem = mismatch("the output", output, prepared.expected_output, prepared.case.allowed, gradient=False)
    return feedback.explain_output(problem, prepared, output)


def _forward(calls, returned, arguments):
    failures = []
    for prepared, index in calls:
        try:
            problem = _check_output(prepared, index, returned, arguments)
        except NoResult as missing:
            problem = str(missing)
        if problem:
            failures.append(f"{prepared.label(arguments)}: {problem}")
    return _summarize(failures, len(calls), "case(s)" if len(calls) > 1 else "case")


def _check_gradient(prepared, index, returned, task, position):
    names = [argument.name for argument in task.arguments]
    grads = returned.gradients(index, names)
    problem = mismatch(f"the gradient of {names[position]}", grads[position], prepared.expected_grads[position],
                       prepared.case.allowed)
    return feedback.explain_gradient(problem, prepared, position, grads[position])


def _gradient(calls, returned, task, position):
    failures = []
    for prepared, index in calls:
        try:
            problem = _check_gradient(prepared, index, returned, task, position)
        except NoResult as missing:
            problem = str(missing)
        if problem:
            failures.append(f"{prepared.label(task.arguments)}: {problem}")
    return _summarize(failures, len(calls), "case(s)")


def _all_gradients(calls, returned, task):
    failures = []
    for prepared, index in calls:
        try:
            for position in task.differentiable:
                problem = _check_gradient(prepared, index, returned, task, position)
                if problem:
                    failures.append(f"{prepared.label(task.arguments)}: {problem}")
        except NoResult as missing:  # the call itself failed: the same reason for every argument, said once
            failures.append(f"{prepared.label(task.arguments)}: {missing}")
    return (0.0 if failures else 1.0), ("\n".join(failures) or "every gradient matches the reference")


def _on_strict_backend(prepared, index, returned, task):
    """The published example on the strict backend; the backend's rule explained when the op raised there (a wrong
    value is already explained by the rows on NumPy)."""
    fraction, text = _edge_case(prepared, index, returned, task)
    if fraction < 1 and " raised " in text:
        text += f"\n(what this case tests: {STRICT_HINT})"
    return fraction, text


def _edge_case(prepared, index, returned, task):
    """Forward and every gradient against the reference, all or nothing."""
    hint = f"\n(what this case tests: {prepared.case.hint})" if prepared.case.hint else ""
    try:
        problem = _check_output(prepared, index, returned, task.arguments)
        if problem is None:
            for position in task.differentiable:
                problem = _check_gradient(prepared, index, returned, task, position)
                if problem:
                    break
    except NoResult as missing:
        problem = str(missing)
    if problem:
        return 0.0, f"{prepared.label(task.arguments)}: {problem}{hint}"
    return 1.0, "output and every gradient match the reference"


def _gradcheck(prepared, evaluated, points, returned, task):
    """Your backward against central differences of your own forward, projected on the random upstream gradient:

        numeric[k] = (<v, f(x + eps e_k)> - <v, f(x - eps e_k)>) / (2 eps).

    It counts only where your forward is right on the same case (a file that returns zeros everywhere is
    consistent, and earns nothing for it). The finite-difference points are ordinary forward calls, shuffled
    among the others, and every one of them is recomputed here with the reference (a few small cases, so this
    costs milliseconds), so forward values made up for the points do not pass, however few.
    """
    names = [argument.name for argument in task.arguments]
    label = prepared.label(task.arguments)
    try:
        problem = _check_output(prepared, evaluated, returned, task.arguments)
        if problem:
            return 0.0, (f"{label}: the gradient check counts only when your forward is right on the same case, "
                         f"and {problem}")
        grads = returned.gradients(evaluated, names)
        upstream = prepared.grad_output.astype(numpy.float64)
        failures = []
        for position in task.differentiable:
            shape = prepared.args[position].shape
            values = numpy.empty((len(points[position]), 2) + upstream.shape)
            for k, pair in enumerate(points[position]):
                for side, index in enumerate(pair):
                    value = returned.output(index)
                    if value.shape != upstream.shape:
                        return 0.0, f"{label}: your forward returned shape {value.shape} at a nearby point"
                    values[k, side] = value
            forged = _forged_points(prepared, position, values, upstream)
            if forged:
                return 0.0, f"{label}: {forged}"
            projected = (values * upstream).reshape(len(values), 2, -1).sum(axis=-1)
            numeric = ((projected[:, 0] - projected[:, 1]) / (2 * FINITE_DIFFERENCE_EPS)).reshape(shape)
            problem = mismatch(f"the gradient of {names[position]}", grads[position], numeric, GRADCHECK_TOLERANCE,
                               yours_word="your backward gives", expected_word="finite differences give")
            problem = feedback.explain_gradient(problem, prepared, position, grads[position])
            if problem:
                failures.append(problem)
    except NoResult as missing:
        return 0.0, str(missing)
    if failures:
        return 0.0, f"{label}: your backward disagrees with your own forward.\n" + "\n".join(failures)
    return 1.0, "your backward agrees with finite differences of your forward for every input"


def _forged_points(prepared, position, values, upstream):
    """None, or why the forward values at the finite-difference points are not what the reference computes
    there (the values themselves, and their central differences)."""
    for k in range(len(values)):
        expected = []
        for side, sign in enumerate((1.0, -1.0)):
            args = list(prepared.args)
            shifted = args[position].copy()
            shifted.reshape(-1)[k] += sign * FINITE_DIFFERENCE_EPS
            args[position] = shifted
            expected.append(prepared.reference_forward(args))
            problem = mismatch("your forward", values[k, side], expected[side], prepared.case.allowed,
                               gradient=False)
            if problem:
                return f"at a finite-difference point (element {k} of argument {position} moved): {problem}"
        yours = float(((values[k, 0] - values[k, 1]) * upstream).sum()) / (2 * FINITE_DIFFERENCE_EPS)
        reference = float(((expected[0] - expected[1]) * upstream).sum()) / (2 * FINITE_DIFFERENCE_EPS)
        if not numpy.isfinite(yours) or abs(yours - reference) > GRADCHECK_TOLERANCE.atol * max(1.0, abs(reference)) \
                + GRADCHECK_TOLERANCE.rtol * abs(reference):
            return (f"your forward's central difference at element {k} of argument {position} is {yours:.8g}, the "
                    f"reference's {reference:.8g}: the forward values at the finite-difference points do not fit "
                    "your forward")
    return None


# --- formatting ---------------------------------------------------------------------------------------------------
def _points(value):
    return f"{value:g}"


def _indent(text, width):
    import textwrap
    lines = []
    for paragraph in text.splitlines():
        lines.extend(textwrap.wrap(paragraph, width=width - 8, initial_indent="        ", break_on_hyphens=False,
                                   subsequent_indent="          ") or [""])
    return lines
