"""Statements that ask and hints that teach: tiered hints live in the solution files, `minigrad hint` releases
them one at a time, and no stub gives away a line of the backward or a word of a hint."""

import ast
import re

import nbformat
import pytest

from minigrad.grading import spec
from minigrad.grading import hints, release
from tests.grading.conftest import RELEASE, run_minigrad


def _block_lines(source, function):
    """The stripped lines of the solution blocks inside method `function` of the solution's class."""
    tree = ast.parse(source)
    lines = source.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            body = lines[node.lineno - 1:node.end_lineno]
            inside, found = False, []
            for line in body:
                if line.strip() in (release.BEGIN, release.END):
                    inside = line.strip() == release.BEGIN
                elif inside and line.strip() and not line.strip().startswith("#"):
                    found.append(line.split("  #")[0].strip())
            return found
    raise AssertionError(f"no {function} in the solution")


def _phrases(text, words=None):
    """The pieces of a hint a stub must not quote: every line and clause (split at '.', ';', ':' and line ends)
    of 20 characters or more, with whitespace normalised; with `words`, every run of that many words instead."""
    if words is not None:
        tokens = text.split()
        return {" ".join(tokens[i:i + words]) for i in range(len(tokens) - words + 1)}
    pieces = re.split(r"(?<=[.;:])\s+|\n", text)
    return {" ".join(piece.split()) for piece in pieces if len(piece.strip()) >= 20}


@pytest.mark.parametrize("task", spec.TASKS)
def test_no_stub_contains_a_line_of_its_backward_or_any_hint_text(task):
    solution = spec.get(task).solution_path.read_text()
    stub = (RELEASE / f"{task}.py").read_text()
    flat_stub = " ".join(stub.split())
    backward = _block_lines(solution, "backward")
    assert len(backward) >= 2
    allowed = {line for line in backward if line.startswith("xp = minigrad.get_array_module(")}  # the rules' idiom
    for line in set(backward) - allowed:
        assert " ".join(line.split()) not in flat_stub, f"the stub of {task} contains its backward's line {line!r}"
    tiers = hints.hints(task)
    assert sorted(tiers) == [1, 2, 3] and all(len(text) > 40 for text in tiers.values())
    notebook = " ".join((RELEASE / release.NOTEBOOK).read_text().replace("\\n", " ").split())
    for tier, text in tiers.items():
        for phrase in _phrases(text):
            assert phrase not in flat_stub, f"the stub of {task} contains hint {tier}: {phrase!r}"
            assert phrase not in notebook, f"the notebook contains hint {tier} of {task}: {phrase!r}"
    assert hints.BEGIN not in stub and "HINTS" not in stub


@pytest.mark.parametrize("task", spec.TASKS)
def test_the_statement_asks_for_the_backward_without_giving_it(task):
    statement = spec.get(task).statement()
    assert "What makes it tricky" in statement and f"minigrad hint {task}" in statement
    fused = hints.hints(task)[3]
    for phrase in _phrases(fused, words=4):  # not even a short piece of the final formula
        assert phrase not in " ".join(statement.split()), phrase


def test_hint_prints_the_next_tier_each_time_and_level_a_given_one(tmp_path):
    state = tmp_path / "hints.json"
    environment = {"MINIGRAD_HINTS_FILE": str(state)}
    tiers = hints.hints("layernorm")
    shown = [run_minigrad("hint", "layernorm", env=environment) for _ in range(4)]
    for number, process in enumerate(shown, 1):
        tier = min(number, 3)
        assert process.returncode == 0, process.stderr
        assert f"layernorm: hint {tier} of 3" in process.stdout
        assert tiers[tier].splitlines()[0] in process.stdout
    assert "last hint" in shown[-1].stdout
    other = run_minigrad("hint", "silu", env=environment)  # each task keeps its own count
    assert "silu: hint 1 of 3" in other.stdout
    chosen = run_minigrad("hint", "batchnorm", "--level", 2, env=environment)
    assert "batchnorm: hint 2 of 3" in chosen.stdout and hints.hints("batchnorm")[2].splitlines()[0] in chosen.stdout
    assert "batchnorm: hint 3 of 3" in run_minigrad("hint", "batchnorm", env=environment).stdout
    assert "layernorm: hint 1 of 3" in run_minigrad("hint", "layernorm", "--reset", env=environment).stdout
    assert run_minigrad("hint", "layernorm", "--level", 4, env=environment).returncode == 2


def test_the_hint_state_lives_in_the_user_cache_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIGRAD_HINTS_FILE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert hints.state_path() == tmp_path / "minigrad" / "hints.json"
    (tmp_path / "minigrad").mkdir()
    hints.state_path().write_text("not json")  # a damaged file starts over instead of failing
    assert hints.next_hint("silu")[0] == 1 and hints.next_hint("silu")[0] == 2


def test_strip_solutions_removes_the_hints_block_and_refuses_a_broken_one():
    source = ('import minigrad\n\n### BEGIN HINTS\nHINTS = {1: "a", 2: "b", 3: "c"}\n### END HINTS\n\n\n'
              "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n")
    stub = release.strip_solutions(source, "demo")
    assert stub.startswith("import minigrad\n\n\ndef f():") and "HINTS" not in stub
    assert hints.read_hints(source) == {1: "a", 2: "b", 3: "c"}
    with pytest.raises(ValueError, match="never closed"):
        release.strip_solutions("### BEGIN HINTS\nHINTS = {}\n", "demo")
    with pytest.raises(ValueError, match="tiers 1 to 3"):
        hints.read_hints('HINTS = {1: "only one"}\n')


def test_the_released_notebook_keeps_every_statement():
    notebook = nbformat.read(RELEASE / release.NOTEBOOK, as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells)
    for task in spec.all_exercises():
        assert task.statement().splitlines()[0] in text
