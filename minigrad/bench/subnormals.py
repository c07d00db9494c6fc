"""``python -m minigrad.bench.subnormals``: why the RNN step's time grows faster than T, counted.

The benchmark's RNN step (a separate-LN RNN on the adding problem, float32) takes longer per time step at T=400
than at T=50, in minigrad and in PyTorch alike. The work per time step is the same; the numbers are not. The
gradient dL/dh_t shrinks as it flows back through time, and once it falls below float32's smallest normal number
(1.18e-38) every operation on it takes the CPU's slow path for subnormals. This script runs the minigrad step,
keeps the gradient of every hidden state (after one Adam step, as in the benchmark's timed calls), and prints for
each T:

- the share of the time steps whose dL/dh_t holds a subnormal value, and the share of all those values that are
  subnormal (the rest of the vanished ones are exact zeros, which cost nothing);
- the median time per time step as it is and with subnormals flushed to zero (``minigrad.set_flush_denormal``),
  the two timed interleaved.

    python -m minigrad.bench.subnormals

The fast Linear and LayerNorm (the default for NumPy arrays) lift a vanishing gradient out of the subnormal range
before their products (:mod:`minigrad.nn.ops.fast.subnormal`), so with them the "as is" time is close to the
flushed one; ``MINIGRAD_FAST=0`` times the plain ops, which take the slow path.
"""

import argparse

import numpy

import minigrad
from minigrad.bench import workloads
from minigrad.bench.harness import time_interleaved
from minigrad.nn import functional as F

SMALLEST_NORMAL32 = numpy.finfo(numpy.float32).tiny


def hidden_state_gradients(steps, trained_steps=1):
    """dL/dh_t for t = 1..T in the benchmark's minigrad RNN step (its model, data and seed), after
    `trained_steps` Adam steps: the timed calls of the benchmark all come after its warm-up call has updated the
    weights once, and that first update is enough to make the gradient vanish faster."""
    cell, readout, optimizer, inputs, targets = workloads.rnn_minigrad_model(steps)
    for step in range(trained_steps + 1):
        optimizer.zero_grad()
        h = minigrad.zeros(workloads.RNN_BATCH, workloads.RNN_HIDDEN)
        hidden = []
        for t in range(steps):
            h = cell(inputs[t], h)
            h.retain_grad()
            hidden.append(h)
        F.mse_loss(readout(h), targets).backward()
        if step < trained_steps:
            optimizer.step()
    return [state.grad.numpy() for state in hidden]


def subnormal_counts(gradients):
    """(share of time steps with a subnormal in dL/dh_t, share of all values that are subnormal)."""
    subnormal = [(gradient != 0) & (numpy.abs(gradient) < SMALLEST_NORMAL32) for gradient in gradients]
    steps_with_any = sum(bool(mask.any()) for mask in subnormal) / len(subnormal)
    values = sum(int(mask.sum()) for mask in subnormal) / sum(mask.size for mask in subnormal)
    return steps_with_any, values


def seconds_per_step(steps, repeats):
    """Median seconds per time step of the training step as is and with subnormals flushed, timed interleaved
    (two models, alternating calls), so that a change of machine load hits both alike."""
    calls = {"as is": workloads._rnn_minigrad(steps)(), "flushed": workloads._rnn_minigrad(steps, flush=True)()}
    medians = time_interleaved(calls, repeats)
    return medians["as is"] / steps, medians["flushed"] / steps


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench.subnormals", description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=workloads.SCALING_LENGTHS)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    print("| T | time steps with a subnormal dL/dh_t | dL/dh_t values subnormal | time per step | "
          "time per step, subnormals flushed |")
    print("|---|---|---|---|---|")
    for steps in args.lengths:
        with_any, values = subnormal_counts(hidden_state_gradients(steps))
        default, flushed = seconds_per_step(steps, repeats=args.repeats)
        print(f"| {steps} | {100 * with_any:.0f}% | {100 * values:.1f}% | {default * 1e6:.0f} us | "
              f"{flushed * 1e6:.0f} us |", flush=True)


if __name__ == "__main__":
    main()
