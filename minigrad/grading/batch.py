"""Grading a whole class: every submission in a folder, in parallel, into a CSV of scores.

A class folder holds one entry per student, either

- a file ``<student>.py``, or
- a folder ``<student>/`` with the student's file inside (``<task>.py`` if there are several ``.py`` files),
  which is how an LMS or Gradescope export lays submissions out.

Symbolic links are refused, not followed. Two entries that name the same student (``alice.py`` and ``alice/``)
are both graded, each under its own entry name, and the status says so: nothing is merged or lost.

Submissions are graded by worker processes, one submission per worker at a time; inside, every check group still
runs in its own sandboxed child. A worker that dies is replaced, and the submission it was grading is graded once
more in a fresh worker; if that worker dies too, the student gets a "grading error" row and every other student
is unaffected. All temporary folders of all workers live under one root that this process removes at the end.
The CSV and the per-student results JSON are written here, by the grader, after all children have exited.
"""

import csv
import json
import multiprocessing
import os
import re
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

from minigrad.grading import sandbox
from minigrad.grading.grader import grade
from minigrad.grading.notebook import SUFFIXES, find_submission
from minigrad.grading.sandbox import Limits
from minigrad.grading.text import csv_cell, one_line

ATTEMPTS = 2  # a submission whose worker died is graded once more, in a fresh worker
# For the tests: "NAME.py:N" makes a worker die while grading file NAME.py on its first N attempts. Read in the
# grader's own environment, which no submission can reach.
CRASH_VARIABLE = "MINIGRAD_GRADING_CRASH_WORKER"


@dataclass
class Entry:
    student: str
    path: Path = None
    problem: str = None  # why there is nothing to grade (no .py file, several candidates, a link)
    key: str = None      # the row's unique name: the student, or the entry's own name for duplicates
    note: str = ""
    item: Path = None    # the entry in the class folder


def find_submissions(folder, assignment):
    """The class folder's entries, sorted by student name, each with a unique ``key``."""
    entries = []
    for item in sorted(Path(folder).iterdir()):
        if item.name.startswith((".", "_")):
            continue
        count = len(entries)
        if item.is_symlink():
            entries.append(Entry(item.stem if item.suffix in SUFFIXES else item.name,
                                 problem="refused: a symbolic link, not a submission"))
        elif item.is_file() and item.suffix in SUFFIXES:
            entries.append(Entry(item.stem, item))
        elif item.suffix in SUFFIXES and not item.is_dir():
            entries.append(Entry(item.stem, problem="refused: not a regular file"))
        elif item.is_dir():
            path, problem = find_submission(item, assignment)
            entries.append(Entry(item.name, path, problem))
        if len(entries) > count:
            entries[-1].item = item
    by_student = defaultdict(list)
    for entry in entries:
        entry.key = entry.student
        by_student[entry.student].append(entry)
    for student, same in by_student.items():
        if len(same) > 1:
            for entry in same:
                entry.key = entry.item.name + ("/" if entry.item.is_dir() and not entry.item.is_symlink() else "")
            names = ", ".join(entry.key for entry in same)
            for entry in same:
                entry.note = f"duplicate student name: {names} all map to {student!r}; each graded on its own"
    return entries


def _grade_one(path, assignment, seed, limits, hidden_visibility):
    report = grade(path, assignment, seed=seed, limits=limits, jobs=1, hidden_visibility=hidden_visibility)
    return report.score, report.max_score, report.gradescope(), [(c.name, c.score) for c in report.checks], \
        report.seconds, report.seed


def _worker(connection):
    """A worker process: grade what arrives on `connection` until it sends None."""
    crash = os.environ.get(CRASH_VARIABLE, "")
    crash_name, _, crash_count = crash.rpartition(":")
    while True:
        task = connection.recv()
        if task is None:
            break
        path, attempt, arguments = task
        if crash and Path(path).name == crash_name and attempt < int(crash_count):
            os._exit(1)
        connection.send(_grade_one(path, *arguments))
    sandbox.remove_run_root()
    connection.close()


