"""The class report: `minigrad grade --class FOLDER --report report.md` summarises a graded class for the
instructor (score distribution with a histogram PNG, each check's pass rate, the most frequent hints)."""

import shutil

from minigrad.grading.report import write_report
from tests.grading.conftest import BUGS, RELEASE, SOLUTIONS, run_minigrad


def test_a_graded_class_gets_a_report_with_its_distribution_pass_rates_and_hints(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("ada", "bob"):
        shutil.copyfile(SOLUTIONS / "layernorm.py", folder / f"{student}.py")
    shutil.copyfile(BUGS / "layernorm_missing_mean_term.py", folder / "carol.py")
    shutil.copyfile(RELEASE / "layernorm.py", folder / "dave.py")
    (folder / "erin").mkdir()  # nothing handed in
    report = tmp_path / "out" / "report.md"
    report.parent.mkdir()
    process = run_minigrad("grade", "--class", folder, "--assignment", "layernorm", "--report", report,
                           "--seed", 4, "--jobs", 2)
    assert process.returncode == 0, process.stderr
    text = report.read_text()
    assert "5 submissions: 4 graded, 1 not graded" in text and "Scores out of 17 points" in text
    assert "| mean | median |" in text and "| 17 | 2 | 1 |" in text  # highest 17: two full marks, the stub zero
    assert "![score distribution](report.png)" in text
    assert (tmp_path / "out" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 1 | loads, and defines LayerNorm as a minigrad.Function | 0 | 4 | 100% | 0.00 |" in text
    assert "| 7 | gradient of x on hidden inputs | 1 | 2 | 50% | 0.50 |" in text  # ada and bob only
    assert "| 1 | each row of dL/dx must sum to zero" in text  # carol's hint, once
    assert "| erin | no .py or .ipynb file in the submission |" in text
    assert "| 15.3 to 17 | 2 |" in text


def test_the_report_escapes_what_students_control(tmp_path):
    rows = [{"student": "a|b<img src=x>\x1b[2J", "status": "no .py or .ipynb file in the submission",
             "score": 0.0, "max_score": 3.0}]
    paths = write_report(tmp_path / "r.md", rows, "silu")
    text = (tmp_path / "r.md").read_text()
    assert "a\\|b&lt;img src=x&gt;\\x1b[2J" in text and "\x1b" not in text
    assert "0 graded, 1 not graded" in text and "No targeted hint came up." in text
    assert paths[0] == tmp_path / "r.md"


def test_the_same_hint_with_other_numbers_counts_as_one_cause(tmp_path):
    def student(name, row, total):
        output = (f"the gradient of x is wrong. Hint: each row of dL/dx must sum to zero, but your row {row} sums "
                  f"to {total}: the path through the mean mu is missing or wrong.")
        tests = [{"name": "gradient of x on hidden inputs", "score": 0.0, "max_score": 1.0, "status": "failed",
                  "output": output}]
        return {"student": name, "status": "graded", "score": 0.0, "max_score": 1.0, "results": {"tests": tests}}

    write_report(tmp_path / "r.md", [student("a", 2, 564), student("b", 0, -1.5e-3)], "layernorm")
    text = (tmp_path / "r.md").read_text()
    assert "| 2 | each row of dL/dx must sum to zero, but your row # sums to #: the path through the mean" in text
    assert "| gradient of x on hidden inputs | 1 | 0 | 0% | 0.00 |" in text
