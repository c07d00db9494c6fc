"""The ``minigrad`` command (also ``python -m minigrad``).

    minigrad grade SUBMISSION.py --assignment NAME [--json results.json]   grade one student's file
    minigrad grade --class FOLDER --assignment NAME --csv scores.csv        grade a class in parallel
    minigrad isolation                                                      which sandbox layers are active
    minigrad check SUBMISSION.py --assignment NAME                          the public checks, for students
    minigrad hint TASK [--level N]                                          the next hint for an exercise
    minigrad grade SUBMISSION --assignment NAME --prairielearn results.json   PrairieLearn's results format
    minigrad autograder gradescope --assignment NAME --out autograder.zip     what to upload to Gradescope
    minigrad autograder prairielearn --assignment NAME --out DIR              PrairieLearn's image and question
    minigrad release [--out DIR] [--check]                                  make the student release
    minigrad exercises                                                      list the exercises

Each subcommand is one function below; a new one is a new ``add_parser`` and a new function.
"""

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="minigrad", description="minigrad's command line: homework grading.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from minigrad.grading.spec import TASKS
    from minigrad.grading.grader import VISIBILITIES

    grade = commands.add_parser("grade", help="grade a submission, or with --class a folder of submissions",
                                description="Grade one submission (a .py or .ipynb file, or with --student-folder "
                                            "one student's folder holding it), or with --class a whole class (a "
                                            "folder with one file or one folder per student).")
    grade.add_argument("submission", type=Path,
                       help="a student's .py or .ipynb file (with --student-folder: their folder; with --class: "
                            "the class's folder)")
    grade.add_argument("--class", dest="whole_class", action="store_true",
                       help="SUBMISSION is a folder of submissions: grade every student in it")
    grade.add_argument("--student-folder", action="store_true",
                       help="SUBMISSION is one student's folder (Gradescope's submission/, PrairieLearn's student/): "
                            "grade the file in it named TASK.py (or TASK.ipynb), or else its only .py/.ipynb file")
    grade.add_argument("--strict", action="store_true",
                       help="refuse to grade unless every isolation layer (landlock, seccomp, user) is active; "
                            "`minigrad isolation` shows which are")
    grade.add_argument("--assignment", required=True, choices=TASKS, help="the exercise's task id")
    grade.add_argument("--json", type=Path, metavar="PATH",
                       help="write Gradescope's results.json here (for a folder: a directory, one file per student)")
    grade.add_argument("--prairielearn", type=Path, metavar="PATH",
                       help="write PrairieLearn's results.json here (one submission)")
    grade.add_argument("--csv", type=Path, metavar="FILE", help="for a folder: write the class's scores here")
    grade.add_argument("--report", type=Path, metavar="FILE",
                       help="for a folder: write a summary for the instructor here (Markdown: the score "
                            "distribution, with a histogram PNG beside it, each check's pass rate, the most "
                            "frequent hints)")
    grade.add_argument("--jobs", type=int, default=None,
                       help="for a folder: submissions graded at once (default: the number of CPUs); for one "
                            "file: check groups run at once (default 2)")
    _add_limits(grade)
    grade.add_argument("--seed", type=int, default=None,
                       help="the hidden inputs' seed, to reproduce a run (default: a new secret one each run)")
    grade.add_argument("--hidden-visibility", choices=VISIBILITIES, default="visible",
                       help="Gradescope visibility of the hidden checks' results (default: visible)")
    grade.set_defaults(run=_grade)

    check = commands.add_parser("check", help="run an exercise's public checks on your file",
                                description="Run the public checks of an exercise on your file. Exit status 0 "
                                            "when they all pass.")
    check.add_argument("submission", type=Path, help="your .py file or notebook (.ipynb)")
    check.add_argument("--assignment", required=True, choices=TASKS, help="the exercise's task id")
    _add_limits(check)
    check.set_defaults(run=_check)

    hint = commands.add_parser("hint", help="print the next hint for an exercise",
                               description="Print the next tier of hints for an exercise (1: which paths the "
                                           "gradient takes; 2: the intermediate gradients; 3: the formula). The "
                                           "tiers seen are remembered per task in ~/.cache/minigrad/hints.json "
                                           "($XDG_CACHE_HOME, or the file $MINIGRAD_HINTS_FILE).")
    hint.add_argument("task", choices=TASKS, help="the exercise's task id")
    hint.add_argument("--level", type=int, choices=(1, 2, 3), default=None, help="print this tier instead")
    hint.add_argument("--reset", action="store_true", help="forget the tiers seen for this task, start at 1")
    hint.set_defaults(run=_hint)

    release = commands.add_parser("release", help="generate the student release from the solutions",
                                  description="Write the stubs, README and notebook of every exercise.")
    release.add_argument("--out", type=Path, default=None, help="where (default: lessons/exercises/)")
    release.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if the release in --out differs from the solutions")
    release.set_defaults(run=_release)

    autograder = commands.add_parser("autograder", help="write what Gradescope or PrairieLearn needs to grade",
                                     description="Write the files a course platform needs to run this grader, "
                                                 "with a wheel of this checkout of minigrad inside.")
    platforms = autograder.add_subparsers(dest="platform", required=True, metavar="PLATFORM")
    gradescope = platforms.add_parser("gradescope", help="the autograder zip to upload to Gradescope")
    gradescope.add_argument("--assignment", required=True, choices=TASKS, help="the exercise's task id")
    gradescope.add_argument("--out", type=Path, default=Path("autograder.zip"), help="default: autograder.zip")
    gradescope.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_due_date",
                            help="when students see the hidden checks' results (default: after_due_date)")
    prairielearn = platforms.add_parser("prairielearn", help="PrairieLearn's grader image and question folder")
    prairielearn.add_argument("--assignment", required=True, choices=TASKS, help="the exercise's task id")
    prairielearn.add_argument("--out", type=Path, required=True, help="the folder to write")
    autograder.set_defaults(run=_autograder)

    listing = commands.add_parser("exercises", help="list the exercises")
    listing.set_defaults(run=_list)

    check_isolation = commands.add_parser(
        "isolation", help="show which sandbox layers are active here, and test each",
        description="Report the grading sandbox's isolation layers on this machine, then run a probe submission "
                    "that tries what each layer must stop. Exit status 1 if a layer is missing or lets anything "
                    "through.")
    check_isolation.set_defaults(run=_isolation)

    arguments = parser.parse_args(argv)
    return arguments.run(arguments)


