"""``python -m minigrad.bench.lessons``: it times the named lessons, and with --against alternates two checkouts."""

import re
import shutil

import pytest

from minigrad.bench import lessons

pytest.importorskip("nbclient")


def test_it_times_one_lesson_in_each_checkout_alternately(tmp_path, capsys):
    """The second checkout is a copy of this one's lesson 2 and package: each line names its checkout."""
    other = tmp_path / "other"
    (other / "lessons").mkdir(parents=True)
    shutil.copy(lessons.REPOSITORY / "lessons" / "02_writing_an_op.ipynb", other / "lessons")
    shutil.copytree(lessons.REPOSITORY / "minigrad", other / "minigrad",
                    ignore=shutil.ignore_patterns("__pycache__", "results"))
    lessons.main(["--only", "2", "--against", str(other)])
    output = capsys.readouterr().out
    timed = re.findall(r"^(this|against) 02_writing_an_op\.ipynb: ([0-9.]+) s", output, flags=re.MULTILINE)
    assert [label for label, _ in timed] == ["this", "against"]
    assert all(float(seconds) > 0 for _, seconds in timed)
    assert re.search(r"^against: total [0-9.]+ s over 1 run", output, flags=re.MULTILINE)
