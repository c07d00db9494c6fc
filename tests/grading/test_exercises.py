"""Every reference solution scores full marks and every released stub scores zero, through the real grader."""

import ast

import pytest

from minigrad.grading import spec
from minigrad.grading.grader import grade
from tests.grading.conftest import RELEASE

TASKS = spec.TASKS


def test_there_are_at_least_six_exercises_with_the_layernorm_interface():
    assert len(TASKS) >= 6
    layernorm = spec.get("layernorm")
    assert layernorm.function == "LayerNorm"
    assert [argument.name for argument in layernorm.arguments] == ["x", "weight", "bias", "eps"]
    tree = ast.parse(layernorm.solution_path.read_text())
    cls = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "LayerNorm")
    assert ast.unparse(cls.bases[0]) == "minigrad.Function"
    methods = {node.name: [a.arg for a in node.args.args] for node in cls.body if isinstance(node, ast.FunctionDef)}
    assert methods == {"forward": ["ctx", "x", "weight", "bias", "eps"], "backward": ["ctx", "grad_output"]}


@pytest.mark.parametrize("task", TASKS)
def test_reference_solution_scores_full_marks(task):
    report = grade(spec.get(task).solution_path, task, jobs=2)
    failed = [f"{check.name}: {check.output}" for check in report.checks if not check.passed]
    assert not failed, "\n".join(failed)
    assert report.score == report.max_score > 0


@pytest.mark.parametrize("task", TASKS)
def test_released_stub_scores_zero(task):
    stub = RELEASE / f"{task}.py"
    report = grade(stub, task, jobs=2)
    assert report.score == 0, [(check.name, check.score) for check in report.checks]
    assert report.checks[0].passed, "the stub must load (it fails when called, not when imported)"
    first_failure = next(check for check in report.checks if not check.passed)
    assert f"NotImplementedError: {task}:" in first_failure.output


@pytest.mark.parametrize("task", TASKS)
def test_statement_names_the_task_and_the_public_check_command(task):
    exercise = spec.get(task)
    statement = exercise.statement()
    assert statement.startswith(f"Exercise `{task}`")
    assert f"minigrad check {task}.py --assignment {task}" in statement
    assert "get_array_module" in statement
