"""``python -m minigrad.bench.lessons``: how long the lesson sequence takes, notebook by notebook.

Each notebook in ``lessons/`` runs in a fresh kernel, one after the other, as a student would run them (with
``MPLBACKEND=Agg`` and one BLAS thread, as the tests run them), and the wall time of each is printed with the load
average when it started. ``--against DIR`` times a second checkout too (another commit, in a ``git worktree``),
alternating the two notebook by notebook, so that a change in the machine's load hits both alike: the kernel
then imports minigrad from that directory (``PYTHONPATH``) and runs that directory's notebooks.

    python -m minigrad.bench.lessons
    python -m minigrad.bench.lessons --only 05,10 --repeat 3 --against /tmp/minigrad-before
"""

import argparse
import os
import pathlib
import time

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
ENVIRONMENT = {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def time_notebook(path, tree):
    """Seconds to execute the notebook at `path` in a fresh kernel importing minigrad from `tree`."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    saved = {name: os.environ.get(name) for name in (*ENVIRONMENT, "PYTHONPATH")}
    os.environ.update(ENVIRONMENT, PYTHONPATH=str(tree))
    try:
        client = NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench.lessons", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="lesson numbers, comma-separated (default: every lesson)")
    parser.add_argument("--repeat", type=int, default=1, help="run the sequence this many times")
    parser.add_argument("--against", help="another checkout of minigrad, timed alternately with this one")
    args = parser.parse_args(argv)
    trees = {"this": REPOSITORY}
    if args.against:
        trees["against"] = pathlib.Path(args.against).resolve()
    wanted = None if args.only is None else {int(number) for number in args.only.split(",")}
    names = sorted(path.name for path in (REPOSITORY / "lessons").glob("[0-9][0-9]_*.ipynb")
                   if wanted is None or int(path.name[:2]) in wanted)
    totals = {label: 0.0 for label in trees}
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    for repetition in range(args.repeat):
        for name in names:
            for label, tree in trees.items():
                path = tree / "lessons" / name
                if not path.exists():
                    print(f"{label} {name}: not in {tree}")
                    continue
                load = os.getloadavg()[0]
                seconds = time_notebook(path, tree)
                totals[label] += seconds
                print(f"{label} {name}: {seconds:.1f} s (load at start {load:.2f})", flush=True)
    for label, total in totals.items():
        print(f"{label}: total {total:.1f} s over {args.repeat} run(s); load at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
