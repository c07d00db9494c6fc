"""A catalogue of realistic student bugs: each loses points, and the failure message points at what is wrong.

Every file in tests/grading/bugs/ is a plausible submission with one bug (its docstring says which). For each,
the table below names the rows that must fail, a row that must still pass (so the grader is not just failing
everything), and words the failure message must contain: the argument whose gradient is wrong, the shape, the
hint. All are graded with one fixed seed, through the same grader the command uses.
"""

import pytest

from minigrad.grading.grader import grade
from tests.grading.conftest import BUGS

# file: (assignment, {failing row: words its message must contain}, a row that must pass)
CATALOGUE = {
    "layernorm_zero_grad_x": (
        "layernorm", {"gradient of x on hidden inputs": ["gradient of x is wrong", "exactly zero everywhere"],
                      "gradient check": ["gradient of x", "finite differences give"]},
        "gradient of weight on hidden inputs"),
    "layernorm_unbiased_variance": (
        "layernorm", {"forward on hidden inputs": ["the output is wrong at index"],
                      "edge case: batch of two": ["the output is wrong"]},
        "gradient of bias on hidden inputs"),
    "layernorm_missing_mean_term": (
        "layernorm", {"gradient of x on hidden inputs": ["gradient of x is wrong at index"],
                      "gradient check": ["your backward disagrees with your own forward", "gradient of x"]},
        "gradient of weight on hidden inputs"),
    "layernorm_weight_grad_not_summed": (
        "layernorm", {"gradient of weight on hidden inputs": ["gradient of weight has shape (8, 16) but should "
                                                              "have shape (16,)", "summed over the broadcast"],
                      "gradient of bias on hidden inputs": ["gradient of bias has shape"]},
        "gradient of x on hidden inputs"),
    "layernorm_one_pass_variance": (
        "layernorm", {"edge case: large values": ["non-finite", "two passes"]},
        "forward on hidden inputs"),
    "layernorm_numpy_instead_of_xp": (
        "layernorm", {"edge case: CuPy-like backend": ["Implicit conversion to a NumPy array", "get_array_module"]},
        "edge case: float32 inputs"),
    "layernorm_eps_hard_coded": (
        "layernorm", {"forward on hidden inputs": ["1 of 3", "eps=0.001"]},
        "edge case: constant rows"),
    "matmul_transposed_grad": (
        "matmul", {"gradient of b on hidden inputs": ["gradient of b has shape", "transposed"],
                   "edge case: batch of two square matrices": ["gradient of b is wrong", "transposed"]},
        "gradient of a on hidden inputs"),
    "matmul_broadcast_not_reduced": (
        "matmul", {"gradient of a on hidden inputs": ["gradient of a has shape (2, 5, 3, 4) but should have shape "
                                                      "(2, 1, 3, 4)", "broadcast"],
                   "gradient of b on hidden inputs": ["gradient of b has shape"]},
        "forward on hidden inputs"),
    "layernorm_missing_variance_term": (
        "layernorm", {"gradient of x on hidden inputs": ["gradient of x is wrong", "path through the variance"]},
        "gradient of weight on hidden inputs"),
    "batchnorm_missing_variance_term": (
        "batchnorm", {"gradient of x on hidden inputs": ["gradient of x is wrong", "path through the variance"]},
        "gradient of bias on hidden inputs"),
    "batchnorm_missing_mean_term": (
        "batchnorm", {"gradient of x on hidden inputs": ["gradient of x is wrong"],
                      "gradient check": ["gradient of x"]},
        "gradient of weight on hidden inputs"),
    "batchnorm_unbiased_variance": (
        "batchnorm", {"forward on hidden inputs": ["the output is wrong"],
                      "edge case: batch of two": ["the output is wrong", "biased variance"]},
        "loads"),
    "rnn_cell_no_recurrent_grad": (
        "rnn_cell", {"gradient of h on hidden inputs": ["gradient of h is missing"],
                     "backpropagation through time over 5 steps: every gradient": ["gradient of x is wrong"]},
        "gradient of weight_ih on hidden inputs"),
    "rnn_cell_state_on_class": (
        "rnn_cell", {"backpropagation through time over 5 steps: every gradient": ["is wrong at index",
                                                                                   "its own ctx"],
                     "backpropagation through time over 5 steps: gradient check": ["disagrees"]},
        "gradient check: your backward"),
    "cross_entropy_ignores_grad_output": (
        "cross_entropy", {"gradient of logits on hidden inputs": ["gradient of logits is wrong",
                                                                  "right answer times"]},
        "forward on hidden inputs"),
    "cross_entropy_unstable_softmax": (
        "cross_entropy", {"edge case: large logits": ["non-finite", "maximum is subtracted"]},
        "gradient of logits on hidden inputs"),
    "weightnorm_no_projection": (
        "weightnorm", {"gradient of v on hidden inputs": ["gradient of v is wrong"],
                       "edge case: one input per unit": ["gradient of v is wrong", "must be zero"]},
        "gradient of g on hidden inputs"),
    "rmsnorm_eps_outside_sqrt": (
        "rmsnorm", {"forward on hidden inputs": ["the output is wrong"],
                    "edge case: small values where eps matters": ["the output is wrong", "sqrt(mean(x^2) + eps)"],
                    # self-consistent, but a gradient check counts only where the forward is right
                    "gradient check: your backward": ["counts only when your forward is right"]},
        "loads"),
    "silu_product_rule_half": (
        "silu", {"gradient of x on hidden inputs": ["gradient of x is wrong"],
                 "gradient check": ["gradient of x", "finite differences give"]},
        "forward on hidden inputs"),
}


def test_the_catalogue_has_at_least_ten_bugs_and_a_file_for_each():
    files = {path.stem for path in BUGS.glob("*.py") if path.stem != "__init__"}
    assert len(CATALOGUE) >= 10
    assert files == set(CATALOGUE)


def _row(report, prefix):
    matches = [check for check in report.checks if check.name.startswith(prefix)]
    assert len(matches) == 1, f"no single row starts with {prefix!r}: {[c.name for c in report.checks]}"
    return matches[0]


@pytest.mark.parametrize("bug", sorted(CATALOGUE))
def test_bug_loses_points_with_a_message_that_points_at_it(bug):
    assignment, failing, passing = CATALOGUE[bug]
    report = grade(BUGS / f"{bug}.py", assignment, seed=2024, jobs=2)
    assert report.score < report.max_score
    for prefix, words in failing.items():
        row = _row(report, prefix)
        assert not row.passed, f"{prefix} passed"
        for word in words:
            assert word in row.output, f"{prefix}: {word!r} not in\n{row.output}"
    assert _row(report, passing).passed, f"{passing} should pass:\n{_row(report, passing).output}"
