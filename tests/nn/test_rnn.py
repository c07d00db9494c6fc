"""LayerNormRNNCell's three modes against a PyTorch reference, the RNN unroller, and the paper's RNN claims."""

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn.ops import fast
from tests.helpers import assert_close
from tests.nn.reference import compare_calls, copy_weights_to_torch, perturb_parameters, random_inputs


@pytest.fixture(autouse=True)
def float64():
    minigrad.set_default_dtype("float64")


class TorchLayerNormRNNCell(torch.nn.Module):
    """The three modes written with torch.nn pieces, under minigrad's parameter names."""

    def __init__(self, input_size, hidden_size, mode, nonlinearity):
        super().__init__()
        self.mode, self.nonlinearity = mode, nonlinearity
        self.weight_ih = torch.nn.Parameter(torch.zeros(hidden_size, input_size))
        self.weight_hh = torch.nn.Parameter(torch.zeros(hidden_size, hidden_size))
        if mode == "joint":
            self.norm = torch.nn.LayerNorm(hidden_size, bias=False)
        else:
            self.norm_hh = torch.nn.LayerNorm(hidden_size, bias=False)
            if mode == "separate":
                self.norm_ih = torch.nn.LayerNorm(hidden_size, bias=False)
        self.bias = torch.nn.Parameter(torch.zeros(hidden_size))

    def forward(self, x, h):
        u, v = x @ self.weight_ih.T, h @ self.weight_hh.T
        if self.mode == "joint":
            a = self.norm(v + u)
        elif self.mode == "separate":
            a = self.norm_hh(v) + self.norm_ih(u)
        else:
            a = self.norm_hh(v) + u
        a = a + self.bias
        return torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)


def perturbed_cell(mode, nonlinearity="tanh", input_size=3, hidden_size=5):
    cell = nn.LayerNormRNNCell(input_size, hidden_size, mode=mode, nonlinearity=nonlinearity)
    return perturb_parameters(cell, seed=2, select=lambda name: "norm" in name or name == "bias")


@pytest.mark.parametrize("mode", ["joint", "separate", "recurrent"])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_layer_norm_rnn_cell_matches_torch(mode, nonlinearity, fast_kernels):
    cell = perturbed_cell(mode, nonlinearity)
    node = cell(minigrad.randn(4, 3), minigrad.randn(4, 5)).grad_fn
    assert node.name == ("NumbaLayerNormRNNCell" if fast_kernels and fast.kernels.usable(
        cell.weight_hh.data) else "LayerNormRNNCell")  # one node per step
    reference = copy_weights_to_torch(cell, TorchLayerNormRNNCell(3, 5, mode, nonlinearity).double())
    compare_calls(cell, reference, random_inputs((4, 3), (4, 5)))


@pytest.mark.parametrize("mode", ["joint", "separate", "recurrent"])
def test_layer_norm_rnn_unrolled_matches_torch_over_20_steps(mode, fast_kernels):
    cell = perturbed_cell(mode)
    reference = copy_weights_to_torch(cell, TorchLayerNormRNNCell(3, 5, mode, "tanh").double())
    rnn = nn.RNN(cell)

    def torch_unroll(x, h):
        states = []
        for t in range(x.shape[0]):
            h = reference(x[t], h)
            states.append(h)
        return torch.stack(states)

    compare_calls(lambda x, h: rnn(x, h)[0], torch_unroll, random_inputs((20, 2, 3), (2, 5)),
                  parameters=dict(cell.named_parameters()), torch_parameters=dict(reference.named_parameters()))


@pytest.mark.parametrize("mode", ["joint", "separate", "recurrent"])
def test_layer_norm_rnn_gradcheck(mode, fast_kernels):
    rnn = nn.RNN(perturbed_cell(mode, input_size=2, hidden_size=3))
    x, h = (minigrad.tensor(a, requires_grad=True) for a in random_inputs((3, 2, 2), (2, 3)))
    assert minigrad.gradcheck(lambda x, h: rnn(x, h)[0], (x, h))


def test_unbatched_and_default_state():
    cell = perturbed_cell("separate")
    x, h = random_inputs((3,), (5,))
    unbatched = cell(minigrad.tensor(x), minigrad.tensor(h))
    batched = cell(minigrad.tensor(x[None]), minigrad.tensor(h[None]))
    assert unbatched.shape == (5,)
    assert_close(unbatched, batched.reshape(5))
    output, last = nn.RNN(cell)(minigrad.tensor(random_inputs((6, 3))[0]))
    assert output.shape == (6, 5) and last.shape == (5,)


def test_rnn_returns_every_state_time_major():
    cell = nn.RNNCell(3, 4)
    sequence = minigrad.tensor(random_inputs((7, 2, 3))[0])
    output, last = nn.RNN(cell)(sequence)
    assert output.shape == (7, 2, 4) and last.shape == (2, 4)
    h = None
    for t in range(7):
        h = cell(sequence[t], h)
        assert_close(output[t], h, atol=0)
    with pytest.raises(ValueError, match=r"RNN: .*\(0, 2, 3\)"):
        nn.RNN(cell)(minigrad.zeros(0, 2, 3))


