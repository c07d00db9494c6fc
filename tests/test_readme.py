"""The README's code is part of the documentation a student copies first: every Python block in it must run."""

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_python_block_in_the_readme_runs(block):
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    if "optimizer" in namespace:  # the training example: one epoch lowers the loss
        assert namespace["loss"].item() < 1.0  # ln(10) = 2.3 untrained
