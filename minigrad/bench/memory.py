"""``python -m minigrad.bench.memory CASE CONTENDER``: peak memory of one call, measured in a fresh process."""

import json
import sys

from minigrad.bench.harness import peak_rss_bytes
from minigrad.bench.workloads import find_case


def main(case_id, contender):
    call = find_case(case_id).contenders[contender]()
    before = peak_rss_bytes()
    call()
    print(json.dumps({"peak_bytes": max(0, peak_rss_bytes() - before)}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
