"""``python -m minigrad.bench``: minigrad against PyTorch (CPU) and the teaching engines, side by side in one run.

    python -m minigrad.bench                     # the full table, printed as Markdown
    python -m minigrad.bench --quick             # fewer repetitions, no memory or scaling runs
    python -m minigrad.bench --json r.json --markdown r.md --plot r.png
    python -m minigrad.bench --threads 1         # every engine on one thread (a quieter comparison on a busy machine)

Each case runs every engine in the same process, interleaved, and reports the median time, the ratio
minigrad / engine (below 1 means minigrad is faster), and the peak memory of one call measured in a fresh process.
LayerNorm and BatchNorm also report the fraction of the memory-bandwidth bound reached: forward reads x and
writes y, backward reads dy and x and writes dx, 20 bytes per float32 element at the machine's copy bandwidth.
The loaded-machine cases run with a CPU-bound helper process on every core and also report each engine's
slowdown, its loaded time over its time for the same case on the idle machine earlier in the run.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys

import numpy

from minigrad.bench import workloads
from minigrad.bench.load import cpu_load
from minigrad.bench.harness import cpu_time_counters, measure_peak_in_subprocess, steal_fraction, time_interleaved

BYTES_PER_ELEMENT_FWD_BWD = 20  # float32: x, y forward; dy, x, dx backward


def machine_description():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": numpy.__version__}
    for name in ("torch", "autograd", "mygrad"):
        try:
            versions[name] = __import__(name).__version__
        except (ImportError, AttributeError):
            pass
    return {"cpu": model, "cores": os.cpu_count(), "system": platform.platform(), "versions": versions,
            "date": datetime.date.today().isoformat()}


def limit_threads(count):
    """Give every engine the same number of threads: PyTorch's intra-op pool, the BLAS and OpenMP pools that
    NumPy (and so minigrad, autograd and mygrad) calls into, through threadpoolctl (installed with scikit-learn),
    and the pool that minigrad's compiled normalization loops run on.

    On a machine whose cores are busy with other work, a BLAS call that splits a small matrix product over
    threads waits for a core for each of them, and its time jumps by 10x from one call to the next."""
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(count)
    from minigrad.nn.ops.fast import kernels
    kernels.set_num_threads(count)
    return threadpool_limits(limits=count)


def run(quick=False, memory=True, only=None, scaling=False, threads=None, repeats=None):
    """Every case (or those `only` names), each timed over `repeats` interleaved repetitions (a third as many
    for the slow training steps; default 15, or 5 with `quick`)."""
    repeats = repeats or (5 if quick else 15)
    counters_at_start = cpu_time_counters()
    bandwidth = workloads.memory_bandwidth_bytes_per_second()
    cases = workloads.all_cases(quick)
    if scaling:
        cases += workloads.scaling_cases(quick)
    rows = []
    idle_seconds = {}  # (case id, engine) -> seconds per op, for the loaded cases' slowdown
    seen = set()
    wanted = [text.strip().lower() for text in only.split(",")] if only else None
    for case in cases:
        if case.id in seen or (wanted and not any(text in case.id.lower() for text in wanted)):
            continue
        seen.add(case.id)
        print(f"running {case.id} ...", file=sys.stderr, flush=True)
        calls = {name: setup() for name, setup in case.contenders.items()}
        slow = any(word in case.workload for word in ("RNN", "MLP", "Transformer"))
        case_repeats = max(3, repeats // 3) if slow else repeats
        with cpu_load() if case.loaded else contextlib.nullcontext():
            medians = time_interleaved(calls, case_repeats)
        del calls
        for name, seconds in medians.items():
            row = {"workload": case.workload, "size": case.size, "engine": name,
                   "seconds": seconds / case.ops_per_call, "ratio": medians["minigrad"] / seconds,
                   "note": case.note}
            if case.elements:
                row["bandwidth_fraction"] = BYTES_PER_ELEMENT_FWD_BWD * case.elements / bandwidth / seconds
            if case.loaded:
                idle = idle_seconds.get((case.idle_id, name))
                if idle:
                    row["slowdown"] = seconds / case.ops_per_call / idle
            elif memory and not quick:
                row["peak_bytes"] = measure_peak_in_subprocess(case.id, name)
            idle_seconds[(case.id, name)] = row["seconds"]
            rows.append(row)
    machine = machine_description()
    machine["threads"] = threads or "all cores"
    machine["load_average"] = os.getloadavg()[0]
    machine["steal_fraction"] = steal_fraction(counters_at_start, cpu_time_counters())
    machine["repeats"] = repeats
    return {"machine": machine, "copy_bandwidth_GBps": bandwidth / 1e9, "rows": rows}


def _format_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _steal_text(machine):
    steal = machine.get("steal_fraction")
    if steal is None:
        return ""
    return f"; CPU time stolen by the hypervisor during the run {100 * steal:.0f}%"


def markdown(report):
    machine = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['system']}; {versions}; "
             f"{machine['date']}. Threads per engine: {machine.get('threads', 'all cores')}; "
             f"{machine.get('repeats', 15)} interleaved repetitions per case; load average at the "
             f"end of the run {machine.get('load_average', float('nan')):.2f}{_steal_text(machine)}. Copy "
             f"bandwidth (main memory) {report['copy_bandwidth_GBps']:.1f} GB/s.", "",
             "| workload | size | engine | median time | minigrad / engine | peak memory | of bandwidth bound "
             "| loaded / idle |",
             "|---|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        peak = row.get("peak_bytes")
        lines.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            row["workload"], row["size"], row["engine"], _format_time(row["seconds"]),
            "" if row["engine"] == "minigrad" else f"{row['ratio']:.2f}x",
            "" if peak is None else f"{peak / 2 ** 20:.1f} MiB",
            f"{100 * row['bandwidth_fraction']:.0f}%" if "bandwidth_fraction" in row else "",
            f"{row['slowdown']:.2f}x" if "slowdown" in row else ""))
    return "\n".join(lines)


def plot(report, path):
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = ((axes[0], "LayerNorm fwd+bwd", ["LayerNorm fwd+bwd"], "rows (x 1024 features)"),
              (axes[1], "separate-LN RNN train step",
               [workloads.RNN_WORKLOAD, workloads.RNN_FLUSHED_WORKLOAD], "sequence length T"))
    engines = sorted({row["engine"] for row in report["rows"]})
    colors = {engine: f"C{index}" for index, engine in enumerate(engines)}  # one color per engine in both panels
    for axis, title, workload_names, x_label in panels:
        sizes = set()
        for workload in workload_names:
            rows = [r for r in report["rows"] if r["workload"] == workload]
            flushed = workload == workloads.RNN_FLUSHED_WORKLOAD
            for engine in sorted({r["engine"] for r in rows}):
                points = sorted((float(r["size"].split("x")[0].lstrip("T=")), r["seconds"]) for r in rows
                                if r["engine"] == engine)
                sizes.update(x for x, _ in points)
                axis.loglog(*zip(*points), marker="o", color=colors[engine], linestyle="--" if flushed else "-",
                            label=engine + (", subnormals flushed" if flushed else ""))
        axis.set_xticks(sorted(sizes), [f"{size:g}" for size in sorted(sizes)])
        axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())  # the sizes alone label the x axis
        axis.set_xlabel(x_label)
        axis.set_ylabel("median time per call (s)")
        axis.set_title(title)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; no memory measurement")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--scaling", action="store_true", help="also time LayerNorm over sizes and the RNN over T")
    parser.add_argument("--only", help="run only cases whose id contains this text (or one of several, "
                        "comma-separated)")
    parser.add_argument("--threads", type=int, help="limit every engine to this many threads (default: all cores)")
    parser.add_argument("--repeats", type=int, help="interleaved repetitions per case (default 15; the training "
                        "steps take a third as many): more for a steadier median on a noisy machine")
    parser.add_argument("--json", help="write the report as JSON here")
    parser.add_argument("--markdown", help="write the table as Markdown here")
    parser.add_argument("--plot", help="write a plot of time against size here (implies --scaling)")
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    report = run(quick=args.quick, memory=not args.no_memory, only=args.only, scaling=args.scaling or bool(args.plot),
                 threads=args.threads, repeats=args.repeats)
    table = markdown(report)
    print(table)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write(table + "\n")
    if args.plot:
        plot(report, args.plot)


if __name__ == "__main__":
    main()
