"""How the benchmark measures: interleaved repetitions, medians, and peak memory in a fresh process.

Timing. Every contender of a case runs once per repetition, in a rotating order, so a change in machine load
during the run (another process, CPU frequency) hits all contenders alike; the reported figure is the median over
repetitions, which ignores the occasional outlier. The garbage collector is paused while a call is timed, as
``timeit`` does, and run between calls.

Memory. Peak memory is measured the same way for every engine, PyTorch included (whose allocator ``tracemalloc``
cannot see): a fresh Python process builds the case, runs the call once as a warm-up (what an engine loads once is
not a call's working set), hands the memory it freed back to the system, notes its resident set size, runs the
call again and reports how far the peak rose. This is the steady state of a training loop: the gradients the
warm-up left in ``.grad`` are released when the measured call clears them, and their memory can be reused. Large
arrays are mapped and unmapped directly by the C allocator, so the rise is the call's working set to within a few
hundred KiB.
"""

import gc
import json
import resource
import statistics
import subprocess
import sys
import time


def time_interleaved(contenders, repeats, warmup=1):
    """Median seconds per call of each zero-argument callable in `contenders` (a dict name -> callable)."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    samples = {name: [] for name in names}
    for repetition in range(repeats):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            call = contenders[name]
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


def peak_rss_bytes():
    """This process's peak resident set size, in bytes.

    On Linux, from ``VmHWM`` in /proc/self/status: ``getrusage``'s ru_maxrss in a child process started by a
    large parent begins at the parent's size at the fork, so a child smaller than its parent sees no rise at
    all. Elsewhere, ru_maxrss."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # reported in kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB, macOS bytes


def current_rss_bytes():
    """This process's resident set size now (Linux), or None where /proc is unavailable."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Lower the recorded peak to the current size (Linux: write 5 to /proc/self/clear_refs), so that the next
    peak is the call's own and not one left by building its inputs. Returns whether that worked."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def measure_peak_in_subprocess(case_id, contender):
    """Rise of the peak resident set size while one call of `contender` in case `case_id` runs, in bytes."""
    command = [sys.executable, "-m", "minigrad.bench.memory", case_id, contender]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_bytes"]


def cpu_time_counters():
    """(stolen, total) CPU time of the whole machine so far, in clock ticks, from /proc/stat (Linux), or None.

    "Steal" is time a virtual machine's CPUs were ready to run but the hypervisor ran someone else's: on a shared
    cloud machine it is the main source of run-to-run noise, and the benchmark reports its share of the run."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice, already counted in user and nice]
    return fields[7] if len(fields) > 7 else 0, sum(fields[:8])


def steal_fraction(before, after):
    """The share of CPU time stolen between two cpu_time_counters() readings (None where unavailable)."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])
