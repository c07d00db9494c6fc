"""Second derivatives of every layer op (minigrad.nn.functional), against PyTorch and finite differences.

The fused ops differentiate their composed twin under create_graph, the others their own backward on Tensors;
either way, the vector-Hessian products d<u, v^T df/dx>/dx and the derivative in v must equal
``torch.autograd.grad``'s to 1e-10 in float64, with the fast kernels on and off, and ``gradgradcheck`` must pass.
"""

import numpy
import pytest

import minigrad
import minigrad.nn.functional as F
from tests.core.test_higher_order import check_second_derivatives
from tests.helpers import assert_close

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = numpy.random.default_rng(0)


def normal(*shape):
    return RNG.standard_normal(shape)


TARGET = numpy.array([2, 0, 3, 1])
INDEXED = numpy.array([2, -100, 3, 1])  # one ignored position
PROBABILITIES = RNG.uniform(0.1, 0.9, (4, 3))
LABELS = RNG.uniform(0, 1, (4, 3))
CLASS_WEIGHTS = RNG.uniform(0.5, 2.0, 5)
RUNNING_MEAN, RUNNING_VAR = normal(3), RNG.uniform(0.5, 2.0, 3)


def _t(array, library):
    if library is torch:
        return torch.tensor(array)
    return minigrad.tensor(array)


