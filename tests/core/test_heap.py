"""minigrad.heap: freed memory kept for the next training step (glibc's malloc), and the switch that turns it off.

Each case runs in a fresh Python process, since malloc's parameters are the process's: a forward-like pattern
(2,400 arrays of 16 KiB, allocated one after the other and then freed) runs twice, and the second round's page
faults are counted.
"""

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="glibc's malloc only")

ROUNDS = """
import json, resource
import numpy
import minigrad
def graph_round():
    arrays = [numpy.ones((32, 128), dtype=numpy.float32) for _ in range(2400)]  # about 38 MiB, as a T=400 graph
    del arrays
graph_round()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
graph_round()
print(json.dumps({"kept": minigrad._heap.kept,
                  "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def _second_round(keep):
    environment = dict(os.environ, MINIGRAD_KEEP_FREED_MEMORY="1" if keep else "0")
    environment.pop("MALLOC_TRIM_THRESHOLD_", None)
    result = subprocess.run([sys.executable, "-c", ROUNDS], env=environment, capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)


def test_import_keeps_freed_memory_and_the_next_round_does_not_fault_it_back_in():
    kept, released = _second_round(keep=True), _second_round(keep=False)
    assert kept["kept"] is True and released["kept"] is False
    assert released["faults"] > 1000  # the heap was handed back and grown again: a fault per page or a few
    assert kept["faults"] < 100
