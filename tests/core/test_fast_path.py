"""The fast-path switch: ``minigrad.set_fast_kernels`` and ``MINIGRAD_FAST=0`` at import."""

import os
import subprocess
import sys

import numpy
import pytest

import minigrad


@pytest.fixture
def restore_switch():
    before = minigrad.fast_kernels_enabled()
    yield
    minigrad.set_fast_kernels(before)


def test_set_fast_kernels_turns_the_switch(restore_switch):
    minigrad.set_fast_kernels(False)
    assert minigrad.fast_kernels_enabled() is False
    minigrad.set_fast_kernels(True)
    assert minigrad.fast_kernels_enabled() is True


@pytest.mark.parametrize("value, expected", [("0", "False"), ("1", "True"), (None, "True")])
def test_environment_variable_sets_the_start_value(value, expected):
    env = {key: item for key, item in os.environ.items() if key != "MINIGRAD_FAST"}
    if value is not None:
        env["MINIGRAD_FAST"] = value
    result = subprocess.run([sys.executable, "-c", "import minigrad; print(minigrad.fast_kernels_enabled())"],
                            capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == expected
