"""Other work on every core, for the benchmark's loaded-machine cases.

Students run the lessons on shared machines (a class JupyterHub, a notebook service with 2 virtual CPUs), where
other people's programs compete for the cores. ``cpu_load()`` reproduces that: it starts one CPU-bound helper
process per core this process may run on, and stops them when the ``with`` block ends, also on an exception or a
KeyboardInterrupt. Each helper is bounded on its own as well: it exits after `limit_seconds`, or as soon as its
parent is gone, so a benchmark killed with SIGKILL leaves nothing running for long.

    with cpu_load():
        medians = time_interleaved(calls, repeats)   # every engine under the same load
"""

import contextlib
import os
import subprocess
import sys
import time

# The helper spins in pure Python (no memory traffic to speak of, like a student's interpreted loop) and checks
# between bursts of work whether it should stop: its time limit, or its parent having exited (it is then
# re-parented, and getppid() changes).
_HELPER = """
import os, sys, time
deadline = time.monotonic() + float(sys.argv[1])
parent = int(sys.argv[2])
while time.monotonic() < deadline and os.getppid() == parent:
    for _ in range(200000):
        pass
"""


def usable_cores():
    """How many cores this process may run on (its CPU affinity where the system reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def cpu_load(processes=None, limit_seconds=900.0):
    """Run `processes` (default: one per usable core) CPU-bound helper processes during the ``with`` block.

    Yields the list of ``subprocess.Popen`` objects. On leaving the block, for any reason, every helper is
    terminated and waited for (killed if it does not exit within a few seconds)."""
    count = usable_cores() if processes is None else processes
    helpers = []
    try:
        for _ in range(count):
            helpers.append(subprocess.Popen([sys.executable, "-c", _HELPER, str(limit_seconds), str(os.getpid())],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        time.sleep(0.2)  # let the helpers start and the scheduler spread them over the cores
        yield helpers
    finally:
        stop(helpers)


def stop(helpers, timeout=5.0):
    """Terminate every helper process and wait for it; kill those that do not exit within `timeout` seconds."""
    for helper in helpers:
        if helper.poll() is None:
            helper.terminate()
    for helper in helpers:
        try:
            helper.wait(timeout)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
