"""``python -m minigrad.bench.memory CASE CONTENDER``: peak memory of one call (after a warm-up call), measured in a
fresh process."""

import gc
import json
import sys

from minigrad.bench.harness import current_rss_bytes, peak_rss_bytes, reset_peak_rss
from minigrad.bench.workloads import find_case


def _return_free_memory_to_the_system():
    """glibc's malloc_trim(0): release the free pages of the C heap (Linux; elsewhere nothing happens)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def main(case_id, contender):
    call = find_case(case_id).contenders[contender]()
    # one call first, as the timing does: what an engine loads or allocates once on first use (PyTorch's allocator
    # and thread pools, numba's compiled kernels) is not the working set of a call. Then hand the memory that call
    # freed back to the system, or the measured call would reuse it without the resident set growing.
    call()
    gc.collect()
    _return_free_memory_to_the_system()
    # the inputs' construction may have peaked higher than the call will (float64 draws cast to float32):
    # forget that peak where the system allows, and measure the rise above the current size
    before = current_rss_bytes() if reset_peak_rss() else None
    if before is None:
        before = peak_rss_bytes()
    call()
    print(json.dumps({"peak_bytes": max(0, peak_rss_bytes() - before)}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