def _add_limits(parser):
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds each check group may run (default 20)")
    parser.add_argument("--memory", type=int, default=1024, help="megabytes each check group may use (default 1024)")


def _limits(arguments):
    from minigrad.grading.sandbox import Limits
    return Limits(timeout_s=arguments.timeout, memory_mb=arguments.memory)


def _grade(arguments):
    from minigrad.grading import sandbox
    if arguments.strict:
        missing = sandbox.missing_layers()
        if missing:
            status = sandbox.isolation_status()
            for layer in missing:
                print(f"minigrad grade --strict: isolation layer {layer} is {status[layer]}", file=sys.stderr)
            print("minigrad grade --strict: refusing to grade with less isolation (see `minigrad isolation`)",
                  file=sys.stderr)
            return 3
    try:
        if arguments.whole_class:
            return _grade_folder(arguments)
        return _grade_file(arguments)
    finally:
        sandbox.remove_run_root()


def _grade_file(arguments):
    from minigrad.grading.grader import grade
    for option in ("csv", "report"):
        if getattr(arguments, option) is not None:
            print(f"minigrad grade: --{option} is for a class: add --class and give the class's folder",
                  file=sys.stderr)
            return 2
    if arguments.submission.is_dir() and not arguments.submission.is_symlink() and not arguments.student_folder:
        print(f"minigrad grade: {arguments.submission} is a folder; to grade every submission in it, add --class; "
              "if it is one student's folder, add --student-folder", file=sys.stderr)  # graded zero, and said here
    report = grade(arguments.submission, arguments.assignment, seed=arguments.seed, limits=_limits(arguments),
                   jobs=arguments.jobs or 2, hidden_visibility=arguments.hidden_visibility,
                   student_folder=arguments.student_folder)
    print(report.table())
    if arguments.json is not None:  # written by the grader, after every child has exited
        if arguments.json.is_dir():
            print(f"minigrad grade: --json {arguments.json} is a folder; give a file name", file=sys.stderr)
            return 2
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(report.gradescope(), indent=1))
    if arguments.prairielearn is not None:
        from minigrad.grading import lms
        lms.write_results(arguments.prairielearn, lms.prairielearn_results(report))
    return 0


