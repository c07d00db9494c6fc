"""The grader's scoring: secret inputs, failure messages, Gradescope's format, malformed answers."""

import json

import numpy
import pytest

from minigrad.grading import spec
from minigrad.grading.compare import mismatch
from minigrad.grading.spec import FLOAT64
from minigrad.grading.grader import PUBLIC_SEED, Group, grade, plan, prepare
from minigrad.grading.sandbox import ChildResult
from tests.grading.conftest import SOLUTIONS


# --- inputs ------------------------------------------------------------------------------------------------------
def test_hidden_inputs_come_from_the_seed_and_the_case_name_only():
    task = spec.get("layernorm")
    case = task.hidden_cases[0]
    again = prepare(task, case, seed=5)
    numpy.testing.assert_array_equal(prepare(task, case, seed=5).args[0], again.args[0])
    assert not numpy.array_equal(prepare(task, case, seed=6).args[0], again.args[0])
    other = prepare(task, task.hidden_cases[1], seed=5)
    assert other.args[0].shape != again.args[0].shape  # each case draws from its own generator


def test_each_run_draws_a_new_secret_seed():
    first = grade(SOLUTIONS / "silu.py", "silu", public_only=True)
    second = grade(SOLUTIONS / "silu.py", "silu", public_only=True)
    assert first.seed != second.seed


def test_hard_coded_outputs_pass_the_public_example_and_fail_the_hidden_inputs(tmp_path):
    task = spec.get("silu")
    public = prepare(task, task.public_case, PUBLIC_SEED)
    path = tmp_path / "memorized.py"
    path.write_text(
        "import minigrad\nimport numpy\n\nclass SiLU(minigrad.Function):\n    @staticmethod\n    def forward(ctx, x):\n"
        f"        return numpy.array({public.expected_output.tolist()!r}, dtype=x.dtype)\n\n"
        "    @staticmethod\n    def backward(ctx, grad_output):\n"
        f"        return numpy.array({public.expected_grads[0].tolist()!r})\n")
    report = grade(path, "silu", jobs=2)
    checks = {check.name: check for check in report.checks}
    assert checks["public: forward on the published example"].passed
    gradients = checks["public: gradients on the published example"]  # right, but no backward behind them:
    assert not gradients.passed and gradients.output.startswith("not counted")  # the large case takes them back
    assert not checks["forward on hidden inputs"].passed
    assert not checks["gradient of x on hidden inputs"].passed
    assert report.score <= 3


# --- messages ----------------------------------------------------------------------------------------------------
def test_mismatch_accepts_agreement_within_tolerance():
    expected = numpy.array([[1.0, -2.0], [3.0, 0.5]])
    assert mismatch("the gradient of x", expected + 1e-12, expected, FLOAT64) is None


@pytest.mark.parametrize("yours, words", [
    (lambda e: numpy.zeros_like(e), ["exactly zero everywhere"]),
    (lambda e: 0.75 * e, ["times 0.75"]),
    (lambda e: -e, ["negative of the right answer"]),
    (lambda e: e.T.copy(), ["transposed"]),
    (lambda e: numpy.broadcast_to(e, (5,) + e.shape).copy(), ["has shape (5, 3, 3) but should have shape (3, 3)",
                                                               "summed over the broadcast axes"]),
    (lambda e: numpy.where(e > 0, numpy.nan, e), ["non-finite", "NaN"]),
    (lambda e: None, ["missing"]),
])
def test_mismatch_names_the_index_the_values_and_the_likely_cause(yours, words):
    expected = numpy.random.default_rng(0).standard_normal((3, 3))
    message = mismatch("the gradient of weight", yours(expected), expected, FLOAT64)
    assert message is not None and message.startswith("the gradient of weight")
    for word in words:
        assert word in message, message


def test_an_all_zero_output_is_not_called_a_missing_gradient():
    expected = numpy.random.default_rng(0).standard_normal((3, 3))
    message = mismatch("the output", numpy.zeros_like(expected), expected, FLOAT64, gradient=False)
    assert "exactly zero everywhere" in message and "gradient" not in message, message


