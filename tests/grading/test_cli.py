"""The `minigrad` command as students and instructors type it."""

import json

from minigrad.grading import spec
from minigrad.grading import release
from tests.grading.conftest import RELEASE, SOLUTIONS, run_minigrad


def test_check_passes_a_solution_and_fails_a_stub_with_the_exit_status():
    passed = run_minigrad("check", SOLUTIONS / "layernorm.py", "--assignment", "layernorm")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "score: 4/4" in passed.stdout
    failed = run_minigrad("check", RELEASE / "layernorm.py", "--assignment", "layernorm")
    assert failed.returncode == 1
    assert "FAIL" in failed.stdout and "layernorm: LayerNorm.forward is not implemented yet" in failed.stdout


def test_grade_prints_the_table_and_writes_results_json(tmp_path):
    results = tmp_path / "out" / "results.json"
    process = run_minigrad("grade", SOLUTIONS / "weightnorm.py", "--assignment", "weightnorm", "--json", results)
    assert process.returncode == 0, process.stderr
    assert "gradient of v on hidden inputs" in process.stdout
    data = json.loads(results.read_text())
    assert data["score"] == sum(test["max_score"] for test in data["tests"]) > 0


def test_grading_a_missing_file_gives_zero_and_says_why(tmp_path):
    results = tmp_path / "results.json"
    process = run_minigrad("grade", tmp_path / "nothing.py", "--assignment", "silu", "--json", results)
    assert process.returncode == 0
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "no such file" in data["tests"][0]["output"]


def test_unknown_assignment_is_a_usage_error():
    process = run_minigrad("grade", SOLUTIONS / "silu.py", "--assignment", "softmax")
    assert process.returncode == 2 and "invalid choice" in process.stderr


def test_release_check_and_release_out(tmp_path):
    assert run_minigrad("release", "--check").returncode == 0
    process = run_minigrad("release", "--out", tmp_path)
    assert process.returncode == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(release.generate())
    (tmp_path / "silu.py").write_text("# edited by hand\n")
    stale = run_minigrad("release", "--check", "--out", tmp_path)
    assert stale.returncode == 1 and "silu.py" in stale.stderr


def test_exercises_lists_every_task():
    process = run_minigrad("exercises")
    assert process.returncode == 0
    assert [line.split()[0] for line in process.stdout.splitlines()] == list(spec.TASKS)
