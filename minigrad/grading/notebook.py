"""Submissions as files: a ``.py`` file as it is, or a Jupyter notebook turned into one, with every line traceable
to the student's own file (and, for a notebook, to its cell).

A notebook (read with :mod:`nbformat`) becomes one Python file: its code cells, in order, each preceded by a
comment that names the cell. A cell that uses IPython syntax, a magic (``%timeit``, ``%%time``) or a shell escape
(``!pip install``), is not Python: it is left out and reported. Markdown and raw cells are left out silently.
Cells are numbered from the top of the notebook, every cell counted, as a student scrolling through it counts
them.

The grader runs the code this module makes, and messages that name a line of it (``line 12``) are rewritten to
name the student's file and line, or notebook, cell and line (``exercises.ipynb, cell 7, line 3``).
"""

import re
from pathlib import Path

SUFFIXES = (".py", ".ipynb")
_IPYTHON_LINE = re.compile(r"^\s*(%|!|\?)|^\s*\w[\w.]*\?\??\s*$|get_ipython\(\)")
# How the grader's child names the file it runs: "(your file, line 12, ...)", "File ".../submission.py", line 12"
# and a SyntaxError's "(submission.py, line 12)".
_LINE_REFERENCE = re.compile(r"(?:your file|submission\.py), line (\d+)")
_TRACEBACK_LINE = re.compile(r'File "[^"\n]*submission\.py", line (\d+)')


def find_submission(folder, assignment):
    """(path, None) for the one submission in a student's `folder`, or (None, why there is none): the file named
    ``<task>.py`` (or else ``<task>.ipynb``), or else the only ``.py`` or ``.ipynb`` file (Jupyter's checkpoints and
    ``__pycache__`` do not count)."""
    found = sorted(path for path in Path(folder).rglob("*") if path.suffix in SUFFIXES
                   and not {"__pycache__", ".ipynb_checkpoints"} & set(path.parts))
    candidates = [path for path in found if not path.is_symlink() and path.is_file()]  # a link is never followed
    named = [path for suffix in SUFFIXES for path in candidates if path.name == assignment + suffix]
    if named or len(candidates) == 1:  # <task>.py before <task>.ipynb
        return (named or candidates)[0], None
    if not candidates:
        return None, ("refused: only symbolic links in the submission" if found
                      else "no .py or .ipynb file in the submission")
    return None, f"{len(candidates)} .py/.ipynb files and none named {assignment}.py or {assignment}.ipynb"


class SubmissionError(ValueError):
    """The file cannot be turned into a Python source (not a notebook nbformat can read, say)."""


class Source:
    """One student's file as the grader runs it: the Python code, and how to name each of its lines.

    `data` is the file's bytes, read once by the grader (:func:`minigrad.grading.grader.read_submission`); a
    notebook is converted from those bytes, never re-opened by name."""

    def __init__(self, path, data):
        from minigrad.grading.text import one_line
        self.path = Path(path)
        self.name = one_line(self.path.name)  # a student's file name is shown, never obeyed
        self.cells, self.notes = [], []  # cells: (cell number, first line in the code, number of lines)
        self.notebook = self.path.suffix == ".ipynb"
        self.code = self._from_notebook(data) if self.notebook else data

    def _from_notebook(self, data):
        try:
            import nbformat
        except ImportError as missing:  # the grader's own set-up, not the student's fault
            raise RuntimeError("grading a notebook needs nbformat: pip install 'minigrad[grading]'") from missing
        try:
            notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as error:  # nbformat raises several kinds (JSON, schema, version, encoding)
            raise SubmissionError(f"{self.name} is not a notebook that can be read: {type(error).__name__}: "
                                  f"{str(error)[:300]}") from None
        lines, skipped = [], []
        for number, cell in enumerate(notebook.cells, 1):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            source = cell.source.splitlines()
            ipython = [line.strip() for line in source if _IPYTHON_LINE.search(line)]
            if ipython:
                skipped.append((number, ipython[0]))
                continue
            lines.append(f"# --- cell {number} ---")
            self.cells.append((number, len(lines) + 1, len(source)))
            lines.extend(source)
        if skipped:
            numbers = ", ".join(str(number) for number, _ in skipped)
            self.notes.append(f"{'cells' if len(skipped) > 1 else 'cell'} {numbers} of {self.name} not run: "
                              f"IPython syntax (magics, shell commands; first: `{skipped[0][1][:60]}`) is not "
                              "Python. Keep what your op needs in plain code cells.")
        if not self.cells:
            self.notes.append(f"{self.name} has no code cell to run")
        return ("\n".join(lines) + "\n").encode("utf-8")

    def where(self, line):
        """'layernorm.py, line 12' or 'exercises.ipynb, cell 7, line 3'."""
        if not self.notebook:
            return f"{self.name}, line {line}"
        for number, first, count in self.cells:
            if first <= line < first + count:
                return f"{self.name}, cell {number}, line {line - first + 1}"
        return f"{self.name} (converted), line {line}"

    def relabel(self, text):
        """`text` with the grader's references to the file it ran replaced by the student's file and line."""
        if not text:
            return text
        text = _LINE_REFERENCE.sub(lambda match: self.where(int(match.group(1))), text)
        return _TRACEBACK_LINE.sub(lambda match: f'File "{self.where(int(match.group(1)))}"', text)
