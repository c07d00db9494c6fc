"""Bad input gets a clear error that names the layer and the shapes, and a failed call changes nothing."""

import copy

import numpy
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import functional as F


def snapshot(module):
    return {key: value.numpy().copy() for key, value in module.state_dict().items()}


def assert_unchanged(module, before):
    after = snapshot(module)
    assert after.keys() == before.keys()
    for key in before:
        numpy.testing.assert_array_equal(after[key], before[key], err_msg=f"{key} changed in a failed call")


def expect_error(module, args, error, *fragments):
    """Call module(*args), expect `error` whose message contains every fragment, and check nothing changed."""
    before = snapshot(module)
    with pytest.raises(error) as raised:
        module(*args)
    for fragment in fragments:
        assert fragment in str(raised.value), f"{fragment!r} missing from: {raised.value}"
    assert_unchanged(module, before)
    return str(raised.value)


def trained_batch_norm(**settings):
    """A BatchNorm1d whose running statistics have moved, so that a reset would show too."""
    layer = nn.BatchNorm1d(3, **settings)
    layer(minigrad.randn(8, 3) * 2 + 1)
    return layer


def test_linear_wrong_feature_size():
    expect_error(nn.Linear(3, 4), [minigrad.randn(2, 5)], ValueError, "Linear(in_features=3, out_features=4",
                 "(2, 5)", "3 features")
    with pytest.raises(ValueError, match=r"linear: .*\(2, 5\)"):
        F.linear(minigrad.randn(2, 5), minigrad.randn(4, 3))


def test_layer_norm_trailing_shape_mismatch():
    expect_error(nn.LayerNorm(4), [minigrad.randn(2, 5)], ValueError, "LayerNorm((4,)", "(2, 5)")
    expect_error(nn.LayerNorm((3, 4)), [minigrad.randn(2, 4, 3)], ValueError, "(3, 4)", "(2, 4, 3)")
    with pytest.raises(ValueError, match=r"layer_norm: .*\(2, 5\)"):
        F.layer_norm(minigrad.randn(2, 5), 4)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_wrong_number_of_channels(momentum):
    layer = trained_batch_norm(momentum=momentum)
    expect_error(layer, [minigrad.randn(4, 5)], ValueError, "BatchNorm1d(3", "(4, 5)", "3 channels")
    expect_error(layer, [minigrad.randn(4, 5, 2)], ValueError, "(4, 5, 2)")
    expect_error(layer, [minigrad.randn(4, 3, 2, 2)], ValueError, "(4, 3, 2, 2)")


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1)])
def test_batch_norm_one_value_per_channel_in_training(shape):
    layer = trained_batch_norm()
    message = expect_error(layer, [minigrad.randn(*shape)], ValueError,
                           "Expected more than 1 value per channel when training", str(shape))
    assert "BatchNorm1d" in message
    layer.eval()  # evaluation uses the running statistics, so one example is fine
    assert layer(minigrad.randn(*shape)).shape == shape
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(minigrad.randn(*shape), None, None, training=True)


def test_batch_norm_without_running_statistics_needs_a_batch_in_eval_too():
    layer = trained_batch_norm(track_running_stats=False).eval()
    expect_error(layer, [minigrad.randn(1, 3)], ValueError, "Expected more than 1 value per channel")


@pytest.mark.parametrize("cell", [nn.RNNCell(3, 4), nn.LayerNormRNNCell(3, 4, mode="separate")],
                         ids=["RNNCell", "LayerNormRNNCell"])
def test_rnn_cell_hidden_state_of_the_wrong_size(cell):
    name = type(cell).__name__
    expect_error(cell, [minigrad.randn(2, 3), minigrad.randn(2, 5)], ValueError, name, "(2, 5)", "(2, 4)")
    expect_error(cell, [minigrad.randn(2, 3), minigrad.randn(3, 4)], ValueError, "(3, 4)", "(2, 3)")
    expect_error(cell, [minigrad.randn(2, 3), minigrad.randn(4)], ValueError, "(4,)")
    expect_error(cell, [minigrad.randn(2, 6), minigrad.randn(2, 4)], ValueError, "(2, 6)", "input_size 3")
    with pytest.raises(ValueError, match=r"rnn_cell: .*\(2, 5\)"):
        F.rnn_cell(minigrad.randn(2, 3), minigrad.randn(2, 5), minigrad.randn(4, 3), minigrad.randn(4, 4))