# (name, function of (library, functional, *tensors), input arrays)
LAYERS = [
    ("linear", lambda lib, f, x, w, b: f.linear(x, w, b), (normal(4, 3), normal(2, 3), normal(2))),
    ("layer_norm", lambda lib, f, x, w, b: f.layer_norm(x, (5,), w, b), (normal(3, 5), normal(5), normal(5))),
    ("layer_norm_2d", lambda lib, f, x: f.layer_norm(x, (2, 3)), (normal(2, 2, 3),)),
    ("batch_norm_train", lambda lib, f, x, w, b: f.batch_norm(x, None, None, w, b, training=True),
     (normal(5, 3), normal(3), normal(3))),
    ("batch_norm_train_2d", lambda lib, f, x, w, b: f.batch_norm(x, None, None, w, b, training=True),
     (normal(2, 3, 2, 2), normal(3), normal(3))),
    ("batch_norm_eval", lambda lib, f, x, w, b: f.batch_norm(
        x, _t(RUNNING_MEAN, lib), _t(RUNNING_VAR, lib), w, b, training=False), (normal(4, 3), normal(3), normal(3))),
    ("group_norm", lambda lib, f, x, w, b: f.group_norm(x, 2, w, b), (normal(2, 4, 3), normal(4), normal(4))),
    ("conv2d", lambda lib, f, x, w, b: f.conv2d(x, w, b, stride=2, padding=1),
     (normal(2, 2, 5, 5), normal(3, 2, 3, 3), normal(3))),
    ("conv2d_groups_dilation", lambda lib, f, x, w: f.conv2d(x, w, None, padding=1, dilation=2, groups=2),
     (normal(1, 4, 5, 5), normal(2, 2, 2, 2))),
    ("max_pool2d", lambda lib, f, x: f.max_pool2d(x, 2, stride=1, padding=1), (normal(2, 2, 4, 4),)),
    ("max_pool2d_ties", lambda lib, f, x: f.max_pool2d(x, 2) * x.sum(),   # after a ReLU: tied zeros in a window
     (numpy.maximum(normal(2, 2, 4, 4), 0),)),
    ("avg_pool2d", lambda lib, f, x: f.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
     (normal(2, 2, 5, 5),)),
    ("rnn_cell_tanh", lambda lib, f, x, h, wi, wh, bi, bh: _rnn_cell(lib, f, x, h, wi, wh, bi, bh, "tanh"),
     (normal(2, 3), normal(2, 4), normal(4, 3), normal(4, 4), normal(4), normal(4))),
    ("rnn_cell_relu", lambda lib, f, x, h, wi, wh, bi, bh: _rnn_cell(lib, f, x, h, wi, wh, bi, bh, "relu"),
     (normal(2, 3), normal(2, 4), normal(4, 3), normal(4, 4), normal(4), normal(4))),
    ("lstm_cell", lambda lib, f, x, h, c, wi, wh, bi, bh: _lstm_cell(lib, f, x, h, c, wi, wh, bi, bh),
     (normal(2, 3), normal(2, 2), normal(2, 2), normal(8, 3), normal(8, 2), normal(8), normal(8))),
    ("layer_norm_rnn_cell_separate", lambda lib, f, *t: _layer_norm_rnn_cell(lib, f, "separate", "tanh", *t),
     (normal(2, 3), normal(2, 4), normal(4, 3), normal(4, 4), normal(4), normal(4), normal(4))),
    ("layer_norm_rnn_cell_joint_relu", lambda lib, f, *t: _layer_norm_rnn_cell(lib, f, "joint", "relu", *t),
     (normal(2, 3), normal(2, 4), normal(4, 3), normal(4, 4), normal(4), normal(4))),
    ("softmax", lambda lib, f, x: f.softmax(x, dim=1), (normal(3, 4),)),
    ("log_softmax", lambda lib, f, x: f.log_softmax(x, dim=-1), (normal(3, 4),)),
    ("cross_entropy", lambda lib, f, z: f.cross_entropy(z, _t(TARGET, lib)), (normal(4, 5),)),
    ("cross_entropy_sum", lambda lib, f, z: f.cross_entropy(z, _t(TARGET, lib), reduction="sum"), (normal(4, 5),)),
    ("nll_loss_weighted", lambda lib, f, z: f.nll_loss(z, _t(INDEXED, lib), weight=_t(CLASS_WEIGHTS, lib)),
     (normal(4, 5),)),
    ("nll_loss_none", lambda lib, f, z: f.nll_loss(z, _t(TARGET, lib), reduction="none"), (normal(4, 5),)),
    ("mse_loss", lambda lib, f, p, t: f.mse_loss(p, t), (normal(4, 3), normal(4, 3))),
    ("l1_loss", lambda lib, f, p, t: f.l1_loss(p, t, reduction="sum"), (normal(4, 3), normal(4, 3))),
    ("huber_loss", lambda lib, f, p, t: f.huber_loss(p, t, delta=0.8), (normal(4, 3), normal(4, 3))),
    ("binary_cross_entropy", lambda lib, f, p, t: f.binary_cross_entropy(p, t), (PROBABILITIES, LABELS)),
    ("binary_cross_entropy_with_logits", lambda lib, f, z, t: f.binary_cross_entropy_with_logits(z, t),
     (normal(4, 3), LABELS)),
    ("gelu", lambda lib, f, x: f.gelu(x), (normal(3, 4),)),
    ("gelu_tanh", lambda lib, f, x: f.gelu(x, approximate="tanh"), (normal(3, 4),)),
    ("silu", lambda lib, f, x: f.silu(x), (normal(3, 4),)),
    ("leaky_relu", lambda lib, f, x: f.leaky_relu(x, 0.1), (normal(3, 4),)),
    ("elu", lambda lib, f, x: f.elu(x, 0.7), (normal(3, 4),)),
    ("softplus", lambda lib, f, x: f.softplus(x, beta=2.0, threshold=3.0), (normal(3, 4),)),
    ("logsigmoid", lambda lib, f, x: f.logsigmoid(x), (normal(3, 4),)),
    ("rms_norm", lambda lib, f, x, w: f.rms_norm(x, (5,), w, eps=1e-6), (normal(3, 5), normal(5))),
    ("embedding", lambda lib, f, w: f.embedding(_t(numpy.array([[1, 3], [3, 0]]), lib), w, padding_idx=0) ** 2,
     (normal(4, 3),)),
    ("scaled_dot_product_attention", lambda lib, f, q, k, v: f.scaled_dot_product_attention(q, k, v, is_causal=True),
     (normal(2, 3, 4), normal(2, 3, 4), normal(2, 3, 4))),
    ("relu_tanh_sigmoid", lambda lib, f, x: f.sigmoid(f.tanh(f.relu(x) * x)), (normal(3, 4),)),
]


def _rnn_cell(lib, f, x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity):
    if lib is torch:
        return torch._VF.rnn_tanh_cell(x, h, w_ih, w_hh, b_ih, b_hh) if nonlinearity == "tanh" else \
            torch._VF.rnn_relu_cell(x, h, w_ih, w_hh, b_ih, b_hh)
    return f.rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity)


