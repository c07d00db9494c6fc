"""Grading a whole class: every submission in a folder, in parallel, into a CSV of scores.

A class folder holds one entry per student, either

- a file ``<student>.py``, or
- a folder ``<student>/`` with the student's file inside (``<task>.py`` if there are several ``.py`` files),
  which is how an LMS or Gradescope export lays submissions out.

Submissions are graded by a pool of worker processes, one submission per worker at a time; inside, every check
group still runs in its own sandboxed child. A submission that loops, crashes or attacks the grader costs only its
own checks: its worker moves on to the next submission once its children have been killed, and nothing a child
does reaches the grader's files (see :mod:`minigrad.grading.child`). The CSV and the per-student results JSON are
written here, by the grader, after all children have exited.
"""

import csv
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from minigrad.grading.grader import grade
from minigrad.grading.notebook import SUFFIXES, find_submission
from minigrad.grading.sandbox import Limits


@dataclass
class Entry:
    student: str
    path: Path = None
    problem: str = None  # why there is nothing to grade (no .py file, several candidates)


def find_submissions(folder, assignment):
    """The class folder's entries, sorted by student name."""
    entries = []
    for item in sorted(Path(folder).iterdir()):
        if item.name.startswith((".", "_")):
            continue
        if item.is_file() and item.suffix in SUFFIXES:
            entries.append(Entry(item.stem, item))
        elif item.is_dir():
            path, problem = find_submission(item, assignment)
            entries.append(Entry(item.name, path, problem))
    return entries


def _grade_one(path, assignment, seed, limits, hidden_visibility):
    report = grade(path, assignment, seed=seed, limits=limits, jobs=1, hidden_visibility=hidden_visibility)
    return report.score, report.max_score, report.gradescope(), [(c.name, c.score) for c in report.checks], \
        report.seconds, report.seed


def grade_folder(folder, assignment, *, jobs=None, limits=Limits(), seed=None, csv_path=None, json_dir=None,
                 hidden_visibility="visible", progress=sys.stderr):
    """Grade every submission in `folder`; write `csv_path` (and one results JSON per student into `json_dir`).

    Returns a list of rows (dicts): student, file, score, max_score, status, seconds and one column per check.
    """
    entries = find_submissions(folder, assignment)
    jobs = jobs or multiprocessing.cpu_count()
    rows, check_names, started = {}, [], time.perf_counter()
    context = multiprocessing.get_context("spawn")  # workers start clean: no inherited threads or state
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
        futures = {pool.submit(_grade_one, entry.path, assignment, seed, limits, hidden_visibility): entry
                   for entry in entries if entry.problem is None}
        for entry in entries:
            if entry.problem is not None:
                rows[entry.student] = {"student": entry.student, "file": "", "score": 0.0, "max_score": None,
                                       "status": entry.problem, "seconds": 0.0}
        for done, future in enumerate(as_completed(futures), 1):
            entry = futures[future]
            row = {"student": entry.student, "file": str(entry.path)}
            try:
                score, max_score, results, checks, seconds, run_seed = future.result()
            except Exception as error:  # a grader failure on one submission must not stop the class
                row.update(score=0.0, max_score=None, status=f"grading error: {type(error).__name__}: {error}",
                           seconds=0.0)
            else:
                row.update(score=score, max_score=max_score, status="graded", seconds=round(seconds, 2),
                           seed=run_seed)
                row.update(checks)
                check_names = check_names or [name for name, _ in checks]
                if json_dir is not None:
                    Path(json_dir).mkdir(parents=True, exist_ok=True)
                    (Path(json_dir) / f"{entry.student}.json").write_text(json.dumps(results, indent=1))
            rows[entry.student] = row
            if progress is not None:
                progress.write(f"[{done}/{len(futures)}] {entry.student}: {row['score']:g}/"
                               f"{row['max_score'] if row['max_score'] is not None else '?'} "
                               f"({row['status']}, {row['seconds']:.1f} s)\n")
    ordered = [rows[entry.student] for entry in entries]
    maximum = next((row["max_score"] for row in ordered if row["max_score"] is not None), None)
    for row in ordered:
        row["max_score"] = maximum if row["max_score"] is None else row["max_score"]
    if csv_path is not None:
        _write_csv(csv_path, ordered, check_names)
    if progress is not None:
        progress.write(f"graded {len(ordered)} submissions in {time.perf_counter() - started:.1f} s "
                       f"with {jobs} worker(s)\n")
    return ordered


def _write_csv(path, rows, check_names):
    columns = ["student", "score", "max_score", "status", "seconds", "seed", "file"] + check_names
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, 0.0 if column in check_names else "") for column in columns})
