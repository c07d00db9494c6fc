"""Embedding and scaled dot-product attention against PyTorch (forward and every gradient, float64 to 1e-10 and
float32, on every backend), the fused attention against its composed twin, masks, causal masking, broadcasting,
fully masked rows and dropout."""

import numpy
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import composed as C
from minigrad.nn import functional as F
from tests.helpers import assert_close, host

torch = pytest.importorskip("torch")
TF = torch.nn.functional
ATTENTIONS = {"fused": F.scaled_dot_product_attention, "composed": C.scaled_dot_product_attention}
TOLERANCE = {"float64": 1e-10, "float32": 2e-5}


def draw(rng, shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


def run_attention(attention, arrays, mask=None, upstream_seed=1, **options):
    """attention(q, k, v, attn_mask=mask, **options) in minigrad and in torch on the same arrays; returns both
    outputs and, after one random upstream gradient, both lists of gradients (q, k, v and a float mask)."""
    mask_grad = mask is not None and mask.dtype.kind == "f"
    mine = [minigrad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    my_mask = None if mask is None else minigrad.tensor(mask, requires_grad=mask_grad)
    their_mask = None if mask is None else torch.tensor(mask, requires_grad=mask_grad)
    output = attention(*mine, attn_mask=my_mask, **options)
    expected = TF.scaled_dot_product_attention(*theirs, attn_mask=their_mask, **options)
    upstream = numpy.random.default_rng(upstream_seed).standard_normal(expected.shape).astype(arrays[0].dtype)
    output.backward(minigrad.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    ours, reference = mine + ([my_mask] if mask_grad else []), theirs + ([their_mask] if mask_grad else [])
    return output, expected, [t.grad for t in ours], [t.grad for t in reference]


def assert_matches_torch(attention, arrays, mask=None, **options):
    output, expected, grads, expected_grads = run_attention(attention, arrays, mask, **options)
    atol = TOLERANCE[str(arrays[0].dtype)]
    assert output.dtype == arrays[0].dtype
    assert_close(output, expected, atol=atol, what="output")
    for name, grad, wanted in zip(("query", "key", "value", "attn_mask"), grads, expected_grads):
        assert grad.dtype == wanted.numpy().dtype, name
        assert_close(grad, wanted, atol=atol, what=f"gradient of {name}")
    return output, grads


SHAPES = {
    "4-D": [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)],
    "3-D": [(3, 4, 5), (3, 6, 5), (3, 6, 5)],
    "2-D": [(4, 5), (6, 5), (6, 3)],
    "broadcast heads": [(2, 3, 4, 5), (3, 6, 5), (1, 3, 6, 7)],
    "broadcast both ways": [(2, 1, 4, 5), (1, 3, 6, 5), (1, 3, 6, 2)],
    "L > S": [(2, 7, 5), (2, 3, 5), (2, 3, 4)],
}


def masks(rng, length, source_length):
    allowed = rng.random((length, source_length)) < 0.7
    allowed[:, 0] = True  # every query attends somewhere (fully masked rows are tested on their own)
    return {
        "none": None,
        "bool": allowed,
        "bool per batch": numpy.broadcast_to(allowed, (2, 1, length, source_length)).copy(),
        "float": rng.standard_normal((length, source_length)),
        "float with -inf": numpy.where(allowed, rng.standard_normal((length, source_length)), -numpy.inf),
    }


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("which", ATTENTIONS)
def test_attention_matches_torch(which, shapes, dtype):
    rng = numpy.random.default_rng(0)
    arrays = [draw(rng, shape, dtype) for shape in shapes]
    length, source_length = shapes[0][-2], shapes[1][-2]
    for name, mask in masks(rng, length, source_length).items():
        if mask is not None and mask.ndim == 4 and len(shapes[0]) < 4 and len(shapes[1]) < 4:
            continue  # a mask may not add batch dims to the scores (PyTorch refuses it too)
        if mask is not None and mask.dtype.kind == "f":
            mask = mask.astype(dtype)
        assert_matches_torch(ATTENTIONS[which], arrays, mask)
    assert_matches_torch(ATTENTIONS[which], arrays, is_causal=True)
    assert_matches_torch(ATTENTIONS[which], arrays, scale=0.37)


def test_causal_mask_is_top_left_aligned_when_query_and_key_lengths_differ():
    rng = numpy.random.default_rng(1)
    for length, source_length in ((3, 5), (5, 3)):
        query, key, value = (minigrad.tensor(draw(rng, (length if i == 0 else source_length, 4))) for i in range(3))
        causal = F.scaled_dot_product_attention(query, key, value, is_causal=True)
        tril = minigrad.tensor(numpy.tril(numpy.ones((length, source_length), dtype=bool)))
        assert_close(causal, F.scaled_dot_product_attention(query, key, value, attn_mask=tril))


@pytest.mark.parametrize("which", ATTENTIONS)
def test_fully_masked_rows_give_zeros_as_pytorch(which):
    """PyTorch 2.13 returns 0 (not NaN) for a query that may attend to nothing, and no gradient flows from it."""
    rng = numpy.random.default_rng(2)
    arrays = [draw(rng, shape) for shape in [(2, 4, 5), (2, 6, 5), (2, 6, 3)]]
    allowed = rng.random((4, 6)) < 0.6
    allowed[:, 0], allowed[1] = True, False
    additive = numpy.where(allowed, 0.0, -numpy.inf)
    for mask in (allowed, additive):
        output, grads = assert_matches_torch(ATTENTIONS[which], arrays, mask)
        assert numpy.all(host(output)[:, 1] == 0) and numpy.all(host(grads[0])[:, 1] == 0)
        assert all(numpy.isfinite(host(grad)).all() for grad in grads[:3])


def test_fused_equals_composed_with_masks_and_causal():
    rng = numpy.random.default_rng(3)
    arrays = [draw(rng, shape) for shape in SHAPES["4-D"]] + [rng.standard_normal((3, 4, 6))]
    upstream = [minigrad.tensor(rng.standard_normal((2, 3, 4, 7))) for _ in range(2)]
    results = {}
    for name, attention in ATTENTIONS.items():
        inputs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
        masked = attention(*inputs[:3], attn_mask=inputs[3], scale=0.5)
        causal = attention(*inputs[:3], is_causal=True)
        ((masked * upstream[0]).sum() + (causal * upstream[1]).sum()).backward()
        results[name] = [masked, causal] + [t.grad for t in inputs]
    for fused, composed in zip(results["fused"], results["composed"]):
        assert_close(fused, composed)


@pytest.mark.parametrize("which", ATTENTIONS)
def test_gradcheck_with_float_mask_and_causal(which):
    rng = numpy.random.default_rng(4)
    inputs = [minigrad.tensor(draw(rng, shape), requires_grad=True) for shape in [(2, 3, 4), (2, 5, 4), (2, 5, 3),
                                                                                   (3, 5)]]
    attention = ATTENTIONS[which]
    assert minigrad.gradcheck(lambda q, k, v, m: attention(q, k, v, attn_mask=m), inputs)
    assert minigrad.gradcheck(lambda q, k, v: attention(q, k, v, is_causal=True, scale=0.8), inputs[:3])


@pytest.mark.parametrize("which", ATTENTIONS)
def test_attention_on_every_backend_gives_numpys_numbers(which, backend):
    rng = numpy.random.default_rng(5)
    arrays = [draw(rng, shape) for shape in SHAPES["broadcast heads"]]
    mask = rng.random((4, 6)) < 0.7
    mask[:, 0] = True
    additive = rng.standard_normal((4, 6))
    results = {}
    for name in ("numpy", backend):
        minigrad.manual_seed(0)
        with minigrad.use_backend(name):
            inputs = [minigrad.tensor(a, requires_grad=True) for a in arrays + [additive]]
            outputs = [ATTENTIONS[which](*inputs[:3], attn_mask=minigrad.tensor(mask)),
                       ATTENTIONS[which](*inputs[:3], attn_mask=inputs[3], is_causal=False),
                       ATTENTIONS[which](*inputs[:3], is_causal=True),
                       ATTENTIONS[which](*inputs[:3], dropout_p=0.3)]
            sum(((output * output).sum() for output in outputs[1:]), outputs[0].sum()).backward()
        assert {output.backend for output in outputs} == {name}
        results[name] = outputs + [t.grad for t in inputs]
    for actual, expected in zip(results[backend], results["numpy"]):
        assert actual.backend == backend
        assert_close(actual, expected, atol=1e-12)


def test_attention_matches_torch_on_the_strict_backend():
    with minigrad.use_backend("strict"):
        rng = numpy.random.default_rng(6)
        arrays = [draw(rng, shape) for shape in SHAPES["broadcast heads"]]
        for attention in ATTENTIONS.values():
            assert_matches_torch(attention, arrays, rng.standard_normal((4, 6)))
            output, *_ = run_attention(attention, arrays, is_causal=True)
            assert output.backend == "strict"


@pytest.mark.parametrize("which", ATTENTIONS)
def test_dropout_keeps_each_weight_with_probability_one_minus_p_and_rescales(which):
    """The draws come from minigrad's generator, so they cannot repeat PyTorch's random stream; what is checked
    is the distribution of the mask, and, given the mask this call drew, PyTorch's forward and gradients."""
    p, length = 0.3, 64
    rng = numpy.random.default_rng(7)
    arrays = [draw(rng, (4, length, 8)) for _ in range(2)] + [numpy.eye(length)]
    inputs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
    minigrad.manual_seed(3)
    dropped = ATTENTIONS[which](*inputs, dropout_p=p)  # value = identity: the output is the dropped weights
    kept = host(dropped) != 0
    assert abs(kept.mean() - (1 - p)) < 0.015  # 16384 draws: the standard error is 0.0036
    upstream = rng.standard_normal(dropped.shape)
    dropped.backward(minigrad.tensor(upstream))
    # the same mask in PyTorch: softmax, zero the dropped weights, scale the kept ones by 1 / (1 - p)
    query, key, value = (torch.tensor(a, requires_grad=True) for a in arrays)
    weights = torch.softmax(query @ key.mT / numpy.sqrt(8), -1)
    expected = (weights * torch.tensor(kept) / (1 - p)) @ value
    expected.backward(torch.tensor(upstream))
    assert_close(dropped, expected)
    for name, mine, theirs in zip(("query", "key", "value"), inputs, (query, key, value)):
        assert_close(mine.grad, theirs.grad, what=f"gradient of {name}")
    minigrad.manual_seed(3)
    assert_close(ATTENTIONS[which](*inputs, dropout_p=p), dropped)  # seeded: it repeats
    assert not numpy.array_equal(host(ATTENTIONS[which](*inputs, dropout_p=p)), host(dropped))


def test_dropout_fused_equals_composed_for_the_same_seed_and_its_gradient_is_checked():
    rng = numpy.random.default_rng(8)
    arrays = [draw(rng, shape) for shape in SHAPES["4-D"]]
    results = {}
    for name, attention in ATTENTIONS.items():
        inputs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
        minigrad.manual_seed(11)
        output = attention(*inputs, dropout_p=0.4, is_causal=True)
        output.backward(minigrad.tensor(numpy.random.default_rng(1).standard_normal(output.shape)))
        results[name] = [output] + [t.grad for t in inputs]
    for fused, composed in zip(results["fused"], results["composed"]):
        assert_close(fused, composed)
    for attention in ATTENTIONS.values():
        def seeded(q, k, v, attention=attention):
            minigrad.manual_seed(12)  # the same mask in every evaluation: finite differences see one function
            return attention(q, k, v, dropout_p=0.5)
        assert minigrad.gradcheck(seeded, [minigrad.tensor(a[0, :2], requires_grad=True) for a in arrays])


@pytest.mark.parametrize("which", ATTENTIONS)
def test_attention_is_one_node_when_fused(which):
    inputs = [minigrad.tensor(numpy.ones(shape), requires_grad=True) for shape in SHAPES["3-D"]]
    output = ATTENTIONS[which](*inputs)
    if which == "fused":
        assert output.grad_fn.name == "ScaledDotProductAttention"
        assert all(parent is leaf for parent, leaf in zip(output.grad_fn.parents, inputs))
    else:
        assert output.grad_fn.name != "ScaledDotProductAttention"


BAD_CALLS = [
    ("at least 2", [(5,), (5,), (5,)], {}),
    ("embedding dim", [(4, 5), (6, 4), (6, 5)], {}),
    ("key and value", [(4, 5), (6, 5), (7, 5)], {}),
    ("batch", [(2, 4, 5), (3, 6, 5), (3, 6, 5)], {}),
    ("is_causal", [(4, 5), (6, 5), (6, 5)], {"attn_mask": numpy.ones((4, 6), dtype=bool), "is_causal": True}),
    ("attn_mask", [(4, 5), (6, 5), (6, 5)], {"attn_mask": numpy.ones((4, 6), dtype=numpy.int64)}),
    ("attn_mask", [(4, 5), (6, 5), (6, 5)], {"attn_mask": numpy.ones((3, 4, 6), dtype=bool)}),
    ("attn_mask", [(4, 5), (6, 5), (6, 5)], {"attn_mask": numpy.ones((4, 5), dtype=bool)}),
    ("dropout_p", [(4, 5), (6, 5), (6, 5)], {"dropout_p": 1.5}),
]


@pytest.mark.parametrize("words, shapes, options", BAD_CALLS, ids=[f"{c[0]} {i}" for i, c in enumerate(BAD_CALLS)])
def test_bad_attention_calls_raise_clear_errors(words, shapes, options):
    options = {key: minigrad.tensor(value) if isinstance(value, numpy.ndarray) else value
               for key, value in options.items()}
    tensors = [minigrad.ones(*shape) for shape in shapes]
    with pytest.raises(ValueError, match=words):
        F.scaled_dot_product_attention(*tensors, **options)


# --- Embedding ---------------------------------------------------------------------------------------------------

INDICES = numpy.array([[1, 3, 3, 0], [2, 3, 1, 1]])  # repeats, and the padding index 1 several times


@pytest.mark.parametrize("padding_idx", [None, 1, -4])
@pytest.mark.parametrize("embedding", [F.embedding, C.embedding], ids=["fused", "composed"])
def test_embedding_matches_torch(embedding, padding_idx):
    weight = numpy.random.default_rng(0).standard_normal((5, 3))
    for indices in (INDICES, INDICES[0], numpy.array(2)):
        mine, theirs = minigrad.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
        output = embedding(minigrad.tensor(indices), mine, padding_idx=padding_idx)
        expected = TF.embedding(torch.tensor(indices), theirs, padding_idx=padding_idx)
        assert_close(output, expected)
        upstream = numpy.random.default_rng(1).standard_normal(expected.shape)
        output.backward(minigrad.tensor(upstream))
        expected.backward(torch.tensor(upstream))
        assert_close(mine.grad, theirs.grad, what="gradient of the weight")
    if padding_idx is None:  # with one, the padding row's gradient is zero by definition, not the derivative
        assert minigrad.gradcheck(lambda w: embedding(minigrad.tensor(INDICES), w),
                                  [minigrad.tensor(weight, requires_grad=True)])


def test_embedding_gradient_accumulates_repeats_and_skips_the_padding_row():
    weight = minigrad.tensor(numpy.zeros((5, 2)), requires_grad=True)
    F.embedding(minigrad.tensor(INDICES), weight, padding_idx=1).sum().backward()
    assert_close(weight.grad, numpy.array([[1, 1], [0, 0], [1, 1], [3, 3], [0, 0.]]))
    output = F.embedding(minigrad.tensor(INDICES), weight, padding_idx=1)
    assert output.grad_fn.name == "Embedding"


def test_embedding_module_init_state_dict_and_layer_vs_torch():
    minigrad.manual_seed(0)
    layer = nn.Embedding(1000, 8, padding_idx=2)
    weight = host(layer.weight)
    assert list(layer.state_dict()) == ["weight"] and weight.shape == (1000, 8)
    assert numpy.all(weight[2] == 0) and abs(weight.mean()) < 0.05 and abs(weight.std() - 1) < 0.05  # N(0, 1)
    reference = torch.nn.Embedding(1000, 8, padding_idx=2).double()
    reference.load_state_dict({"weight": torch.tensor(weight)})
    indices = numpy.array([[2, 5, 5], [999, 2, 0]])
    output, expected = layer(minigrad.tensor(indices)), reference(torch.tensor(indices))
    assert_close(output.double(), expected, atol=1e-7)
    assert repr(layer) == "Embedding(1000, 8, padding_idx=2)"


def test_embedding_on_every_backend(backend):
    results = {}
    for name in ("numpy", backend):
        minigrad.manual_seed(0)
        with minigrad.use_backend(name):
            layer = nn.Embedding(5, 3, padding_idx=0)
            output = layer(minigrad.tensor(INDICES))
            (output * output).sum().backward()
        results[name] = [output, layer.weight.grad]
    for actual, expected in zip(results[backend], results["numpy"]):
        assert actual.backend == backend
        assert_close(actual, expected, atol=0)


@pytest.mark.parametrize("indices, words", [(numpy.array([0, 5]), "range"), (numpy.array([-1, 0]), "range"),
                                            (numpy.array([0.0, 1.0]), "integer")])
def test_bad_embedding_indices_raise(indices, words):
    with pytest.raises((ValueError, TypeError), match=words):
        F.embedding(minigrad.tensor(indices), minigrad.ones(5, 3))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 3, padding_idx=5)