def _layer_norm_rnn_cell(lib, f, mode, nonlinearity, x, h, w_ih, w_hh, *gains_and_bias):
    """One LayerNormRNNCell step, minigrad's fused op or torch composed: gains (g_hh, g_ih) in separate mode, (g,)
    in joint mode, then the bias b."""
    *gains, bias = gains_and_bias
    if lib is torch:
        u, v = x @ w_ih.T, h @ w_hh.T
        size = (w_hh.shape[0],)
        if mode == "separate":
            a = f.layer_norm(v, size, gains[0], eps=1e-5) + f.layer_norm(u, size, gains[1], eps=1e-5)
        else:
            a = f.layer_norm(v + u, size, gains[0], eps=1e-5)
        a = a + bias
        return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)
    arguments = (None, *gains) if mode == "separate" else (gains[0], None, None)
    return f.apply_layer_norm_rnn_cell(x, h, w_ih, w_hh, *arguments, bias, mode, nonlinearity, 1e-5)


def _lstm_cell(lib, f, x, h, c, w_ih, w_hh, b_ih, b_hh):
    if lib is torch:
        new_h, new_c = torch._VF.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    else:
        new_h, new_c = f.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    return new_h * 0.7 + new_c * 0.3  # one output that depends on both


@pytest.mark.parametrize(("name", "function", "arrays"), LAYERS, ids=[row[0] for row in LAYERS])
def test_second_derivatives_of_layer_ops_match_torch(name, function, arrays, fast_kernels):
    check_second_derivatives(name, lambda *t: function(minigrad, F, *t), lambda *t: function(torch, TF, *t), arrays)


@pytest.mark.parametrize(("name", "function", "arrays"), LAYERS, ids=[row[0] for row in LAYERS])
def test_gradgradcheck_passes_for_layer_ops(name, function, arrays):
    if name == "max_pool2d_ties":
        pytest.skip("at a tie the function has a kink: finite differences measure neither side")
    leaves = [minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    assert minigrad.gradgradcheck(lambda *t: function(minigrad, F, *t), leaves)


def test_the_layer_normalized_lstm_cell_is_twice_differentiable():
    arrays = (normal(2, 3), normal(2, 2), normal(2, 2), normal(8, 3), normal(8, 2), normal(8), normal(8), normal(8),
              normal(2), normal(2))
    leaves = [minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays]

    def step(x, h, c, w_ih, w_hh, gamma_ih, gamma_hh, bias, gamma_c, beta_c):
        new_h, new_c = F.layer_norm_lstm_cell(x, (h, c), w_ih, w_hh, gamma_ih, gamma_hh, bias, gamma_c, beta_c)
        return new_h * 0.7 + new_c * 0.3

    assert minigrad.gradgradcheck(step, leaves, atol=1e-4)


def test_dropout_is_twice_differentiable_with_its_own_mask():
    minigrad.manual_seed(3)
    x = minigrad.tensor(normal(50), dtype="float64", requires_grad=True)
    y = F.dropout(x, p=0.4)
    mask_scale = numpy.where(x.data != 0, y.data / x.data, 0.0)
    (g,) = minigrad.autograd.grad((y * y).sum(), x, create_graph=True)  # 2 m^2 x
    u = normal(50)
    (hvp,) = minigrad.autograd.grad((g * minigrad.tensor(u)).sum(), x)
    assert_close(hvp, 2 * mask_scale ** 2 * u, atol=1e-12)
    assert set(numpy.unique(numpy.round(mask_scale, 12))) <= {0.0, round(1 / 0.6, 12)}


def test_the_hessian_of_a_small_network_matches_torch():
    x, target = normal(6, 4), numpy.array([0, 1, 2, 1, 0, 2])
    parameters = (normal(5, 4), normal(5), normal(5), normal(5), normal(3, 5), normal(3))

    def loss(lib, f, w1, b1, gamma, beta, w2, b2):
        h = f.layer_norm(f.linear(_t(x, lib), w1, b1), (5,), gamma, beta).tanh()
        return f.cross_entropy(f.linear(h, w2, b2), _t(target, lib))

    check_second_derivatives("network", lambda *t: loss(minigrad, F, *t), lambda *t: loss(torch, TF, *t),
                             parameters)