def test_a_wrong_value_is_located_by_index_and_size():
    expected = numpy.zeros((2, 3))
    yours = expected.copy()
    yours[1, 2] = 0.5
    message = mismatch("the output", yours, expected, FLOAT64, gradient=False)
    assert "index (1, 2): yours 0.5, expected 0" in message and "1 of 6 elements" in message


# --- malformed answers from the child ----------------------------------------------------------------------------
def _score(task_name, arrays=None, failure=None):
    task = spec.get(task_name)
    gradients = next(group for group in plan(task, seed=1) if group.name == "gradients")
    return gradients.score(ChildResult(arrays=arrays, failure=failure))


def test_a_child_that_returned_nothing_scores_zero_with_its_reason():
    rows = _score("layernorm", failure="timed out: your code was stopped after 20 s")
    assert all(row.score == 0 and "timed out" in row.output for row in rows)


def test_wrong_dtypes_counts_and_missing_keys_score_zero():
    count = {"call0.count": numpy.asarray(3)}  # LayerNorm's backward must return four values
    rows = _score("layernorm", arrays=count)
    assert all(row.score == 0 for row in rows)
    assert "backward returned 3 value(s), but forward takes 4 arguments (x, weight, bias, eps)" in rows[0].output
    text = {"call0.count": numpy.asarray(4), "call0.grad0": numpy.asarray(["not numbers"])}
    rows = _score("layernorm", arrays=text)
    assert rows[0].score == 0 and "not a number type" in rows[0].output


def test_group_encodes_arrays_by_reference_and_values_inline():
    task = spec.get("layernorm")
    group = Group(task, "example")
    prepared = prepare(task, task.public_case, PUBLIC_SEED)
    index = group.evaluate(prepared)
    calls, inputs = group.request()
    call = calls[group.slot[index]]
    assert call["args"][3] == {"value": 1e-5}
    assert call["args"][0] == {"array": f"call{group.slot[index]}.arg0", "requires_grad": True}
    numpy.testing.assert_array_equal(inputs[call["grad_output"]], prepared.grad_output)


def test_finite_difference_points_are_plain_forward_calls_in_a_secret_order():
    task = spec.get("silu")
    prepared = prepare(task, task.gradcheck_case, seed=3)
    orders = []
    for _ in range(3):
        group = Group(task, "gradcheck")
        evaluated, points = group.evaluate(prepared), group.sweep(prepared)
        calls, _ = group.request()
        assert len(calls) == 1 + 2 * prepared.args[0].size
        assert all(set(call) == {"mode", "args", "grad_output"} and call["mode"] == "evaluate" for call in calls)
        assert sum(call["grad_output"] is None for call in calls) == 2 * prepared.args[0].size
        orders.append([group.slot[i] for i in range(len(calls))])
    assert orders[0] != orders[1] or orders[1] != orders[2]


# --- reports -----------------------------------------------------------------------------------------------------
def test_gradescope_results_have_the_documented_fields(tmp_path):
    report = grade(SOLUTIONS / "rmsnorm.py", "rmsnorm", jobs=2, hidden_visibility="after_published")
    results = json.loads(json.dumps(report.gradescope()))
    assert results["score"] == report.max_score == sum(test["max_score"] for test in results["tests"])
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility", "status"}
        assert test["status"] == "passed"
    visibility = {test["name"]: test["visibility"] for test in results["tests"]}
    assert visibility["public: forward on the published example"] == "visible"
    assert visibility["forward on hidden inputs"] == "after_published"
    table = report.table()
    assert "forward on hidden inputs" in table and f"score: {report.max_score:g}/{report.max_score:g}" in table


def test_public_only_runs_the_load_check_and_the_four_public_checks():
    report = grade(SOLUTIONS / "layernorm.py", "layernorm", public_only=True)
    assert [check.name.split(":")[0] for check in report.checks] == ["loads, and defines LayerNorm as a "
                                                                      "minigrad.Function", "public", "public",
                                                                      "public", "public"]
    assert report.checks[-1].name == "public: the published example on the CuPy-like backend"
    assert report.score == report.max_score == 4


def test_an_unknown_assignment_lists_the_exercises():
    with pytest.raises(ValueError, match="layernorm"):
        grade(SOLUTIONS / "layernorm.py", "layer_norm")
