"""CharTransformer against the same model written in PyTorch (``minigrad.bench.torch_char_transformer``, torch.nn
layers only, which the benchmark also runs), weights copied across by state_dict:
the loss and every parameter's gradient to 1e-10 in float64, for post-LN and pre-LN blocks with LayerNorm,
RMSNorm or no normalization, tied and untied; its initialization; and generation reproducible by its seed."""

import math

import numpy
import pytest
import torch

import minigrad
from minigrad.bench.torch_char_transformer import from_minigrad
from minigrad.models import CharTransformer
from minigrad.nn import functional as F
from tests.helpers import assert_close, host

VOCAB, CONTEXT, EMBED, HEADS = 11, 8, 16, 4


def perturbed_model(layers, norm, norm_layer, tied, init="gpt2"):
    """A float64 CharTransformer whose every parameter is moved off its initial value (gains off 1, biases off
    0, the small GPT-2 weights made larger), so that a swapped or ignored parameter shows."""
    minigrad.manual_seed(0)
    model = CharTransformer(VOCAB, CONTEXT, EMBED, HEADS, layers, norm=norm, norm_layer=norm_layer, tied=tied,
                            init=init).double()
    rng = numpy.random.default_rng(1)
    model.load_state_dict({key: host(value) + 0.3 * rng.standard_normal(value.shape)
                           for key, value in model.state_dict().items()})
    return model


@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("norm_layer", ["layernorm", "rmsnorm", None])
@pytest.mark.parametrize("tied", [True, False])
def test_loss_and_every_gradient_match_the_same_model_in_pytorch(norm, norm_layer, tied):
    model = perturbed_model(2, norm, norm_layer, tied)
    reference = from_minigrad(model)
    ids = numpy.random.default_rng(2).integers(0, VOCAB, size=(3, CONTEXT + 1))
    inputs, targets = ids[:, :-1], ids[:, 1:]
    logits = model(minigrad.tensor(inputs))
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), minigrad.tensor(targets).reshape(-1))
    expected_logits = reference(torch.tensor(inputs))
    expected = torch.nn.functional.cross_entropy(expected_logits.reshape(-1, VOCAB), torch.tensor(targets).reshape(-1))
    assert_close(logits, expected_logits, what="logits")
    assert_close(loss, expected, what="loss")
    loss.backward()
    expected.backward()
    theirs = dict(reference.named_parameters())
    ours = dict(model.named_parameters())
    assert ours.keys() == theirs.keys()
    for name, parameter in ours.items():
        assert_close(parameter.grad, theirs[name].grad, what=f"gradient of {name}")


def test_a_position_sees_only_the_positions_before_it():
    """Changing the last character changes no logit before it, and changes the last ones."""
    model = perturbed_model(2, "pre", "layernorm", True)
    ids = numpy.random.default_rng(3).integers(0, VOCAB, size=(1, CONTEXT))
    changed = ids.copy()
    changed[0, -1] = (changed[0, -1] + 1) % VOCAB
    before, after = (model(minigrad.tensor(a)).detach().numpy() for a in (ids, changed))
    assert_close(before[:, :-1], after[:, :-1], atol=0)
    assert numpy.abs(before[:, -1] - after[:, -1]).max() > 1e-3


def test_parameter_names_and_the_final_norm():
    pre = CharTransformer(VOCAB, CONTEXT, EMBED, HEADS, 2, norm="pre")
    post = CharTransformer(VOCAB, CONTEXT, EMBED, HEADS, 2, norm="post", tied=False)
    assert "final_norm.weight" in pre.state_dict() and "head.weight" not in pre.state_dict()
    assert "final_norm.weight" not in post.state_dict() and "head.weight" in post.state_dict()
    assert "final_norm.weight" not in CharTransformer(VOCAB, CONTEXT, EMBED, HEADS, 2, norm_layer=None).state_dict()
    rms = CharTransformer(VOCAB, CONTEXT, EMBED, HEADS, 2, norm_layer="rmsnorm").state_dict()
    assert "blocks.1.norm2.weight" in rms and "blocks.1.norm2.bias" not in rms
    assert list(pre.state_dict())[:3] == ["token_embedding.weight", "position_embedding.weight",
                                          "blocks.0.norm1.weight"]


