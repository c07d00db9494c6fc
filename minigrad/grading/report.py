"""A class at a glance: ``minigrad grade --class FOLDER ... --report report.md``.

After a class is graded, :func:`write_report` writes a Markdown summary for the instructor: how many submissions
were graded, the score distribution (a table, and a histogram PNG beside the report, drawn with matplotlib's Agg
backend), each check's pass rate and mean points, the targeted hints that came up most often (how many students
got each: the mistakes to address in class), and the submissions that could not be graded, with why.

Everything is computed from the per-student results the grader already produced (the rows of
:func:`minigrad.grading.batch.grade_folder`); student-controlled text (names, hints quoting their values) is
escaped before it reaches the Markdown.
"""

import statistics
from collections import Counter
from pathlib import Path

from minigrad.grading.feedback import hints_in
from minigrad.grading.text import one_line

TOP_HINTS = 10


def write_report(path, rows, assignment):
    """Write the report for the graded `rows` of a class to `path` (and the histogram beside it); return the
    paths written."""
    path = Path(path)
    graded = [row for row in rows if row.get("results") is not None]
    maximum = next((row["max_score"] for row in rows if row.get("max_score")), 0) or 0
    scores = [row["score"] for row in graded]
    lines = [f"# Class report: `{assignment}`", ""]
    lines.append(f"{len(rows)} submissions: {len(graded)} graded, {len(rows) - len(graded)} not graded "
                 f"(listed at the end). Scores out of {maximum:g} points.")
    lines.append("")
    if scores:
        lines += ["| mean | median | lowest | highest | full marks | zero |", "|---|---|---|---|---|---|",
                  f"| {statistics.mean(scores):.2f} | {statistics.median(scores):g} | {min(scores):g} | "
                  f"{max(scores):g} | {sum(score == maximum for score in scores)} | "
                  f"{sum(score == 0 for score in scores)} |", ""]
    written = [path]
    picture = _histogram(path.with_suffix(".png"), scores, maximum, assignment)
    lines += ["## Score distribution", ""]
    if picture is not None:
        written.append(picture)
        lines += [f"![score distribution]({picture.name})", ""]
    lines += ["| score | students |", "|---|---|"]
    lines += [f"| {low:g} to {high:g} | {count} |" for low, high, count in _buckets(scores, maximum)]
    lines += ["", "## Checks", "", "| # | check | points | passed | pass rate | mean points |",
              "|---|---|---|---|---|---|"]
    for number, (name, points, passed, mean) in enumerate(_checks(graded), 1):
        rate = f"{100 * passed / len(graded):.0f}%" if graded else "-"
        lines.append(f"| {number} | {_cell(name)} | {points:g} | {passed} | {rate} | {mean:.2f} |")
    lines += ["", "## Most frequent hints", ""]
    counted = _hints(graded)
    if counted:
        lines += ["How many students' results carry each targeted hint (numbers in it masked as #):", "",
                  "| students | hint |", "|---|---|"]
        lines += [f"| {count} | {_cell(hint)} |" for hint, count in counted.most_common(TOP_HINTS)]
    else:
        lines.append("No targeted hint came up.")
    problems = [row for row in rows if row.get("results") is None]
    if problems:
        lines += ["", "## Not graded", "", "| student | why |", "|---|---|"]
        lines += [f"| {_cell(row['student'])} | {_cell(row['status'])} |" for row in problems]
    path.write_text("\n".join(lines) + "\n")
    return written


def _checks(graded):
    """(name, points, students who passed, mean points) per check, in the grader's order."""
    if not graded:
        return []
    tests = graded[0]["results"]["tests"]
    summary = []
    for index, test in enumerate(tests):
        rows = [row["results"]["tests"][index] for row in graded if len(row["results"]["tests"]) > index]
        passed = sum(row["status"] == "passed" for row in rows)
        summary.append((test["name"], test["max_score"], passed, statistics.mean(row["score"] for row in rows)))
    return summary


def _hints(graded):
    counted = Counter()
    for row in graded:
        counted.update({hint for test in row["results"]["tests"] if test["status"] != "passed"
                        for hint in hints_in(test["output"])})
    return counted


def _buckets(scores, maximum, count=10):
    """(low, high, students) for `count` equal ranges of the score, the last one closed."""
    if not maximum:
        return []
    width = maximum / count
    buckets = []
    for index in range(count):
        low, high = index * width, (index + 1) * width
        inside = sum(low <= score < high or (index == count - 1 and score == high) for score in scores)
        buckets.append((round(low, 2), round(high, 2), inside))
    return buckets


def _histogram(path, scores, maximum, assignment):
    """The score histogram as a PNG at `path`, or None without matplotlib (the table still says it all)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(6, 3.2), dpi=100)
    FigureCanvasAgg(figure)  # the Agg canvas: no display, no global pyplot state
    axes = figure.add_subplot()
    edges = [maximum * index / 10 for index in range(11)] if maximum else 10
    axes.hist(scores, bins=edges, color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"score (out of {maximum:g})")
    axes.set_ylabel("students")
    axes.set_title(f"{assignment}: {len(scores)} graded submissions")
    figure.tight_layout()
    figure.savefig(path)
    return path


def _cell(text):
    """Student-derived text as one Markdown table cell: escaped, no pipes, no HTML."""
    text = one_line(text)
    for character, replacement in (("|", "\\|"), ("<", "&lt;"), (">", "&gt;"), ("`", "'")):
        text = text.replace(character, replacement)
    return text[:300]
