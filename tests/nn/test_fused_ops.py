"""The fused ops of minigrad.nn.ops against finite differences and against their composed twins.

For each op: gradcheck passes for the fused op and for the composed one (built from primitive ops), the two
agree to 1e-10 in float64 (forward and every gradient), and the fused op is a single node of the graph.
"""

from collections import namedtuple

import numpy
import pytest

import minigrad
from minigrad.nn import composed as C
from minigrad.nn import functional as F
from minigrad.nn import ops
from tests.helpers import assert_close

Case = namedtuple("Case", ["name", "fused", "composed", "shapes", "function"])
RUNNING_MEAN = numpy.array([0.3, -0.2, 0.1, 0.5])
RUNNING_VAR = numpy.array([0.8, 1.5, 0.6, 2.0])
TARGET = numpy.array([1, 0, 4, 2])
TOKENS = numpy.array([[1, 3, 3], [0, 4, 1]])  # repeated tokens: their gradients add up (2 is padding)
ALLOWED = numpy.random.default_rng(0).random((4, 6)) < 0.6  # True where a query may attend
ALLOWED[1, :] = [False] * 5 + [True]
ALLOWED[2, :] = False  # a query that may attend to nothing: output 0, as PyTorch


def _running():
    return minigrad.tensor(RUNNING_MEAN.copy()), minigrad.tensor(RUNNING_VAR.copy())


def _batch_norm(module, training, with_running=True):
    def call(x, weight, bias):
        running_mean, running_var = _running() if with_running else (None, None)
        return module.batch_norm(x, running_mean, running_var, weight, bias, training=training)
    return call


CASES = [
    Case("linear", F.linear, C.linear, [(3, 4), (5, 4), (5,)], ops.Linear),
    Case("linear batched 3-D", F.linear, C.linear, [(2, 3, 4), (5, 4), (5,)], ops.Linear),
    Case("linear no bias", F.linear, C.linear, [(3, 4), (5, 4)], ops.Linear),
    Case("layer_norm", lambda x, w, b: F.layer_norm(x, (6,), w, b), lambda x, w, b: C.layer_norm(x, (6,), w, b),
         [(3, 6), (6,), (6,)], ops.LayerNorm),
    Case("layer_norm two dims", lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
         lambda x, w, b: C.layer_norm(x, (3, 4), w, b), [(2, 3, 4), (3, 4), (3, 4)], ops.LayerNorm),
    Case("layer_norm no affine", lambda x: F.layer_norm(x, 5), lambda x: C.layer_norm(x, 5), [(4, 5)],
         ops.LayerNorm),
    Case("rms_norm", lambda x, w: F.rms_norm(x, (6,), w), lambda x, w: C.rms_norm(x, (6,), w), [(3, 6), (6,)],
         ops.RMSNorm),
    Case("rms_norm two dims eps", lambda x, w: F.rms_norm(x, (3, 4), w, 1e-3),
         lambda x, w: C.rms_norm(x, (3, 4), w, 1e-3), [(2, 3, 4), (3, 4)], ops.RMSNorm),
    Case("rms_norm no affine", lambda x: F.rms_norm(x, 5), lambda x: C.rms_norm(x, 5), [(4, 5)], ops.RMSNorm),
    Case("batch_norm train (N, C)", _batch_norm(F, True), _batch_norm(C, True), [(6, 4), (4,), (4,)],
         ops.BatchNorm),
    Case("batch_norm train (N, C, L)", _batch_norm(F, True), _batch_norm(C, True), [(3, 4, 5), (4,), (4,)],
         ops.BatchNorm),
    Case("batch_norm train no running stats", _batch_norm(F, True, False), _batch_norm(C, True, False),
         [(6, 4), (4,), (4,)], ops.BatchNorm),
    Case("batch_norm eval", _batch_norm(F, False), _batch_norm(C, False), [(3, 4, 2), (4,), (4,)],
         ops.BatchNorm),
    Case("batch_norm train (N, C, H, W)", _batch_norm(F, True), _batch_norm(C, True), [(3, 4, 3, 2), (4,), (4,)],
         ops.BatchNorm),
    Case("batch_norm eval (N, C, H, W)", _batch_norm(F, False), _batch_norm(C, False), [(2, 4, 2, 3), (4,), (4,)],
         ops.BatchNorm),
    Case("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: C.group_norm(x, 2, w, b),
         [(2, 4, 3, 2), (4,), (4,)], ops.GroupNorm),
    Case("group_norm (N, C) no affine", lambda x: F.group_norm(x, 3), lambda x: C.group_norm(x, 3), [(3, 6)],
         ops.GroupNorm),
    Case("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
         lambda x, w, b: C.conv2d(x, w, b, (2, 1), (1, 1, 1, 1), (1, 2), 2), [(2, 4, 5, 5), (4, 2, 2, 3), (4,)],
         ops.Conv2d),
    Case("rnn_cell tanh", F.rnn_cell, C.rnn_cell, [(3, 4), (3, 5), (5, 4), (5, 5), (5,), (5,)],
         ops.RNNCell),
    Case("rnn_cell relu", lambda *a: F.rnn_cell(*a, nonlinearity="relu"),
         lambda *a: C.rnn_cell(*a, nonlinearity="relu"), [(3, 4), (3, 5), (5, 4), (5, 5), (5,), (5,)],
         ops.RNNCell),
    Case("rnn_cell unbatched", F.rnn_cell, C.rnn_cell, [(4,), (5,), (5, 4), (5, 5), (5,), (5,)],
         ops.RNNCell),
    Case("log_softmax", F.log_softmax, C.log_softmax, [(4, 5)], ops.LogSoftmax),
    Case("cross_entropy", lambda z: F.cross_entropy(z, minigrad.tensor(TARGET)),
         lambda z: C.cross_entropy(z, minigrad.tensor(TARGET)), [(4, 5)], ops.CrossEntropy),
    Case("softmax", lambda x: F.softmax(x, 0), None, [(4, 5)], ops.Softmax),
    Case("embedding", lambda w: F.embedding(minigrad.tensor(TOKENS), w, padding_idx=2),
         lambda w: C.embedding(minigrad.tensor(TOKENS), w, padding_idx=2), [(5, 3)], ops.Embedding),
    Case("scaled_dot_product_attention", F.scaled_dot_product_attention, C.scaled_dot_product_attention,
         [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)], ops.ScaledDotProductAttention),
    Case("scaled_dot_product_attention float mask, broadcast",
         lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.6),
         lambda q, k, v, m: C.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.6),
         [(2, 3, 4, 5), (3, 6, 5), (1, 3, 6, 7), (3, 1, 6)], ops.ScaledDotProductAttention),
    Case("scaled_dot_product_attention causal",
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         lambda q, k, v: C.scaled_dot_product_attention(q, k, v, is_causal=True),
         [(3, 5, 4), (3, 5, 4), (3, 5, 2)], ops.ScaledDotProductAttention),
    Case("scaled_dot_product_attention bool mask",
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=minigrad.tensor(ALLOWED)),
         lambda q, k, v: C.scaled_dot_product_attention(q, k, v, attn_mask=minigrad.tensor(ALLOWED)),
         [(2, 4, 3), (2, 6, 3), (2, 6, 2)], ops.ScaledDotProductAttention),
    Case("mse_loss", F.mse_loss, None, [(4, 3), (4, 3)], ops.MSELoss),
]
IDS = [case.name for case in CASES]