def _unwritable(path, option):
    """Why `path` (the file of `option`) cannot be written, or None: checked before any grading starts."""
    if path is None:
        return None
    if path.is_dir():
        return f"{option} {path} is a folder; give a file name"
    if not path.parent.is_dir():
        return f"{option} {path}: the folder {path.parent} does not exist"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"{option} {path}: not writable"
    return None


def _grade_folder(arguments):
    from minigrad.grading.batch import grade_folder
    from minigrad.grading.text import one_line
    if not arguments.submission.is_dir() or arguments.submission.is_symlink():
        print(f"minigrad grade --class: {arguments.submission} is not a folder", file=sys.stderr)
        return 2
    for problem in (_unwritable(arguments.csv, "--csv"), _unwritable(arguments.report, "--report")):
        if problem:
            print(f"minigrad grade: {problem} (nothing was graded)", file=sys.stderr)
            return 2
    rows = grade_folder(arguments.submission, arguments.assignment, jobs=arguments.jobs or os.cpu_count(),
                        limits=_limits(arguments), seed=arguments.seed, csv_path=arguments.csv,
                        json_dir=arguments.json, hidden_visibility=arguments.hidden_visibility)
    names = [one_line(row["student"]) for row in rows]
    width = max([len(name) for name in names] + [7])
    print(f"{'student':<{width}}  {'score':>11}  status")
    for name, row in zip(names, rows):
        print(f"{name:<{width}}  {row['score']:>5g}/{row['max_score'] or 0:<5g}  {one_line(row['status'])}")
    if arguments.report is not None:
        from minigrad.grading.report import write_report
        for path in write_report(arguments.report, rows, arguments.assignment):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _isolation(arguments):
    from minigrad.grading import sandbox
    try:
        findings = sandbox.check_isolation()
    finally:
        sandbox.remove_run_root()
    width = max(len(name) for name, _, _ in findings)
    for name, ok, text in findings:
        print(f"{name:<{width}}  {'ok  ' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok, _ in findings) else 1


def _check(arguments):
    from minigrad.grading import check
    report = check(arguments.submission, arguments.assignment, limits=_limits(arguments))
    return 0 if all(row.passed for row in report.checks) else 1


def _autograder(arguments):
    from minigrad.grading import lms
    if arguments.platform == "gradescope":
        path = lms.gradescope(arguments.assignment, arguments.out, hidden_visibility=arguments.hidden_visibility)
        print(f"wrote {path}: upload it as the assignment's autograder (Configure Autograder, Zip file upload)")
    else:
        for path in lms.prairielearn(arguments.assignment, arguments.out):
            print(f"wrote {path}")
        print(f"build and push {arguments.out / 'image'} once, then copy {arguments.out / 'question'} into your "
              "course's questions/ (see minigrad/grading/README.md)")
    return 0


def _hint(arguments):
    import textwrap
    from minigrad.grading.hints import TIERS, next_hint
    tier, text, note = next_hint(arguments.task, level=arguments.level, reset=arguments.reset)
    print(f"{arguments.task}: hint {tier} of {TIERS}\n")
    print(textwrap.indent(text, "    "))
    print(f"\n{note}")
    return 0


def _release(arguments):
    from minigrad.grading import release
    out = arguments.out or release.DEFAULT_RELEASE
    if arguments.out is None and not out.parent.is_dir():  # an installed package has no lessons/ beside it
        print(f"minigrad release: no lessons/ folder at {out.parent}; say where with --out DIR", file=sys.stderr)
        return 2
    if arguments.check:
        stale = release.differences(out)
        for name in stale:
            print(f"{Path(out) / name} differs from what `minigrad release` generates", file=sys.stderr)
        return 1 if stale else 0
    for path in release.release(out):
        print(f"wrote {path}")
    return 0


def _list(arguments):
    from minigrad.grading.spec import all_exercises
    for task in all_exercises():
        print(f"{task.task:<14} {task.function:<13} {task.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
