"""How an exercise is described to the grader.

An exercise is one ``minigrad.Function`` a student writes. Two files define it, one per audience:

- ``solutions/<task>.py`` is the student's file with the solution filled in between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` markers. Its module docstring is the statement. ``minigrad release`` turns it into the stub
  students receive (``lessons/exercises/<task>.py``).
- ``references/<task>.py`` is the grader's half: an :class:`Exercise` built from the arguments of ``forward``, a
  trusted reference written in plain NumPy (it never calls the solution), and the inputs to draw. The grader
  imports this file; the child process that runs student code may not.

Inputs are made by functions of a NumPy ``Generator``. The grader seeds each case's generator with a secret drawn
at grading time and the case's name, so no student can know the inputs in advance, and adding a case never shifts
the draws of another (no golden values tied to the order of random draws).
"""

import importlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE / "solutions"
TASKS = ("silu", "matmul", "cross_entropy", "layernorm", "batchnorm", "rnn_cell", "weightnorm", "rmsnorm")


@dataclass(frozen=True)
class Argument:
    """One parameter of ``forward`` after ``ctx``.

    ``kind`` is "tensor" (a float array that receives a gradient), "index" (an integer array without gradient,
    such as class targets) or "value" (a plain Python number such as ``eps``, passed through unchanged).
    """
    name: str
    kind: str = "tensor"

    @property
    def differentiable(self):
        return self.kind == "tensor"

    @property
    def is_array(self):
        return self.kind in ("tensor", "index")


@dataclass(frozen=True)
class Tolerance:
    """|yours - expected| <= atol * max(1, max|expected|) + rtol * |expected|, elementwise."""
    rtol: float
    atol: float


FLOAT64 = Tolerance(rtol=1e-7, atol=1e-9)
FLOAT32 = Tolerance(rtol=2e-4, atol=2e-5)


@dataclass(frozen=True)
class Case:
    """Inputs for one evaluation. ``make(rng)`` returns forward's arguments (float64 arrays, integer arrays,
    numbers); the grader casts the float arrays to ``dtype`` and, for an edge case, runs on ``backend``."""
    name: str
    make: Callable
    dtype: str = "float64"
    backend: str = "numpy"
    hint: str = ""  # shown when an edge case fails: what this case is about
    tolerance: Optional[Tolerance] = None  # default: FLOAT64 or FLOAT32 by dtype

    @property
    def allowed(self):
        """The tolerance for comparing with the reference on this case."""
        if self.tolerance is not None:
            return self.tolerance
        return FLOAT32 if self.dtype == "float32" else FLOAT64


@dataclass(frozen=True)
class Unroll:
    """How to run a recurrent cell over a sequence: argument `sequence` holds x for every step on axis 0, argument
    `state` holds h_0, and each step's output is the next step's state."""
    sequence: int
    state: int


@dataclass(frozen=True)
class Exercise:
    task: str                 # the task id: the --assignment name and the prefix of the stub's errors
    function: str             # the class the student defines
    title: str
    arguments: tuple          # of Argument, in forward's order
    reference: Callable       # reference(*args, grad_output) -> (output, grads or None if grad_output is None),
    #                           float64 NumPy arrays in and out
    public_case: Case         # small inputs from a fixed, published seed: `minigrad check`
    hidden_cases: tuple       # forward and gradients against the reference, secret seed
    gradcheck_case: Case      # small inputs for the finite-difference check of the student's own backward
    edge_cases: tuple = ()
    unroll: Optional[Unroll] = None
    bptt_case: Optional[Case] = None  # with `unroll`: a sequence to backpropagate through time
    notebook_demo: str = ""   # code for the guiding notebook: builds `inputs` (Tensors) for this exercise
    large_case: Optional[Case] = None  # large inputs that a backward costing about one forward handles in well
    #                                    under a second, and finite differences (one forward per input element,
    #                                    or per colour of the Jacobian) cannot (see grading/derivation.py)

    @property
    def solution_path(self):
        return SOLUTIONS / f"{self.task}.py"

    @property
    def differentiable(self):
        """Positions of the arguments that receive gradients."""
        return tuple(i for i, argument in enumerate(self.arguments) if argument.differentiable)

    def statement(self):
        """The solution file's module docstring: the exercise as students read it."""
        import ast
        return ast.get_docstring(ast.parse(self.solution_path.read_text())) or ""


def case_generator(seed, task, case_name):
    """The generator for one case: a function of the run's seed and the case's name only."""
    return numpy.random.default_rng([seed, zlib.crc32(f"{task}/{case_name}".encode())])


def get(task):
    """The :class:`Exercise` with task id `task` (ValueError listing the tasks if there is none)."""
    if task not in TASKS:
        raise ValueError(f"unknown assignment {task!r}; the exercises are: {', '.join(TASKS)}")
    return importlib.import_module(f"minigrad.grading.references.{task}").EXERCISE


def all_exercises():
    return [get(task) for task in TASKS]


# --- helpers the exercise files share ---------------------------------------------------------------------------
def unbroadcast(grad, shape):
    """Sum `grad` down to `shape` (the reference's own copy, independent of minigrad's)."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
