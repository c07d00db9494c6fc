"""``python -m minigrad.bench.memory CASE CONTENDER``: peak memory of one call, measured in a fresh process."""

import json
import sys

from minigrad.bench.harness import current_rss_bytes, peak_rss_bytes, reset_peak_rss
from minigrad.bench.workloads import find_case


def main(case_id, contender):
    call = find_case(case_id).contenders[contender]()
    # the inputs' construction may have peaked higher than the call will (float64 draws cast to float32):
    # forget that peak where the system allows, and measure the rise above the current size
    before = current_rss_bytes() if reset_peak_rss() else None
    if before is None:
        before = peak_rss_bytes()
    call()
    print(json.dumps({"peak_bytes": max(0, peak_rss_bytes() - before)}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