class _Pool:
    """`jobs` worker processes, started fresh (spawn) and replaced when one dies."""

    def __init__(self, jobs):
        self.jobs, self.context, self.idle, self.busy = jobs, multiprocessing.get_context("spawn"), [], {}

    def _start(self):
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(child,), daemon=True)
        process.start()
        child.close()
        return parent, process

    def submit(self, task, payload):
        connection, process = self.idle.pop() if self.idle else self._start()
        connection.send(payload)
        self.busy[connection] = (process, task)

    @property
    def free(self):
        return len(self.busy) < self.jobs

    def finished(self):
        """[(task, result or None if its worker died)] for the workers that are done now (waits for one)."""
        done = []
        for connection in wait(list(self.busy)):
            process, task = self.busy.pop(connection)
            try:
                result = connection.recv()
            except (EOFError, OSError):
                result = None
            if result is None:
                connection.close()
                process.join(5)
                if process.is_alive():
                    process.kill()
                    process.join()
            else:
                self.idle.append((connection, process))
            done.append((task, result))
        return done

    def close(self):
        for connection, process in self.idle:
            try:
                connection.send(None)
            except OSError:
                pass
        for connection, process in self.idle + [(c, p) for c, (p, _) in self.busy.items()]:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
            connection.close()


def grade_folder(folder, assignment, *, jobs=None, limits=Limits(), seed=None, csv_path=None, json_dir=None,
                 hidden_visibility="visible", progress=sys.stderr):
    """Grade every submission in `folder`; write `csv_path` (and one results JSON per student into `json_dir`).

    Returns a list of rows (dicts): student, file, score, max_score, status, seconds and one column per check.
    """
    entries = find_submissions(folder, assignment)
    jobs = max(1, jobs or multiprocessing.cpu_count())
    rows, check_names, started = {}, [], time.perf_counter()
    os.environ[sandbox.ROOT_VARIABLE] = str(sandbox.run_root())  # the workers' folders go under this one
    for entry in entries:
        if entry.problem is not None:
            rows[entry.key] = {"student": entry.key, "file": "", "score": 0.0, "max_score": None,
                               "status": entry.problem, "seconds": 0.0}
    pending = deque((entry, 0) for entry in entries if entry.problem is None)
    total, done = len(pending), 0
    pool = _Pool(jobs)
    try:
        while pending or pool.busy:
            while pending and pool.free:
                entry, attempt = pending.popleft()
                pool.submit((entry, attempt), (str(entry.path), attempt,
                                               (assignment, seed, limits, hidden_visibility)))
            for (entry, attempt), result in pool.finished():
                if result is None and attempt + 1 < ATTEMPTS:
                    pending.appendleft((entry, attempt + 1))
                    continue
                row = _row(entry, result, attempt)
                if result is not None:
                    row_checks = result[3]
                    check_names = check_names or [name for name, _ in row_checks]
                    if json_dir is not None:
                        Path(json_dir).mkdir(parents=True, exist_ok=True)
                        (Path(json_dir) / f"{_file_name(entry.key)}.json").write_text(json.dumps(result[2],
                                                                                                  indent=1))
                rows[entry.key] = row
                done += 1
                if progress is not None:
                    progress.write(f"[{done}/{total}] {one_line(entry.key)}: {row['score']:g}/"
                                   f"{row['max_score'] if row['max_score'] is not None else '?'} "
                                   f"({one_line(row['status'])}, {row['seconds']:.1f} s)\n")
    finally:
        pool.close()
        del os.environ[sandbox.ROOT_VARIABLE]
    ordered = [rows[entry.key] for entry in entries]
    maximum = next((row["max_score"] for row in ordered if row["max_score"] is not None), None)
    for row in ordered:
        row["max_score"] = maximum if row["max_score"] is None else row["max_score"]
    if csv_path is not None:
        _write_csv(csv_path, ordered, check_names)
    if progress is not None:
        progress.write(f"graded {len(ordered)} submissions in {time.perf_counter() - started:.1f} s "
                       f"with {jobs} worker(s)\n")
    return ordered


def _row(entry, result, attempt):
    row = {"student": entry.key, "file": str(entry.path)}
    if result is None:
        row.update(score=0.0, max_score=None, seconds=0.0,
                   status=f"grading error: the grading worker died {attempt + 1} times while grading this "
                          "submission; grade it again on its own")
        return row
    score, max_score, results, checks, seconds, run_seed = result
    row.update(score=score, max_score=max_score, status="graded" + (f" ({entry.note})" if entry.note else ""),
               seconds=round(seconds, 2), seed=run_seed, results=results)  # results: for the class report
    row.update(checks)
    return row


def _file_name(key):
    """A file name for a student's results JSON: letters, digits, '.', '_' and '-' only, never hidden."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", key).lstrip(".") or "_"
    return name


def _write_csv(path, rows, check_names):
    columns = ["student", "score", "max_score", "status", "seconds", "seed", "file"] + check_names
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            cells = {column: row.get(column, 0.0 if column in check_names else "") for column in columns}
            writer.writerow({column: csv_cell(one_line(value)) if isinstance(value, str) else value
                             for column, value in cells.items()})
