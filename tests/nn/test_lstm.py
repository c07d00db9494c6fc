"""LSTMCell, LSTM and the layer-normalized LSTM cell: against PyTorch in float64 (forward and every gradient, to
1e-10), fused against composed, and gradcheck for both fused cells."""

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn import composed as C
from minigrad.nn import functional as F
from minigrad.nn.ops.lstm import LayerNormLSTMCell as LayerNormLSTMCellOp
from minigrad.nn.ops.lstm import LSTMCell as LSTMCellOp
from tests.helpers import assert_close, host
from tests.nn.reference import copy_weights_to_torch, perturb_parameters, random_inputs

I, H, B = 3, 4, 2


def _leaves(shapes, seed=0, scale=1.0):
    return [minigrad.tensor(array, dtype="float64", requires_grad=True)
            for array in random_inputs(*shapes, seed=seed, scale=scale)]


def _torch_leaves(tensors):
    return [torch.tensor(host(minigrad_tensor.detach().data), requires_grad=True) for minigrad_tensor in tensors]


def _backward_both(ours, theirs, seed=1):
    """Backpropagate the same random upstream gradients through the minigrad and torch outputs (lists)."""
    rng = numpy.random.default_rng(seed)
    total_ours, total_theirs = 0, 0
    for mine, reference in zip(ours, theirs):
        assert_close(mine, reference, what="output")
        upstream = rng.standard_normal(tuple(reference.shape))
        total_ours = (mine * minigrad.tensor(upstream)).sum() + total_ours
        total_theirs = (reference * torch.tensor(upstream)).sum() + total_theirs
    total_ours.backward()
    total_theirs.backward()


def _check_parameter_grads(module, reference):
    torch_parameters = dict(reference.named_parameters())
    assert dict(module.named_parameters()).keys() == torch_parameters.keys()
    for name, parameter in module.named_parameters():
        assert_close(parameter.grad, torch_parameters[name].grad, what=f"gradient of {name}")


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
def test_lstm_cell_matches_torch(batched, bias):
    minigrad.manual_seed(0)
    cell = perturb_parameters(nn.LSTMCell(I, H, bias=bias).double(), scale=0.5)
    reference = copy_weights_to_torch(cell, torch.nn.LSTMCell(I, H, bias=bias).double())
    shapes = [(B, I), (B, H), (B, H)] if batched else [(I,), (H,), (H,)]
    x, h, c = _leaves(shapes)
    tx, th, tc = _torch_leaves([x, h, c])
    _backward_both(cell(x, (h, c)), reference(tx, (th, tc)))
    for mine, theirs, what in ((x, tx, "x"), (h, th, "h"), (c, tc, "c")):
        assert_close(mine.grad, theirs.grad, what=f"gradient of {what}")
    _check_parameter_grads(cell, reference)


