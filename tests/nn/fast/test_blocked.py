"""BlockedLayerNorm and BlockedBatchNorm work through x in blocks of rows (minigrad.nn.ops.fast.blocked): cutting x
into many small blocks, the last one ragged, gives the same forward and gradients as one whole block.
"""

import numpy
import pytest

import minigrad
from minigrad.nn.ops.fast import blocked
from tests.helpers import assert_close

TOLERANCE = {"float64": 1e-12, "float32": 1e-6}


def _forward_and_gradients(function, arrays, dtype):
    rng = numpy.random.default_rng(1)
    leaves = [minigrad.tensor(a, dtype=dtype, requires_grad=True, backend="numpy") for a in arrays]
    output = function(*leaves)
    output.backward(minigrad.tensor(rng.standard_normal(output.shape), dtype=dtype, backend="numpy"))
    return [output.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]


def _layer_norm(x, weight, bias):
    return blocked.BlockedLayerNorm.apply(x, weight, bias, 2, 1e-5)


def _batch_norm(x, weight, bias):
    channels = x.shape[1]
    running_mean = minigrad.zeros(channels, dtype=x.dtype, backend="numpy")
    running_var = minigrad.ones(channels, dtype=x.dtype, backend="numpy")
    return blocked.BlockedBatchNorm.apply(x, weight, bias, running_mean, running_var, True, 0.1, 1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("function, shapes", [
    (_layer_norm, [(37, 3, 5), (3, 5), (3, 5)]),
    (_batch_norm, [(37, 6), (6,), (6,)]),
    (_batch_norm, [(37, 4, 3), (4,), (4,)]),
])
def test_many_small_blocks_agree_with_one_block(monkeypatch, dtype, function, shapes):
    rng = numpy.random.default_rng(0)
    arrays = [3.0 + 2.0 * rng.standard_normal(shape) for shape in shapes]
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 2 ** 40)
    whole = _forward_and_gradients(function, arrays, dtype)
    # 4 rows of x per block: 10 blocks, the last one of a single row
    row_bytes = numpy.dtype(dtype).itemsize * int(numpy.prod(shapes[0][1:]))
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 4 * row_bytes)
    x = numpy.asarray(arrays[0], dtype=dtype)
    assert len(blocked._row_blocks(x, shapes[0][0])) == 10
    in_blocks = _forward_and_gradients(function, arrays, dtype)
    for name, actual, expected in zip(["output", "grad x", "grad weight", "grad bias"], in_blocks, whole):
        assert_close(actual, expected, atol=TOLERANCE[dtype] * max(1.0, numpy.abs(expected).max()), what=name)


def test_batch_norm_in_float32_on_data_with_a_large_mean(monkeypatch):
    """Mean 1e4 and std 1e-2 per channel in float32, statistics gathered over blocks of rows: unit variance."""
    monkeypatch.setattr(blocked, "BLOCK_BYTES", 64 * 16 * 4)
    rng = numpy.random.default_rng(0)
    x = (1e4 + 1e-2 * rng.standard_normal((1024, 16))).astype(numpy.float32)
    output = blocked.BlockedBatchNorm.apply(minigrad.tensor(x, backend="numpy"), None, None, None, None, True, 0.1,
                                            1e-12).numpy().astype(numpy.float64)
    assert numpy.all(numpy.abs(output.var(axis=0) - 1) < 1e-4)
    assert numpy.all(numpy.abs(output.mean(axis=0)) < 1e-4)
