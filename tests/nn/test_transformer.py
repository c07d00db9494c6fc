"""MultiheadAttention, TransformerEncoderLayer and TransformerEncoder against PyTorch with the same weights
(PyTorch's state_dict loaded unchanged): outputs, attention weights, and the gradients of the inputs and of every
parameter to 1e-10 in float64, with masks, padding, both norm_first settings, both activations, batch_first both
ways; on every backend. The comparisons run in training mode with dropout 0, where PyTorch takes no fast path
(in evaluation under no_grad its encoder may return padded positions as zeros through nested tensors)."""

import numpy
import pytest

import minigrad
from minigrad import nn
from minigrad.nn.modules.transformer import generate_square_subsequent_mask
from tests.helpers import assert_close, host

torch = pytest.importorskip("torch")
L, S, N, E, HEADS = 5, 7, 3, 8, 2


def twins(make_torch, make_ours, seed=0):
    """A torch module (float64, its parameters moved off their zero and one starting values) and ours with its
    state_dict loaded."""
    torch.manual_seed(seed)
    theirs = make_torch().double()
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    ours = make_ours().double()
    ours.load_state_dict({key: value.detach().numpy() for key, value in theirs.state_dict().items()})
    return ours, theirs


def compare(ours, theirs, arrays, seed=1, **options):
    """ours(*tensors, **options) and theirs(...): every output (a Tensor or a tuple, None skipped), and after one
    random upstream gradient per output, the inputs' and the parameters' gradients."""
    mine = [minigrad.tensor(a, requires_grad=True) for a in arrays]
    reference = [torch.tensor(a, requires_grad=True) for a in arrays]
    convert = {key: (value if not isinstance(value, numpy.ndarray) else (minigrad.tensor(value), torch.tensor(value)))
               for key, value in options.items()}
    my_options = {key: value[0] if isinstance(value, tuple) else value for key, value in convert.items()}
    their_options = {key: value[1] if isinstance(value, tuple) else value for key, value in convert.items()}
    outputs, expected = ours(*mine, **my_options), theirs(*reference, **their_options)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    rng = numpy.random.default_rng(seed)
    my_loss, their_loss = 0, 0
    for index, (output, wanted) in enumerate(zip(outputs, expected)):
        assert (output is None) == (wanted is None), f"output {index}"
        if output is None:
            continue
        assert_close(output, wanted, what=f"output {index}")
        upstream = rng.standard_normal(wanted.shape)
        my_loss = my_loss + (output * minigrad.tensor(upstream)).sum()
        their_loss = their_loss + (wanted * torch.tensor(upstream)).sum()
    my_loss.backward()
    their_loss.backward()
    for index, (a, b) in enumerate(zip(mine, reference)):
        assert_close(a.grad, b.grad, what=f"gradient of input {index}")
    theirs_named = dict(theirs.named_parameters())
    assert dict(ours.named_parameters()).keys() == theirs_named.keys()
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad, theirs_named[name].grad, what=f"gradient of {name}")
    ours.zero_grad()
    theirs.zero_grad()
    return outputs


def sequences(batch_first, batched=True, seed=0, lengths=(L, S, S)):
    rng = numpy.random.default_rng(seed)
    if not batched:
        return [rng.standard_normal((length, E)) for length in lengths]
    return [rng.standard_normal((N, length, E) if batch_first else (length, N, E)) for length in lengths]


def mha_masks(seed=0, length=L, source_length=S):
    rng = numpy.random.default_rng(seed)
    masked = rng.random((length, source_length)) < 0.3
    masked[:, 0] = False  # True = may not attend; every query keeps key 0
    padding = numpy.zeros((N, source_length), dtype=bool)
    padding[0, -2:], padding[2, -1] = True, True
    return {
        "none": {},
        "bool attn_mask": {"attn_mask": masked},
        "float attn_mask": {"attn_mask": rng.standard_normal((length, source_length))},
        "per head attn_mask": {"attn_mask": numpy.broadcast_to(masked, (N * HEADS, length, source_length)).copy()},
        "key_padding_mask": {"key_padding_mask": padding},
        "float key_padding_mask": {"key_padding_mask": numpy.where(padding, -1e9, rng.standard_normal(padding.shape))},
        "both": {"attn_mask": masked, "key_padding_mask": padding},
    }