def test_lstm_cell_zero_state_and_parameter_names():
    minigrad.manual_seed(1)
    cell = nn.LSTMCell(I, H).double()
    assert [name for name, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert cell.weight_ih.shape == (4 * H, I) and cell.weight_hh.shape == (4 * H, H)
    bound = 1 / H ** 0.5
    assert all(abs(p.detach().numpy()).max() <= bound for p in cell.parameters())
    reference = copy_weights_to_torch(cell, torch.nn.LSTMCell(I, H).double())
    (x,) = _leaves([(B, I)])
    (tx,) = _torch_leaves([x])
    _backward_both(cell(x), reference(tx))
    assert_close(x.grad, tx.grad, what="gradient of x")


def test_lstm_cell_is_one_node_and_gates_are_in_torch_order():
    cell = nn.LSTMCell(I, H).double()
    h, c = cell(minigrad.randn(B, I, dtype="float64"))
    assert h.grad_fn.parents[0].name == "LSTMCell"  # the slice's parent is the one fused node
    # Only the forget gate's bias large: c' = f c + i g with i = g = o = sigmoid/tanh(0); f ~ 1 keeps c.
    with minigrad.no_grad():
        cell.weight_ih.data[...] = 0
        cell.weight_hh.data[...] = 0
        cell.bias_ih.data[...] = 0
        cell.bias_hh.data[...] = 0
        cell.bias_hh.data[H:2 * H] = 50.0
    c0 = minigrad.randn(B, H, dtype="float64")
    _, c1 = cell(minigrad.zeros(B, I, dtype="float64"), (minigrad.zeros(B, H, dtype="float64"), c0))
    assert_close(c1, c0.numpy(), what="cell state with the forget gate open")


@pytest.mark.parametrize("batch_first", [False, True], ids=["time-major", "batch_first"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_lstm_matches_torch(batch_first, num_layers):
    minigrad.manual_seed(2)
    lstm = perturb_parameters(nn.LSTM(I, H, num_layers=num_layers, batch_first=batch_first).double(), scale=0.3)
    reference = copy_weights_to_torch(lstm, torch.nn.LSTM(I, H, num_layers=num_layers,
                                                          batch_first=batch_first).double())
    steps = 6
    x, h0, c0 = _leaves([(B, steps, I) if batch_first else (steps, B, I), (num_layers, B, H), (num_layers, B, H)])
    tx, th0, tc0 = _torch_leaves([x, h0, c0])
    output, (h_n, c_n) = lstm(x, (h0, c0))
    expected, (expected_h, expected_c) = reference(tx, (th0, tc0))
    _backward_both([output, h_n, c_n], [expected, expected_h, expected_c])
    for mine, theirs, what in ((x, tx, "x"), (h0, th0, "h0"), (c0, tc0, "c0")):
        assert_close(mine.grad, theirs.grad, what=f"gradient of {what}")
    _check_parameter_grads(lstm, reference)


def test_lstm_unbatched_and_zero_state_match_torch():
    minigrad.manual_seed(3)
    lstm = nn.LSTM(I, H).double()
    reference = copy_weights_to_torch(lstm, torch.nn.LSTM(I, H).double())
    (x,) = _leaves([(5, I)])
    (tx,) = _torch_leaves([x])
    output, (h_n, c_n) = lstm(x)
    expected, (expected_h, expected_c) = reference(tx)
    assert output.shape == (5, H) and h_n.shape == (1, H)
    _backward_both([output, h_n, c_n], [expected, expected_h, expected_c])
    assert_close(x.grad, tx.grad, what="gradient of x")
    _check_parameter_grads(lstm, reference)


def test_lstm_rejects_a_wrong_input_size():
    with pytest.raises(ValueError, match="LSTM: expected an input"):
        nn.LSTM(I, H)(minigrad.zeros(5, B, I + 1))


class TorchLayerNormLSTMCell(torch.nn.Module):
    """The paper's layer-normalized LSTM written with torch.nn pieces, under minigrad's parameter names."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.weight_ih = torch.nn.Parameter(torch.zeros(4 * hidden_size, input_size))
        self.weight_hh = torch.nn.Parameter(torch.zeros(4 * hidden_size, hidden_size))
        self.norm_ih = torch.nn.LayerNorm(4 * hidden_size, bias=False)
        self.norm_hh = torch.nn.LayerNorm(4 * hidden_size, bias=False)
        self.norm_c = torch.nn.LayerNorm(hidden_size)
        self.bias = torch.nn.Parameter(torch.zeros(4 * hidden_size))

    def forward(self, x, state):
        h, c = state
        gates = self.norm_hh(h @ self.weight_hh.T) + self.norm_ih(x @ self.weight_ih.T) + self.bias
        i, f, g, o = gates.chunk(4, dim=-1)
        new_cell = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(self.norm_c(new_cell)), new_cell


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_layer_norm_lstm_cell_matches_torch(batched):
    minigrad.manual_seed(4)
    cell = perturb_parameters(nn.LayerNormLSTMCell(I, H).double(), scale=0.4)
    reference = copy_weights_to_torch(cell, TorchLayerNormLSTMCell(I, H).double())
    x, h, c = _leaves([(B, I), (B, H), (B, H)] if batched else [(I,), (H,), (H,)])
    tx, th, tc = _torch_leaves([x, h, c])
    _backward_both(cell(x, (h, c)), reference(tx, (th, tc)))
    for mine, theirs, what in ((x, tx, "x"), (h, th, "h"), (c, tc, "c")):
        assert_close(mine.grad, theirs.grad, what=f"gradient of {what}")
    _check_parameter_grads(cell, reference)


def test_layer_norm_lstm_unrolled_by_rnn_matches_torch_over_12_steps():
    minigrad.manual_seed(5)
    cell = perturb_parameters(nn.LayerNormLSTMCell(I, H).double(), scale=0.4)
    reference = copy_weights_to_torch(cell, TorchLayerNormLSTMCell(I, H).double())
    x, h0, c0 = _leaves([(12, B, I), (B, H), (B, H)])
    tx, th0, tc0 = _torch_leaves([x, h0, c0])
    output, (h_n, c_n) = nn.RNN(cell)(x, (h0, c0))
    state, hiddens = (th0, tc0), []
    for step in range(12):
        state = reference(tx[step], state)
        hiddens.append(state[0])
    _backward_both([output, c_n], [torch.stack(hiddens), state[1]])
    assert_close(x.grad, tx.grad, what="gradient of x")
    assert_close(c0.grad, tc0.grad, what="gradient of c0")
    _check_parameter_grads(cell, reference)


def _flatten(function):
    """f(x, h, c, ...) -> one tensor [h' | c'], for gradcheck and for comparing fused with composed."""
    def call(x, h, c, *rest):
        new_hidden, new_cell = function(x, (h, c), *rest)
        return minigrad.concatenate([new_hidden, new_cell], axis=-1)
    return call


LSTM_SHAPES = [(B, I), (B, H), (B, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]
LN_LSTM_SHAPES = [(B, I), (B, H), (B, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,), (4 * H,), (H,), (H,)]
CELLS = [("lstm_cell", F.lstm_cell, C.lstm_cell, LSTM_SHAPES, LSTMCellOp),
         ("layer_norm_lstm_cell", F.layer_norm_lstm_cell, C.layer_norm_lstm_cell, LN_LSTM_SHAPES,
          LayerNormLSTMCellOp)]


@pytest.mark.parametrize("name, fused, composed, shapes, function", CELLS, ids=[cell[0] for cell in CELLS])
def test_fused_cell_passes_gradcheck_and_equals_its_composed_twin(name, fused, composed, shapes, function):
    inputs = _leaves(shapes, seed=7)
    assert minigrad.gradcheck(_flatten(fused), inputs)
    assert minigrad.gradcheck(_flatten(composed), _leaves(shapes, seed=7))
    twins = [_leaves(shapes, seed=8), _leaves(shapes, seed=8)]
    outputs = [_flatten(fused)(*twins[0]), _flatten(composed)(*twins[1])]
    extra = (1e-5,) if function is LayerNormLSTMCellOp else ()
    assert function.apply(*_leaves(shapes), *extra).grad_fn.name == function.__name__  # one node per step
    assert_close(outputs[0], outputs[1].detach().numpy(), what="output")
    upstream = numpy.random.default_rng(9).standard_normal(outputs[0].shape)
    for output in outputs:
        output.backward(upstream)
    for index, (mine, theirs) in enumerate(zip(*twins)):
        assert_close(mine.grad, theirs.grad, what=f"gradient of input {index}")
