"""Feedback that teaches, through the real command: the student's prints after `check`'s table, targeted hints
from the mathematics of each op, the strict backend in the public checks, the student's own file and line in
errors, and output paths checked before a class is graded."""

import json

import pytest

from tests.grading.conftest import BUGS, SOLUTIONS, run_minigrad

# bug file: (assignment, words of the targeted hint that must appear in `minigrad grade`'s table)
TARGETED = {
    "layernorm_missing_mean_term": ("layernorm", ["Hint: each row of dL/dx must sum to zero",
                                                  "the path through the mean mu is missing"]),
    "layernorm_missing_variance_term": ("layernorm", ["Hint: each row of dL/dx must be orthogonal to that row of xhat",
                                                      "the path through the variance is missing"]),
    "batchnorm_missing_mean_term": ("batchnorm", ["Hint: each column of dL/dx must sum to zero"]),
    "batchnorm_missing_variance_term": ("batchnorm", ["Hint: each column of dL/dx must be orthogonal"]),
    "layernorm_unbiased_variance": ("layernorm", ["times sqrt((D - 1)/D)", "unbiased"]),
    "batchnorm_unbiased_variance": ("batchnorm", ["times sqrt((N - 1)/N)", "unbiased"]),
    "rnn_cell_no_recurrent_grad": ("rnn_cell", ["nothing arrives from later steps", "recurrent term"]),
    "matmul_transposed_grad": ("matmul", ["these are the right values, transposed", "(dL/db)^T"]),
    "cross_entropy_unstable_softmax": ("cross_entropy", ["NaN or inf from finite logits", "log-sum-exp"]),
}


@pytest.mark.parametrize("bug", sorted(TARGETED))
def test_a_buggy_submission_gets_the_hint_its_mathematics_points_to(bug):
    assignment, words = TARGETED[bug]
    process = run_minigrad("grade", BUGS / f"{bug}.py", "--assignment", assignment, "--seed", 5)
    assert process.returncode == 0, process.stderr
    table = " ".join(process.stdout.split())  # the table wraps long lines
    for word in words:
        assert word in table, f"{word!r} not in\n{process.stdout}"


def test_a_correct_submission_gets_no_targeted_hint():
    for task in ("layernorm", "batchnorm", "rnn_cell", "matmul", "cross_entropy"):
        process = run_minigrad("grade", SOLUTIONS / f"{task}.py", "--assignment", task)
        assert "Hint:" not in process.stdout and "FAIL" not in process.stdout, process.stdout


PRINTING = '''import sys
import minigrad

print("loading my op")


class SiLU(minigrad.Function):
    @staticmethod
    def forward(ctx, x):
        import numpy
        print("forward got", x.shape, "\\x1b[2J")
        sys.stderr.write("debug: on stderr\\n")
        sigmoid = 1 / (1 + numpy.exp(-numpy.asarray(x)))
        ctx.save_for_backward(x, sigmoid)
        return x * sigmoid

    @staticmethod
    def backward(ctx, grad_output):
        x, sigmoid = ctx.saved_tensors
        return grad_output * sigmoid * (1 + x * (1 - sigmoid))
'''


def test_check_shows_the_students_prints_after_the_table_and_fails_numpy_on_the_strict_backend(tmp_path):
    path = tmp_path / "silu.py"
    path.write_text(PRINTING)
    process = run_minigrad("check", path, "--assignment", "silu")
    assert process.returncode == 1  # numpy.asarray on the op's arrays: the public strict-backend check fails
    table, _, printed = process.stdout.partition("what your code printed")
    table = " ".join(table.split())
    assert "public: the published example on the CuPy-like backend" in table and "score: 3/4" in table
    assert "Implicit conversion to a NumPy array" in table and "(silu.py, line 13, in forward:" in table
    assert "| loading my op" in printed and "| forward got (2, 4)" in printed and "| debug: on stderr" in printed
    assert "stdout (checks: public" in printed and "stderr (checks: public" in printed
    assert "\x1b" not in process.stdout and "\\x1b[2J" in printed  # escapes shown, not obeyed


def test_grade_keeps_the_prints_out_of_the_score_and_the_table_but_in_results_json(tmp_path):
    path = tmp_path / "silu.py"
    path.write_text(PRINTING.replace("numpy.exp(-numpy.asarray(x))", "minigrad.get_array_module(x).exp(-x)"))
    results = tmp_path / "results.json"
    process = run_minigrad("grade", path, "--assignment", "silu", "--json", results)
    data = json.loads(results.read_text())
    assert data["score"] == sum(test["max_score"] for test in data["tests"])
    assert "loading my op" not in process.stdout
    assert "what your code printed" in data["output"] and "| loading my op" in data["output"]


def test_a_syntax_error_and_a_runtime_error_name_the_students_file_and_line(tmp_path):
    path = tmp_path / "my_layernorm.py"
    path.write_text("import minigrad\n\n\nclass LayerNorm(minigrad.Function)\n    pass\n")
    process = run_minigrad("check", path, "--assignment", "layernorm")
    assert "SyntaxError" in process.stdout and "(my_layernorm.py, line 4)" in process.stdout
    assert "submission.py" not in process.stdout
    source = (SOLUTIONS / "layernorm.py").read_text().replace("normalized, inv_std, weight = ctx.saved_tensors",
                                                              "normalized, inv_std = ctx.saved_tensors")
    path.write_text(source)
    line = next(number for number, text in enumerate(source.splitlines(), 1)
                if "normalized, inv_std = ctx.saved_tensors" in text)
    process = run_minigrad("check", path, "--assignment", "layernorm")
    assert f"(my_layernorm.py, line {line}, in backward:" in " ".join(process.stdout.split())


@pytest.mark.parametrize("option", ["--csv", "--report"])
def test_output_paths_are_checked_before_a_class_is_graded(tmp_path, option):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ada.py").write_text("while True:\n    pass\n")  # grading it would take the whole timeout
    process = run_minigrad("grade", "--class", folder, "--assignment", "silu", option, tmp_path / "missing" / "out",
                           timeout=30)
    assert process.returncode == 2
    assert "does not exist" in process.stderr and "nothing was graded" in process.stderr
    assert "ada" not in process.stdout