def test_joint_layer_norm_makes_trajectories_invariant_to_scaling_the_weights():
    """Eq. 4 normalizes W_hh h + W_xh x, so scaling both matrices by one factor changes nothing (eps = 0)."""
    cell = nn.LayerNormRNNCell(3, 8, mode="joint", eps=0.0)
    rnn = nn.RNN(cell)
    sequence, h0 = (minigrad.tensor(a) for a in random_inputs((30, 2, 3), (2, 8)))
    with minigrad.no_grad():
        before = rnn(sequence, h0)[0].numpy()
        cell.weight_ih.data = cell.weight_ih.data * 7.5
        cell.weight_hh.data = cell.weight_hh.data * 7.5
        after = rnn(sequence, h0)[0].numpy()
        cell.weight_hh.data = cell.weight_hh.data * 2.0  # scaling only one of them does change the trajectory
        changed = rnn(sequence, h0)[0].numpy()
    assert numpy.abs(after - before).max() < 1e-12
    assert numpy.abs(changed - before).max() > 0.1
    # with gain 1 and shift 0, ||LN(a)|| = sqrt(H), and |tanh(z)| <= |z|, so ||h_t|| <= sqrt(H)
    assert numpy.linalg.norm(before, axis=-1).max() <= numpy.sqrt(8) + 1e-12


def test_zero_initial_state_needs_a_positive_eps_in_separate_mode():
    """LN(W_hh h0) with h0 = 0 normalizes a zero vector: 0/0 with eps = 0, a 1/sqrt(eps) gradient otherwise."""
    x = minigrad.tensor(random_inputs((2, 3))[0])
    with minigrad.no_grad(), numpy.errstate(divide="ignore", invalid="ignore"):
        assert numpy.isnan(nn.LayerNormRNNCell(3, 4, mode="separate", eps=0.0)(x).numpy()).all()
    cell = nn.LayerNormRNNCell(3, 4, mode="recurrent", eps=1e-4)
    h0 = minigrad.zeros(2, 4, requires_grad=True)
    upstream = random_inputs((2, 4), seed=3)[0]
    cell(x, h0).backward(upstream)
    assert numpy.isfinite(h0.grad.numpy()).all()
    # the gradient reaching h0 is amplified by 1/sqrt(eps) = 100 relative to an LN of unit-variance inputs
    assert numpy.abs(h0.grad.numpy()).max() > 10 * numpy.abs(upstream).max()


def _composition(cell, x, h):
    """The cell's step written with its own modules, whatever they are: h' = f(norm_hh(W_hh h) + norm_ih(W_ih x) + b)
    in separate mode."""
    a = cell.norm_hh(h @ cell.weight_hh.T) + cell.norm_ih(x @ cell.weight_ih.T) + cell.bias
    return a.tanh()


@pytest.mark.parametrize("change", ["eps", "layer norm with a bias", "rms norm", "identity"])
def test_a_replaced_or_changed_normalization_is_used_as_it_is(change, fast_kernels):
    """The one-node step runs the normalizations itself; where one of them is no longer the LayerNorm the cell
    built (another eps, a bias, another module), the cell calls the module, as the composed cell always did."""
    cell = perturbed_cell("separate")
    if change == "eps":
        cell.norm_hh.eps = 0.5
    elif change == "layer norm with a bias":
        cell.norm_hh = nn.LayerNorm(5)
        cell.norm_hh.bias.data[...] = 3.0
    elif change == "rms norm":
        cell.norm_hh = nn.RMSNorm(5)
    else:
        cell.norm_hh = nn.Identity()
    x, h = (minigrad.tensor(a, requires_grad=True) for a in random_inputs((4, 3), (4, 5)))
    output = cell(x, h)
    assert output.grad_fn.name == "Tanh"
    assert_close(output, _composition(cell, x, h).detach().numpy())
    assert not numpy.allclose(output.detach().numpy(), perturbed_cell("separate")(x, h).detach().numpy())
    output.sum().backward()
    assert x.grad is not None and h.grad is not None


def test_a_gain_of_the_wrong_size_is_refused_in_the_normalizations_words(fast_kernels):
    cell = perturbed_cell("separate")
    cell.norm_hh.weight = nn.Parameter(minigrad.ones(1))
    with pytest.raises(ValueError, match=r"^LayerNorm\(\(5,\).*weight has shape \(1,\), expected normalized_shape"):
        cell(*(minigrad.tensor(a) for a in random_inputs((4, 3), (4, 5))))
    cell.norm_hh = nn.LayerNorm(1, bias=False)
    with pytest.raises(ValueError, match=r"^LayerNorm\(\(1,\).*the input has shape \(4, 5\)"):
        cell(*(minigrad.tensor(a) for a in random_inputs((4, 3), (4, 5))))


@pytest.mark.parametrize("mode", ["joint", "separate", "recurrent"])
def test_the_op_runs_on_a_bare_context(mode):
    """Op.forward(minigrad.Context(), ...) on arrays, as the grading tests' finite differences call it."""
    from minigrad.nn.ops import LayerNormRNNCell
    x, h = random_inputs((2, 3), (2, 5))
    rng = numpy.random.default_rng(4)
    gains = {"joint": (rng.random(5) + 0.5, None, None), "separate": (None, rng.random(5) + 0.5, rng.random(5) + 0.5),
             "recurrent": (None, rng.random(5) + 0.5, None)}[mode]
    weights = rng.standard_normal((5, 3)), rng.standard_normal((5, 5))
    arrays = (x, h, *weights, *gains, rng.standard_normal(5))
    output = LayerNormRNNCell.forward(minigrad.Context(), *arrays, mode, "tanh", 1e-5)
    leaves = [None if a is None else minigrad.tensor(a) for a in arrays]
    assert_close(output, LayerNormRNNCell.apply(*leaves, mode, "tanh", 1e-5).numpy())