def leaves(shapes, seed=0):
    rng = numpy.random.default_rng(seed)
    return [minigrad.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True) for shape in shapes]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_fused(case):
    assert minigrad.gradcheck(case.fused, leaves(case.shapes))


@pytest.mark.parametrize("case", [c for c in CASES if c.composed], ids=[c.name for c in CASES if c.composed])
def test_gradcheck_composed(case):
    assert minigrad.gradcheck(case.composed, leaves(case.shapes))


@pytest.mark.parametrize("case", [c for c in CASES if c.composed], ids=[c.name for c in CASES if c.composed])
def test_fused_equals_composed(case):
    fused_inputs, composed_inputs = leaves(case.shapes, seed=3), leaves(case.shapes, seed=3)
    fused, composed = case.fused(*fused_inputs), case.composed(*composed_inputs)
    assert_close(fused, composed, what="forward")
    upstream = numpy.random.default_rng(4).standard_normal(fused.shape)
    fused.backward(upstream)
    composed.backward(upstream)
    for index, (a, b) in enumerate(zip(fused_inputs, composed_inputs)):
        assert_close(a.grad, b.grad, what=f"gradient of input {index}")


def graph_nodes(output):
    """Every graph node that backward would visit from `output`."""
    seen, stack = {}, [output.grad_fn]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(parent for parent in node.parents if isinstance(parent, minigrad.Context))
    return list(seen.values())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_fused_op_is_one_node(case):
    inputs = leaves(case.shapes)
    output = case.fused(*inputs)
    assert issubclass(output.grad_fn.function, case.function)  # the op itself or one of its fast subclasses
    assert graph_nodes(output) == [output.grad_fn]
    parents = [parent for parent in output.grad_fn.parents if parent is not None]
    assert len(parents) == len(inputs) and all(p is x for p, x in zip(parents, inputs)), \
        "the fused node's parents are the leaves themselves"
    if case.composed is not None:
        assert len(graph_nodes(case.composed(*inputs))) > 1


def test_running_statistics_update_is_the_same_fused_and_composed():
    x = leaves([(6, 4)])[0]
    fused_running, composed_running = _running(), _running()
    F.batch_norm(x, *fused_running, training=True, momentum=0.3)
    C.batch_norm(x, *composed_running, training=True, momentum=0.3)
    for fused, composed in zip(fused_running, composed_running):
        assert_close(fused, composed)
    assert not numpy.allclose(fused_running[0].numpy(), RUNNING_MEAN)


def test_layer_norm_in_float32_on_data_with_a_large_mean():
    """Mean 1e4 and std 1e-2 in float32: the two-pass variance still normalizes to unit variance.

    The one-pass formula E[x^2] - E[x]^2 fails on the same data (checked below, so the test has teeth): E[x^2]
    is about 1e8, where float32's spacing is 8, far above the variance of 1e-4.
    """
    rng = numpy.random.default_rng(0)
    x = (1e4 + 1e-2 * rng.standard_normal((8, 1024))).astype(numpy.float32)
    output = F.layer_norm(minigrad.tensor(x), 1024, eps=1e-12).numpy().astype(numpy.float64)
    assert numpy.all(numpy.abs(output.var(axis=1) - 1) < 1e-4)
    assert numpy.all(numpy.abs(output.mean(axis=1)) < 1e-4)
    one_pass = (x * x).mean(axis=1) - x.mean(axis=1) ** 2  # gives 0, or +-8, or +-16: all wrong
    true_variance = x.astype(numpy.float64).var(axis=1)
    assert numpy.all(numpy.abs(one_pass - true_variance) > 0.5 * true_variance)


def test_softmax_and_log_softmax_are_stable_for_large_inputs():
    x = minigrad.tensor([[1e4, 0.0, -1e4], [5e3, 5e3, 0.0]], dtype="float64")
    assert_close(F.softmax(x), [[1, 0, 0], [0.5, 0.5, 0]])
    assert_close(F.log_softmax(x)[0, 0], 0.0)
    assert numpy.isfinite(F.log_softmax(x).numpy()).all()