def test_cross_entropy_targets_out_of_range():
    logits = minigrad.randn(4, 3, requires_grad=True)
    for target in ([0, 1, 3, 1], [0, -1, 2, 1]):
        with pytest.raises(ValueError) as raised:
            F.cross_entropy(logits, minigrad.tensor(target))
        message = str(raised.value)
        assert "cross_entropy" in message and "(4, 3)" in message and "(4,)" in message and "[0, 3)" in message
    assert logits.grad is None


def test_cross_entropy_targets_of_the_wrong_dtype_or_shape():
    logits = minigrad.randn(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: .*class probabilities.*\(4, 3\).*float32.*\(4,\).*int64"):
        F.cross_entropy(logits, minigrad.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(TypeError, match=r"cross_entropy: .*integer class indices.*bool"):
        F.cross_entropy(logits, minigrad.tensor([True, False, True, True]))
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(3,\) .*\(4, 3\)"):
        F.cross_entropy(logits, minigrad.tensor([0, 1, 2]))


def test_mse_loss_shape_mismatch():
    with pytest.raises(ValueError, match=r"mse_loss: .*\(4, 1\).*\(4,\)"):
        F.mse_loss(minigrad.randn(4, 1), minigrad.randn(4))


def test_a_failed_step_leaves_parameters_untouched():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    model(minigrad.randn(5, 3))
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"Linear\(in_features=3.*\(5, 7\)"):
        model(minigrad.randn(5, 7))
    with pytest.raises(ValueError, match=r"BatchNorm1d.*Expected more than 1 value"):
        model(minigrad.randn(1, 3))
    assert_unchanged(model, before)


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="mode"):
        nn.LayerNormRNNCell(3, 4, mode="both")
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(minigrad.randn(2, 3), minigrad.tensor([0, 1]), reduction="average")
    with pytest.raises(TypeError, match="minigrad Tensor"):
        nn.Linear(3, 4)(numpy.ones((2, 3)))


def test_deep_copies_are_independent():
    layer = trained_batch_norm()
    duplicate = copy.deepcopy(layer)
    duplicate(minigrad.randn(6, 3))
    assert layer.num_batches_tracked.item() == 1 and duplicate.num_batches_tracked.item() == 2


def test_a_layer_checks_its_input_once_and_in_its_own_words(monkeypatch):
    """A module checks its arguments and hands them to the functional's apply_* step, which checks nothing again:
    one LayerNorm-RNN step in "separate" mode runs the cell's check alone (its normalizations run inside its one
    fused op), and a LayerNorm module or layer_norm call runs one check of its own."""
    from minigrad.nn import validation
    calls = []
    for name in ("check_rnn_cell", "check_layer_norm", "check_linear"):
        original = getattr(validation, name)
        monkeypatch.setattr(validation, name,
                            lambda *args, name=name, original=original: calls.append(name) or original(*args))
    cell = minigrad.nn.LayerNormRNNCell(3, 4, mode="separate")
    cell(minigrad.randn(2, 3))
    assert calls == ["check_rnn_cell"]
    calls.clear()
    with pytest.raises(ValueError, match=r"^LayerNorm\(\(4,\), eps=1e-05"):
        minigrad.nn.LayerNorm(4)(minigrad.randn(2, 5))
    assert calls == ["check_layer_norm"]
    calls.clear()
    with pytest.raises(ValueError, match=r"^layer_norm: "):
        minigrad.nn.functional.layer_norm(minigrad.randn(2, 5), 4)
    assert calls == ["check_layer_norm"]


def test_batch_norm1d_with_a_momentum_that_is_no_number_says_so():
    layer = minigrad.nn.BatchNorm1d(3, momentum="fast")
    with pytest.raises(TypeError, match="momentum must be a number when updating running statistics"):
        layer(minigrad.randn(4, 3))
    assert int(layer.num_batches_tracked.item()) == 0