def make_mha(batch_first=False, bias=True, dropout=0.0):
    return (lambda: torch.nn.MultiheadAttention(E, HEADS, dropout=dropout, bias=bias, batch_first=batch_first),
            lambda: nn.MultiheadAttention(E, HEADS, dropout=dropout, bias=bias, batch_first=batch_first))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(batch_first, bias):
    ours, theirs = twins(*make_mha(batch_first, bias))
    arrays = sequences(batch_first)
    for name, masks in mha_masks().items():
        for need_weights in (True, False):
            for average in (True, False):
                outputs = compare(ours, theirs, arrays, need_weights=need_weights, average_attn_weights=average,
                                  **masks)
                if need_weights:
                    assert outputs[1].shape == ((N, L, S) if average else (N, HEADS, L, S)), name


def test_multihead_self_attention_and_unbatched_inputs():
    ours, theirs = twins(*make_mha())
    x = sequences(False, lengths=(L,))[0]
    compare(ours, theirs, [x, x, x])  # three inputs that are equal, each with its own gradient
    unbatched = sequences(False, batched=False)
    masked = mha_masks()["bool attn_mask"]["attn_mask"]
    for options in ({}, {"attn_mask": masked}, {"key_padding_mask": numpy.arange(S) >= S - 2},
                    {"attn_mask": numpy.broadcast_to(masked, (HEADS, L, S)).copy(), "average_attn_weights": False},
                    {"need_weights": False, "attn_mask": numpy.random.default_rng(3).standard_normal((L, S))}):
        compare(ours, theirs, unbatched, **options)


def test_is_causal_is_a_hint_that_needs_attn_mask_as_in_pytorch():
    ours, theirs = twins(*make_mha())
    arrays = sequences(False, lengths=(L, L, L))
    causal = numpy.triu(numpy.ones((L, L), dtype=bool), 1)
    for need_weights in (True, False):
        compare(ours, theirs, arrays, attn_mask=causal, is_causal=True, need_weights=need_weights)
    # with need_weights=False and no padding mask, PyTorch builds the causal mask and does not read attn_mask
    not_causal = mha_masks(length=L, source_length=L)["bool attn_mask"]["attn_mask"]
    compare(ours, theirs, arrays, attn_mask=not_causal, is_causal=True, need_weights=False)
    compare(ours, theirs, arrays, attn_mask=not_causal, is_causal=True, need_weights=True)
    padding = mha_masks()["key_padding_mask"]["key_padding_mask"][:, :L]
    compare(ours, theirs, arrays, attn_mask=not_causal, key_padding_mask=padding, is_causal=True, need_weights=False)
    with pytest.raises(ValueError, match="is_causal"):
        ours(*(minigrad.tensor(a) for a in arrays), is_causal=True)


def test_fully_masked_queries_as_pytorch():
    """PyTorch's two paths differ: with the weights (softmax of all -inf) the row is NaN; without them (the
    fused attention) it is 0. minigrad does the same on each path."""
    ours, theirs = twins(*make_mha())
    arrays = [minigrad.tensor(a) for a in sequences(False)]
    reference = [torch.tensor(a) for a in sequences(False)]
    masked = numpy.zeros((L, S), dtype=bool)
    masked[1] = True
    for need_weights in (True, False):
        output, _ = ours(*arrays, attn_mask=minigrad.tensor(masked), need_weights=need_weights)
        expected, _ = theirs(*reference, attn_mask=torch.tensor(masked), need_weights=need_weights)
        numpy.testing.assert_allclose(host(output), host(expected), atol=1e-10)  # NaN where PyTorch has NaN
        assert numpy.isnan(host(output)[1]).all() == need_weights


def test_multihead_attention_init_and_names():
    minigrad.manual_seed(0)
    layer = nn.MultiheadAttention(64, 4)
    assert list(layer.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    weight = host(layer.in_proj_weight)
    bound = numpy.sqrt(6 / (64 + 3 * 64))  # Xavier-uniform with fan_out 3E
    assert weight.shape == (192, 64) and weight.max() <= bound and weight.max() > 0.98 * bound
    assert abs(weight.std() - bound / numpy.sqrt(3)) < 0.01
    assert numpy.all(host(layer.in_proj_bias) == 0) and numpy.all(host(layer.out_proj.bias) == 0)
    out_weight = host(layer.out_proj.weight)
    assert out_weight.max() <= 1 / 8 and out_weight.max() > 0.95 / 8  # Linear's U(-1/sqrt(E), 1/sqrt(E))
    assert list(nn.MultiheadAttention(8, 2, bias=False).state_dict()) == ["in_proj_weight", "out_proj.weight"]
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)