def test_gpt2_initialization_and_xavier_initialization():
    minigrad.manual_seed(0)
    layers, embed = 4, 64
    model = CharTransformer(50, 16, embed, 4, layers)
    state = {key: host(value) for key, value in model.state_dict().items()}
    assert abs(state["token_embedding.weight"].std() - 0.02) < 0.002
    assert abs(state["blocks.0.mlp.0.weight"].std() - 0.02) < 0.001
    residual = 0.02 / math.sqrt(2 * layers)
    for key in ("blocks.3.attention.out.weight", "blocks.3.mlp.2.weight"):
        assert abs(state[key].std() - residual) < 0.1 * residual, key
    assert numpy.all(state["blocks.0.attention.qkv.bias"] == 0) and numpy.all(state["blocks.0.norm1.weight"] == 1)
    xavier = CharTransformer(50, 16, embed, 4, layers, init="xavier", tied=False)
    state = {key: host(value) for key, value in xavier.state_dict().items()}
    assert abs(state["token_embedding.weight"].std() - 1.0) < 0.05
    assert abs(state["blocks.3.mlp.2.weight"].std() - math.sqrt(2 / (5 * embed))) < 0.01
    assert abs(state["head.weight"].std() - math.sqrt(2 / (50 + embed))) < 0.01


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="norm must be 'post' or 'pre'"):
        CharTransformer(VOCAB, CONTEXT, norm="sandwich")
    with pytest.raises(ValueError, match="norm_layer must be"):
        CharTransformer(VOCAB, CONTEXT, norm_layer="batchnorm")
    with pytest.raises(ValueError, match="init must be"):
        CharTransformer(VOCAB, CONTEXT, init="zeros")
    with pytest.raises(ValueError, match="divisible by num_heads"):
        CharTransformer(VOCAB, CONTEXT, embed_dim=10, num_heads=4)
    with pytest.raises(ValueError, match=r"context_length=8, got shape \(1, 9\)"):
        CharTransformer(VOCAB, CONTEXT, EMBED, HEADS)(minigrad.tensor(numpy.zeros((1, 9), dtype=numpy.int64)))


def test_generation_is_reproducible_by_its_seed_alone():
    model = perturbed_model(2, "pre", "rmsnorm", True)
    first = model.generate([1, 2, 3], 20, temperature=1.0, seed=7)
    minigrad.manual_seed(123)  # the global generator does not enter the sampling
    minigrad.randn(5)
    again = model.generate([1, 2, 3], 20, temperature=1.0, seed=7)
    other = model.generate([1, 2, 3], 20, temperature=1.0, seed=8)
    assert first.dtype == numpy.int64 and first.shape == (23,) and list(first[:3]) == [1, 2, 3]
    numpy.testing.assert_array_equal(first, again)
    assert not numpy.array_equal(first, other)
    assert model.training  # generation leaves the mode as it found it
    assert set(first.tolist()) <= set(range(VOCAB))


def test_greedy_generation_follows_the_pytorch_models_argmax_beyond_the_context():
    """temperature=0 picks the most likely id; the window slides once the text is longer than the context."""
    model = perturbed_model(2, "post", "layernorm", False)
    reference = from_minigrad(model)
    ids = model.generate([4], 2 * CONTEXT, temperature=0)
    expected = [4]
    with torch.no_grad():
        for _ in range(2 * CONTEXT):
            window = torch.tensor([expected[-CONTEXT:]])
            expected.append(int(reference(window)[0, -1].argmax()))
    assert ids.tolist() == expected


def test_low_temperature_sampling_concentrates_on_the_most_likely_id():
    model = perturbed_model(1, "pre", "layernorm", True)
    greedy = model.generate([0], 10, temperature=0)
    cold = model.generate([0], 10, temperature=1e-4, seed=3)
    numpy.testing.assert_array_equal(greedy, cold)
    with pytest.raises(ValueError, match="temperature"):
        model.generate([0], 1, temperature=-1)
