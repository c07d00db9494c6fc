"""Making student-derived text safe to print, to put in results.json and in a CSV.

Everything a submission controls (its error messages, what it printed, its file and folder names) passes through
here before a person sees it: control characters (ANSI escapes, carriage returns, backspaces), Unicode format
characters (bidirectional overrides) and, in one-line text, newlines are shown as visible escapes, so a
submission cannot forge a line of the grader's table, hide one, or recolour the terminal. Install paths (the
Python installation, NumPy, minigrad's package, the sandbox's folders) are replaced by a short name, so a student
never learns where the grader lives.
"""

import sys
import unicodedata
from pathlib import Path

_PLACEHOLDERS = None


def _escape(character):
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(character, keep_newlines):
    if character == "\n":
        return not keep_newlines
    return unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp")


def one_line(text):
    """`text` with every control or format character, newlines included, as a visible escape."""
    return "".join(_escape(c) if _unsafe(c, False) else c for c in str(text))


def lines(text, prefix="| "):
    """`text` kept on its lines, each marked with `prefix` and escaped as in :func:`one_line`."""
    return "\n".join(prefix + one_line(line) for line in str(text).split("\n"))


def csv_cell(value):
    """A spreadsheet cell that cannot be a formula: text starting with = + - @ (or tab, CR) gets a quote first."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def without_paths(text):
    """`text` with the grader's install paths replaced by <python>, <numpy>, <minigrad>, <sandbox>."""
    global _PLACEHOLDERS
    if _PLACEHOLDERS is None:
        import numpy
        from minigrad.grading import sandbox
        folders = {str(Path(numpy.__file__).resolve().parent): "<numpy>",
                   str(Path(__file__).resolve().parents[1]): "<minigrad>",
                   str(sandbox.run_root()): "<sandbox>"}
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.prefix).resolve()),
                       str(Path(sys.base_prefix).resolve())}:
            folders.setdefault(prefix, "<python>")
        _PLACEHOLDERS = sorted(folders.items(), key=lambda item: -len(item[0]))
    text = str(text)
    for folder, name in _PLACEHOLDERS:
        if folder and folder != "/":
            text = text.replace(folder, name)
    return text


def from_submission(text):
    """A message that came from the child (an exception, a refusal): one line, no paths."""
    return one_line(without_paths(text))