def test_multihead_attention_dropout_only_in_training():
    ours, theirs = twins(*make_mha(dropout=0.5))
    arrays = sequences(False)
    minigrad.manual_seed(0)
    first, first_weights = ours(*(minigrad.tensor(a) for a in arrays))
    second, _ = ours(*(minigrad.tensor(a) for a in arrays))
    assert not numpy.allclose(host(first), host(second))
    # the weights returned are the dropped ones, as PyTorch's: their rows no longer sum to 1
    assert not numpy.allclose(host(first_weights).sum(axis=-1), 1)
    ours.eval()
    theirs.eval()
    compare(ours, theirs, arrays)


@pytest.mark.parametrize("bad, words", [({"attn_mask": numpy.zeros((L, L), dtype=bool)}, "attn_mask"),
                                        ({"key_padding_mask": numpy.zeros((N, L), dtype=bool)}, "key_padding_mask"),
                                        ({"attn_mask": numpy.zeros((L, S), dtype=numpy.int64)}, "dtype")])
def test_bad_masks_raise(bad, words):
    layer = nn.MultiheadAttention(E, HEADS)
    arrays = [minigrad.tensor(a, dtype="float32") for a in sequences(False)]
    with pytest.raises(ValueError, match=words):
        layer(*arrays, **{key: minigrad.tensor(value) for key, value in bad.items()})


# --- the encoder ------------------------------------------------------------------------------------------------

def make_layer(**settings):
    settings = {"dim_feedforward": 16, "dropout": 0.0, **settings}
    return (lambda: torch.nn.TransformerEncoderLayer(E, HEADS, **settings),
            lambda: nn.TransformerEncoderLayer(E, HEADS, **{key: MINIGRAD_ACTIVATIONS.get(value, value)
                                                            for key, value in settings.items()}))


MINIGRAD_ACTIVATIONS = {torch.tanh: minigrad.Tensor.tanh}


@pytest.mark.parametrize("activation", ["relu", "gelu", torch.tanh], ids=["relu", "gelu", "callable"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_torch(batch_first, norm_first, activation):
    ours, theirs = twins(*make_layer(batch_first=batch_first, norm_first=norm_first, activation=activation))
    (src,) = sequences(batch_first, lengths=(L,))
    masks = mha_masks(length=L, source_length=L)
    padding = masks["key_padding_mask"]["key_padding_mask"][:, :L]
    causal = numpy.triu(numpy.ones((L, L), dtype=bool), 1)
    for options in ({}, {"src_mask": masks["bool attn_mask"]["attn_mask"]},
                    {"src_mask": masks["float attn_mask"]["attn_mask"]}, {"src_key_padding_mask": padding},
                    {"src_mask": causal, "is_causal": True},
                    {"src_mask": causal, "src_key_padding_mask": padding, "is_causal": True}):
        compare(ours, theirs, [src], **options)


def test_encoder_layer_without_bias_and_with_its_own_eps():
    ours, theirs = twins(*make_layer(bias=False, layer_norm_eps=1e-3, norm_first=True))
    assert not any("bias" in name for name in ours.state_dict())
    compare(ours, theirs, sequences(False, lengths=(L,)))


def test_encoder_layer_names_and_defaults():
    layer = nn.TransformerEncoderLayer(E, HEADS)
    reference = torch.nn.TransformerEncoderLayer(E, HEADS)
    assert list(layer.state_dict()) == list(reference.state_dict())
    assert layer.linear1.weight.shape == (2048, E) and layer.dropout.p == 0.1 and layer.norm1.eps == 1e-5
    with pytest.raises(ValueError, match="relu"):
        nn.TransformerEncoderLayer(E, HEADS, activation="swish")


@pytest.mark.parametrize("final_norm", [False, True])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_encoder_stack_matches_torch(norm_first, final_norm):
    make_torch_layer, make_our_layer = make_layer(norm_first=norm_first, activation="gelu", batch_first=True)

    def make_torch():
        norm = torch.nn.LayerNorm(E) if final_norm else None
        return torch.nn.TransformerEncoder(make_torch_layer(), 3, norm=norm, enable_nested_tensor=False)

    def make_ours():
        return nn.TransformerEncoder(make_our_layer(), 3, norm=nn.LayerNorm(E) if final_norm else None)

    ours, theirs = twins(make_torch, make_ours)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "layers.2.self_attn.in_proj_weight" in ours.state_dict()
    (src,) = sequences(True, lengths=(L,))
    padding = mha_masks()["key_padding_mask"]["key_padding_mask"][:, :L]
    causal = host(generate_square_subsequent_mask(L, dtype="float64"))
    assert_close(causal, torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64))
    for options in ({}, {"mask": causal}, {"mask": causal, "is_causal": True}, {"src_key_padding_mask": padding},
                    {"mask": causal, "src_key_padding_mask": padding}):
        compare(ours, theirs, [src], **options)


def test_encoder_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=16)
    encoder = nn.TransformerEncoder(layer, 2)
    first, second = encoder.layers[0], encoder.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    assert_close(first.linear1.weight, layer.linear1.weight, atol=0)
    first.linear1.weight.data[...] = 0
    assert not numpy.all(host(second.linear1.weight) == 0)


