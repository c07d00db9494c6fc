"""A class graded in parallel with `minigrad grade FOLDER --csv`: each student gets the grade of their own file,
whatever the others do, and the instructor's folder is left as it was."""

import csv
import json

from minigrad.grading.batch import find_submissions
from tests.grading.conftest import RELEASE, SOLUTIONS, run_minigrad, snapshot
from tests.grading.test_attacks import FORWARD, submission


def test_a_class_is_graded_in_parallel_and_every_student_gets_their_own_grade(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "ada.py").write_text((SOLUTIONS / "silu.py").read_text())
    (folder / "bob.py").write_text((RELEASE / "silu.py").read_text())
    (folder / "carol.py").write_text(submission(forward=FORWARD.replace(  # hangs on float32 inputs only
        "xp = minigrad", "while x.dtype == numpy.float32:\n            pass\n        xp = minigrad")))
    (folder / "dave.py").write_text(submission(f"""
    import os, shutil
    for name in ["ada.py", "bob.py", "erin"]:
        try:
            os.remove(os.path.join({str(folder)!r}, name))
        except Exception:
            pass
    try:
        shutil.rmtree({str(folder)!r})
    except Exception:
        pass
    """))
    (folder / "erin").mkdir()  # a student folder, as an LMS export lays it out
    (folder / "erin" / "silu.py").write_text(submission(forward=FORWARD.replace("return x * sigmoid",
                                                                                "import os; os._exit(0)")))
    (folder / "frank").mkdir()  # nothing to grade
    (folder / "frank" / "notes.txt").write_text("forgot to upload")
    before = snapshot(folder)

    scores, results = tmp_path / "scores.csv", tmp_path / "results"
    process = run_minigrad("grade", "--class", folder, "--assignment", "silu", "--csv", scores, "--json", results,
                           "--jobs", 2, "--timeout", 1.5, "--seed", 7)
    assert process.returncode == 0, process.stderr
    assert snapshot(folder) == before

    with open(scores) as file:
        table = {row["student"]: row for row in csv.DictReader(file)}
    assert sorted(table) == ["ada", "bob", "carol", "dave", "erin", "frank"]
    full = float(table["ada"]["max_score"])
    assert float(table["ada"]["score"]) == full
    assert float(table["bob"]["score"]) == 0
    assert float(table["carol"]["score"]) == full - 1 and float(table["carol"]["edge case: float32 inputs"]) == 0
    assert float(table["dave"]["score"]) == full          # the attack failed; the honest op is right
    assert float(table["erin"]["score"]) == 0             # forward ends the process: nothing comes back
    assert table["frank"]["status"] == "no .py or .ipynb file in the submission"
    for student in ("ada", "bob", "carol", "dave", "erin"):
        assert table[student]["status"] == "graded"
        assert json.loads((results / f"{student}.json").read_text())["score"] == float(table[student]["score"])


def test_find_submissions_reads_files_and_student_folders(tmp_path):
    (tmp_path / "a.py").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "helper.py").write_text("")
    (tmp_path / "b" / "layernorm.py").write_text("")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.py").write_text("")
    (tmp_path / "c" / "y.py").write_text("")
    (tmp_path / ".hidden.py").write_text("")
    entries = {entry.student: entry for entry in find_submissions(tmp_path, "layernorm")}
    assert sorted(entries) == ["a", "b", "c"]
    assert entries["b"].path.name == "layernorm.py"
    assert entries["c"].problem.startswith("2 .py/.ipynb files")
