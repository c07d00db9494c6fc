"""Hints in tiers, released one at a time: ``minigrad hint TASK``.

Each solution file (``solutions/<task>.py``) holds its exercise's hints in one block that ``minigrad release``
removes from the stub::

    ### BEGIN HINTS
    HINTS = {
        1: \"\"\"which paths the gradient takes, and why\"\"\",
        2: \"\"\"the intermediate gradients (dL/dxhat, dL/dvar, dL/dmu, ...)\"\"\",
        3: \"\"\"the fused formula\"\"\",
    }
    ### END HINTS

The block is read here with :mod:`ast` (the file is parsed, never imported). ``minigrad hint TASK`` prints the
next tier the student has not seen yet, and remembers it in a small JSON file (:func:`state_path`: one number per
task, the highest tier shown), so the hints come one at a time, each after another try at the derivation;
``--level N`` prints tier N (and counts it as seen), ``--reset`` starts the task over.
"""

import ast
import json
import os
import textwrap
from pathlib import Path

BEGIN, END = "### BEGIN HINTS", "### END HINTS"
TIERS = 3


def hints(task):
    """{tier: text} of exercise `task`, from its solution file."""
    from minigrad.grading import spec
    return read_hints(spec.get(task).solution_path.read_text(), task)


def read_hints(source, task="this exercise"):
    """The ``HINTS`` dict of a solution file's source: tiers 1..TIERS, each a non-empty string."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [ast.unparse(target) for target in node.targets] == ["HINTS"]:
            value = ast.literal_eval(node.value)
            break
    else:
        raise ValueError(f"{task}: the solution file has no HINTS = {{...}} block")
    if not isinstance(value, dict) or sorted(value) != list(range(1, TIERS + 1)):
        raise ValueError(f"{task}: HINTS must map the tiers 1 to {TIERS} to their text")
    return {tier: textwrap.dedent(text).strip() for tier, text in sorted(value.items())}


def state_path():
    """Where the tiers already shown are remembered: ``$MINIGRAD_HINTS_FILE`` if set, else
    ``$XDG_CACHE_HOME/minigrad/hints.json`` (``~/.cache/minigrad/hints.json`` by default)."""
    if os.environ.get("MINIGRAD_HINTS_FILE"):
        return Path(os.environ["MINIGRAD_HINTS_FILE"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "minigrad" / "hints.json"


def _load_state(path):
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):  # no file yet, or a damaged one: start from nothing rather than fail
        return {}
    return {task: int(tier) for task, tier in state.items() if isinstance(tier, int)} if isinstance(state, dict) \
        else {}


def next_hint(task, level=None, reset=False):
    """(tier, text, note) of the hint to show for `task`, and record it as seen.

    Without `level`, the tier after the highest one shown so far (the last tier again once all are shown)."""
    texts = hints(task)
    path = state_path()
    state = {} if reset else _load_state(path)
    seen = state.get(task, 0)
    if level is None:
        tier = min(seen + 1, TIERS)
    elif 1 <= level <= TIERS:
        tier = level
    else:
        raise ValueError(f"--level must be between 1 and {TIERS}")
    state[task] = max(seen, tier)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=1, sort_keys=True))
    except OSError:  # a read-only home still gets its hint; it just will not advance next time
        pass
    if tier == TIERS:
        note = "That is the last hint: the formula itself. Check it against your own derivation."
    else:
        note = (f"Try the derivation again with this; `minigrad hint {task}` again gives tier {tier + 1} "
                f"(the tiers you have seen are remembered in {path}).")
    return tier, texts[tier], note