def test_causal_mask_detection():
    from minigrad.nn.modules.transformer import is_causal_mask
    assert is_causal_mask(generate_square_subsequent_mask(4))
    assert is_causal_mask(minigrad.tensor(numpy.triu(numpy.ones((4, 4), dtype=bool), 1)))
    assert not is_causal_mask(minigrad.tensor(numpy.tril(numpy.ones((4, 4), dtype=bool), -1)))
    assert not is_causal_mask(minigrad.zeros(4, 4))


def test_encoder_on_every_backend_gives_numpys_numbers(backend):
    (src,) = sequences(False, lengths=(L,))
    padding = mha_masks()["key_padding_mask"]["key_padding_mask"][:, :L]
    results = {}
    for name in ("numpy", backend):
        minigrad.manual_seed(0)
        with minigrad.use_backend(name):
            layer = nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=16, dropout=0.1, norm_first=True)
            encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E)).double()
            x = minigrad.tensor(src, requires_grad=True)
            output = encoder(x, mask=generate_square_subsequent_mask(L, dtype="float64"),
                             src_key_padding_mask=minigrad.tensor(padding))
            attention = nn.MultiheadAttention(E, HEADS).double()
            attended, weights = attention(x, x, x, key_padding_mask=minigrad.tensor(padding))
            (output.square().sum() + attended.sum() + weights.square().sum()).backward()
        assert output.backend == name
        results[name] = [output, attended, weights, x.grad, encoder.layers[0].linear1.weight.grad,
                         attention.in_proj_weight.grad]
    for actual, expected in zip(results[backend], results["numpy"]):
        assert actual.backend == backend
        assert_close(actual, expected, atol=1e-12)


def test_float32_matches_torch():
    """The layers in float32, against PyTorch in float32 with the same weights (float32 rounding: 1e-5)."""
    ours, theirs = twins(*make_layer(norm_first=True, activation="gelu"))
    ours, theirs = ours.float(), theirs.float()
    (src,) = sequences(False, lengths=(L,))
    padding = mha_masks()["key_padding_mask"]["key_padding_mask"][:, :L]
    mine = minigrad.tensor(src.astype(numpy.float32), requires_grad=True)
    reference = torch.tensor(src.astype(numpy.float32), requires_grad=True)
    output = ours(mine, src_key_padding_mask=minigrad.tensor(padding))
    expected = theirs(reference, src_key_padding_mask=torch.tensor(padding))
    assert output.dtype == numpy.float32
    assert_close(output, expected, atol=1e-5)
    output.square().sum().backward()
    expected.square().sum().backward()
    assert_close(mine.grad, reference.grad, atol=1e-4)
    for name, parameter in theirs.named_parameters():
        assert_close(dict(ours.named_parameters())[name].grad, parameter.grad, atol=1e-4, what=name)
    attention, reference_attention = twins(*make_mha())
    arrays = [a.astype(numpy.float32) for a in sequences(False)]
    attended, weights = attention.float()(*(minigrad.tensor(a) for a in arrays))
    expected, expected_weights = reference_attention.float()(*(torch.tensor(a) for a in arrays))
    assert_close(attended, expected, atol=1e-5)
    assert_close(weights, expected_weights, atol=1e-6)
