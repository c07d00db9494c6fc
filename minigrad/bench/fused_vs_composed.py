"""``python -m minigrad.bench.fused_vs_composed``: what fusing buys, measured.

Each op of :mod:`minigrad.nn.functional` is one graph node with a hand-derived backward; its twin in
:mod:`minigrad.nn.composed` is the same function built from primitive ops, differentiated by autograd node by
node. For each pair and a few shapes (float32, NumPy backend) this prints, for one forward + backward:

- the median time over several repetitions (the two run interleaved, so a change in machine load hits both);
- the peak memory allocated during the call, traced by ``tracemalloc`` (NumPy reports its array buffers to it):
  the arrays each graph keeps alive for backward, plus the temporaries of the backward pass;
- the number of graph nodes.

    python -m minigrad.bench.fused_vs_composed             # the full table, as Markdown
    python -m minigrad.bench.fused_vs_composed --quick     # small shapes, fewer repetitions

On a small or shared machine, pin BLAS to one thread (``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1``): several
BLAS threads competing for two cores make the matrix products' times jump by 10x from one call to the next.
"""

import argparse
import tracemalloc

import numpy

import minigrad
from minigrad.bench.harness import time_interleaved
from minigrad.nn import composed, functional

FLOAT = numpy.float32


def _tensors(rng, *shapes):
    return [minigrad.tensor(rng.standard_normal(shape).astype(FLOAT), requires_grad=True) for shape in shapes]


def linear_case(rows, features):
    def build(ops):
        rng = numpy.random.default_rng(0)
        x, weight, bias = _tensors(rng, (rows, features), (features, features), (features,))
        return lambda: ops.linear(x, weight, bias), (x, weight, bias)
    return f"linear {rows}x{features} -> {features}", build


def layer_norm_case(rows, features):
    def build(ops):
        rng = numpy.random.default_rng(0)
        x, weight, bias = _tensors(rng, (rows, features), (features,), (features,))
        return lambda: ops.layer_norm(x, (features,), weight, bias), (x, weight, bias)
    return f"layer_norm {rows}x{features}", build


def batch_norm_case(rows, features):
    def build(ops):
        rng = numpy.random.default_rng(0)
        x, weight, bias = _tensors(rng, (rows, features), (features,), (features,))
        running_mean, running_var = minigrad.zeros(features), minigrad.ones(features)
        return (lambda: ops.batch_norm(x, running_mean, running_var, weight, bias, training=True),
                (x, weight, bias))
    return f"batch_norm (train) {rows}x{features}", build


def rnn_cell_case(batch, hidden):
    def build(ops):
        rng = numpy.random.default_rng(0)
        x, h, w_ih, w_hh, b_ih, b_hh = _tensors(rng, (batch, hidden), (batch, hidden), (hidden, hidden),
                                                (hidden, hidden), (hidden,), (hidden,))
        return lambda: ops.rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh), (x, h, w_ih, w_hh, b_ih, b_hh)
    return f"rnn_cell tanh B={batch} H={hidden}", build


def cross_entropy_case(rows, classes):
    def build(ops):
        rng = numpy.random.default_rng(0)
        (logits,) = _tensors(rng, (rows, classes))
        target = minigrad.tensor(rng.integers(0, classes, rows))
        return lambda: ops.cross_entropy(logits, target), (logits,)
    return f"cross_entropy {rows}x{classes}", build


def attention_case(batch, heads, length, head_dim):
    def build(ops):
        rng = numpy.random.default_rng(0)
        leaves = _tensors(rng, *[(batch, heads, length, head_dim)] * 3)
        return lambda: ops.scaled_dot_product_attention(*leaves, is_causal=True), leaves
    return f"causal attention B={batch} heads={heads} T={length} d={head_dim}", build


def cases(quick):
    if quick:
        return [linear_case(64, 256), layer_norm_case(64, 1024), batch_norm_case(64, 1024),
                rnn_cell_case(64, 256), cross_entropy_case(64, 1000), attention_case(2, 4, 64, 32)]
    return [linear_case(64, 1024), linear_case(4096, 1024),
            layer_norm_case(64, 1024), layer_norm_case(4096, 1024),
            batch_norm_case(64, 1024), batch_norm_case(4096, 1024),
            rnn_cell_case(64, 256), rnn_cell_case(1024, 1024),
            cross_entropy_case(64, 1000), cross_entropy_case(4096, 1000), attention_case(8, 4, 128, 64)]


def forward_backward(forward, leaves):
    """One call: forward, then backward from a fixed upstream gradient, starting from cleared gradients."""
    upstream = None

    def call():
        nonlocal upstream
        for leaf in leaves:
            leaf.grad = None
        output = forward()
        if upstream is None:
            upstream = numpy.random.default_rng(1).standard_normal(output.shape).astype(FLOAT)
        output.backward(upstream if output.numel() > 1 else None)
    return call


def peak_bytes(call):
    """Peak bytes allocated while `call` runs, above what was allocated before it."""
    call()  # warm up, so caches and the upstream gradient exist before tracing
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def graph_node_count(forward):
    seen, stack = set(), [forward().grad_fn]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(p for p in node.parents if isinstance(p, minigrad.Context))
    return len(seen)


def measure(build, repeats):
    calls, rows = {}, {}
    for name, ops in (("fused", functional), ("composed", composed)):
        forward, leaves = build(ops)
        calls[name] = forward_backward(forward, leaves)
        rows[name] = {"nodes": graph_node_count(forward), "peak": peak_bytes(calls[name])}
    seconds = time_interleaved(calls, repeats)
    for name in calls:
        rows[name]["seconds"] = seconds[name]
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes and 5 repetitions")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per contender (default 15)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 15)
    print(f"fused vs composed, forward + backward, float32, NumPy {numpy.__version__}, median of {repeats}\n")
    print("| op and shape | fused ms | composed ms | speed-up | fused peak MiB | composed peak MiB | memory ratio "
          "| nodes (fused / composed) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, build in cases(args.quick):
        rows = measure(build, repeats)
        fused, composed_row = rows["fused"], rows["composed"]
        print(f"| {label} | {fused['seconds'] * 1e3:.3f} | {composed_row['seconds'] * 1e3:.3f} "
              f"| {composed_row['seconds'] / fused['seconds']:.2f}x | {fused['peak'] / 2**20:.2f} "
              f"| {composed_row['peak'] / 2**20:.2f} | {composed_row['peak'] / max(fused['peak'], 1):.2f}x "
              f"| {fused['nodes']} / {composed_row['nodes']} |", flush=True)


if __name__ == "__main__":
    main()
