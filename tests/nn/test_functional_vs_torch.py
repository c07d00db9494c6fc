"""The nonlinearities, dropout and losses of ``nn.functional`` and their modules against torch.nn.functional
(forward and every gradient to 1e-10 in float64, on every backend) and against finite differences."""

import numpy
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from tests.helpers import assert_close, host

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def run_both(ours, theirs, arrays, targets=(), seed=1):
    """ours(*tensors, *targets) and theirs(...) on the same float64 arrays; the output and each array's gradient
    under one random upstream gradient must agree. `targets` are passed as they are (no gradient)."""
    mine = [minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    reference = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    my_targets = [minigrad.tensor(t) for t in targets]
    torch_targets = [torch.tensor(t) for t in targets]
    output, expected = ours(*mine, *my_targets), theirs(*reference, *torch_targets)
    assert output.dtype == numpy.float64
    assert_close(output.detach(), expected, what="output")
    upstream = numpy.random.default_rng(seed).standard_normal(expected.shape)
    output.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for index, (a, b) in enumerate(zip(mine, reference)):
        assert_close(a.grad, b.grad, what=f"gradient of input {index}")
    assert minigrad.gradcheck(lambda *tensors: ours(*tensors, *my_targets),
                              [minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays])


RNG = numpy.random.default_rng(0)
X = RNG.standard_normal((4, 5)) * 2
X[0, :3] = [-30.0, 25.0, 0.3]  # far out on both sides, where the stable forms matter

ACTIVATIONS = [
    ("gelu", lambda x: F.gelu(x), lambda x: TF.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", F.silu, TF.silu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("elu", lambda x: F.elu(x, alpha=1.5), lambda x: TF.elu(x, alpha=1.5)),
    ("softplus", F.softplus, TF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0, threshold=5.0), lambda x: TF.softplus(x, 2.0, 5.0)),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid),
    ("sigmoid_module", nn.Sigmoid(), torch.nn.Sigmoid()),
    ("softmax_module", nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    ("log_softmax_module", nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)),
    ("gelu_module", nn.GELU("tanh"), torch.nn.GELU("tanh")),
    ("silu_module", nn.SiLU(), torch.nn.SiLU()),
    ("leaky_relu_module", nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
    ("identity", nn.Identity(3, unused=True), torch.nn.Identity(3, unused=True)),
    ("flatten_module", nn.Flatten(0), torch.nn.Flatten(0)),
]


@pytest.mark.parametrize(("name", "ours", "theirs"), ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_match_torch(name, ours, theirs, backend):
    x = X if name != "gelu_tanh" else numpy.clip(X, -8, 8)
    run_both(ours, theirs, [x])
    run_both(ours, theirs, [numpy.array(0.7)])  # and a 0-d input


def test_activation_kinks_follow_torch(backend):
    x = numpy.array([-1.0, 0.0, 1.0])
    for ours, theirs in [(lambda t: F.leaky_relu(t, 0.3), lambda t: TF.leaky_relu(t, 0.3)),
                         (lambda t: F.elu(t, 2.0), lambda t: TF.elu(t, 2.0))]:
        mine = minigrad.tensor(x, dtype="float64", requires_grad=True)
        reference = torch.tensor(x, requires_grad=True)
        ours(mine).sum().backward()
        theirs(reference).sum().backward()
        assert_close(mine.grad, reference.grad)


# --- losses --------------------------------------------------------------------------------------------------------

PROBABILITIES = 1 / (1 + numpy.exp(-RNG.standard_normal((3, 4))))
BINARY_TARGETS = (RNG.random((3, 4)) > 0.5).astype(numpy.float64)
SOFT_TARGETS = RNG.random((3, 4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_and_binary_losses_match_torch(reduction, backend):
    prediction, target = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    run_both(lambda u, v: F.l1_loss(u, v, reduction), lambda u, v: TF.l1_loss(u, v, reduction=reduction),
             [prediction, target])
    for delta in (1.0, 0.4):
        run_both(lambda u, v: F.huber_loss(u, v, reduction, delta),
                 lambda u, v: TF.huber_loss(u, v, reduction=reduction, delta=delta), [prediction, target * 2])
    for target in (BINARY_TARGETS, SOFT_TARGETS):
        run_both(lambda p, y: F.binary_cross_entropy(p, y, reduction),
                 lambda p, y: TF.binary_cross_entropy(p, y, reduction=reduction), [PROBABILITIES, target])
        run_both(lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction),
                 lambda z, y: TF.binary_cross_entropy_with_logits(z, y, reduction=reduction),
                 [X[:3, :4] * 10, target])


def test_binary_cross_entropy_at_certain_probabilities_is_finite_as_torch(backend):
    probability = minigrad.tensor([0.0, 1.0, 0.5], dtype="float64", requires_grad=True)
    target = minigrad.tensor([1.0, 0.0, 1.0], dtype="float64")
    loss = F.binary_cross_entropy(probability, target)
    reference = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64, requires_grad=True)
    expected = TF.binary_cross_entropy(reference, torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64))
    loss.backward()
    expected.backward()
    assert_close(loss.detach(), expected)
    # PyTorch floors p (1 - p) at 1e-12 rounded to float32 (9.99999996e-13); minigrad at 1e-12 itself
    assert_close(probability.grad, reference.grad, rtol=1e-8)
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(minigrad.tensor([1.5]), minigrad.tensor([1.0]))


LOGITS_4D = RNG.standard_normal((2, 3, 2, 2)) * 3
TARGETS_4D = RNG.integers(0, 3, (2, 2, 2))
TARGETS_IGNORED = numpy.array([2, -100, 0, 4, -100])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_options_match_torch(reduction, label_smoothing, backend):
    options = {"reduction": reduction, "label_smoothing": label_smoothing}
    logits_2d = RNG.standard_normal((5, 6)) * 3
    cases = [
        (logits_2d, TARGETS_IGNORED, {}),                         # ignore_index's default -100
        (logits_2d, numpy.array([2, 7, 0, 7, 1]), {"ignore_index": 7}),
        (LOGITS_4D, TARGETS_4D, {}),                              # (N, C, d1, d2)
        (logits_2d[0], numpy.array(3), {}),                       # unbatched
        (logits_2d, numpy.array([1, 0, 5, 2, 2]), {}),            # the fused case
    ]
    for logits, target, extra in cases:
        run_both(lambda z, t: F.cross_entropy(z, t, **options, **extra),
                 lambda z, t: TF.cross_entropy(z, t, **options, **extra), [logits], [target])
        run_both(lambda z, t: nn.CrossEntropyLoss(**options, **extra)(z, t),
                 lambda z, t: torch.nn.CrossEntropyLoss(**options, **extra)(z, t), [logits], [target])
    probabilities = numpy.exp(LOGITS_4D) / numpy.exp(LOGITS_4D).sum(axis=1, keepdims=True)
    run_both(lambda z, p: F.cross_entropy(z, p, **options), lambda z, p: TF.cross_entropy(z, p, **options),
             [LOGITS_4D * 0.5], [probabilities])


CLASS_WEIGHTS_6 = numpy.array([0.5, 2.0, 1.0, 0.1, 3.0, 1.5])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_with_class_weights_matches_torch(reduction, label_smoothing, backend):
    logits = RNG.standard_normal((5, 6)) * 2
    weight, torch_weight = minigrad.tensor(CLASS_WEIGHTS_6), torch.tensor(CLASS_WEIGHTS_6)
    options = {"reduction": reduction, "label_smoothing": label_smoothing}
    for target in (numpy.array([2, 0, 5, 3, 1]), TARGETS_IGNORED):
        run_both(lambda z, t: F.cross_entropy(z, t, weight, **options),
                 lambda z, t: TF.cross_entropy(z, t, torch_weight, **options), [logits], [target])
        run_both(lambda z, t: nn.CrossEntropyLoss(weight, **options)(z, t),
                 lambda z, t: torch.nn.CrossEntropyLoss(torch_weight, **options)(z, t), [logits], [target])
    probabilities = numpy.exp(logits) / numpy.exp(logits).sum(axis=1, keepdims=True)
    run_both(lambda z, p: F.cross_entropy(z, p, weight, **options),
             lambda z, p: TF.cross_entropy(z, p, torch_weight, **options), [logits * 0.5], [probabilities])
    weights_3 = numpy.array([1.0, 0.2, 4.0])
    run_both(lambda z, t: F.cross_entropy(z, t, minigrad.tensor(weights_3), **options),
             lambda z, t: TF.cross_entropy(z, t, torch.tensor(weights_3), **options), [LOGITS_4D], [TARGETS_4D])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_torch(reduction, backend):
    log_probabilities = numpy.log(numpy.exp(LOGITS_4D) / numpy.exp(LOGITS_4D).sum(axis=1, keepdims=True))
    ignored = TARGETS_4D.copy()
    ignored[0, 0, 1] = -100
    for inputs, target in [(log_probabilities, TARGETS_4D), (log_probabilities, ignored),
                           (log_probabilities[:, :, 0, 0], TARGETS_4D[:, 0, 0]), (log_probabilities[0, :, 0, 0],
                                                                                  TARGETS_4D[0, 0, 0])]:
        run_both(lambda z, t: F.nll_loss(z, t, reduction=reduction),
                 lambda z, t: TF.nll_loss(z, t, reduction=reduction),
                 [inputs], [target])
        run_both(lambda z, t: nn.NLLLoss(reduction=reduction)(z, t), lambda z, t: torch.nn.NLLLoss(reduction=reduction)(z, t),
                 [inputs], [target])


def test_loss_modules_match_torch(backend):
    prediction, target = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    run_both(lambda u, v: nn.MSELoss(reduction="sum")(u, v), lambda u, v: torch.nn.MSELoss(reduction="sum")(u, v),
             [prediction, target])
    run_both(lambda p, y: nn.BCELoss()(p, y), lambda p, y: torch.nn.BCELoss()(p, y), [PROBABILITIES, SOFT_TARGETS])
    run_both(lambda u, v: nn.L1Loss(reduction="sum")(u, v), lambda u, v: torch.nn.L1Loss(reduction="sum")(u, v),
             [prediction, target])
    run_both(lambda u, v: nn.HuberLoss(delta=0.5)(u, v), lambda u, v: torch.nn.HuberLoss(delta=0.5)(u, v),
             [prediction, target])
    run_both(lambda z, y: nn.BCEWithLogitsLoss(reduction="none")(z, y),
             lambda z, y: torch.nn.BCEWithLogitsLoss(reduction="none")(z, y), [X[:3, :4], SOFT_TARGETS])


def test_loss_arguments_are_checked(backend):
    logits = minigrad.randn(3, 4)
    with pytest.raises(ValueError, match="class indices"):
        F.nll_loss(logits, minigrad.tensor([0, 1, 9]))
    with pytest.raises(ValueError, match="same shape"):
        F.l1_loss(logits, minigrad.randn(4))
    with pytest.raises(ValueError, match="logits' shape"):
        F.cross_entropy(logits, minigrad.randn(3, 5))
    with pytest.raises(ValueError, match="one entry per class"):
        F.cross_entropy(logits, minigrad.tensor([0, 1, 2]), minigrad.ones(3))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(logits, minigrad.tensor([0, 1, 2]), label_smoothing=1.5)


# --- dropout ---------------------------------------------------------------------------------------------------------

def test_dropout_is_inverted_seeded_and_the_identity_in_eval(backend):
    x = minigrad.ones(200, 50, dtype="float64", requires_grad=True)
    minigrad.manual_seed(3)
    first = F.dropout(x, 0.3)
    minigrad.manual_seed(3)
    second = F.dropout(x, 0.3)
    assert numpy.array_equal(host(first.detach()), host(second.detach()))
    values = host(first.detach())
    assert set(numpy.unique(values).tolist()) <= {0.0, 1 / 0.7}
    kept = (values != 0).mean()
    assert abs(kept - 0.7) < 0.02                       # 10,000 draws: the standard error is 0.005
    assert abs(values.mean() - 1.0) < 0.03              # inverted: the expectation is unchanged
    upstream = numpy.random.default_rng(0).standard_normal(x.shape)
    first.backward(upstream)
    assert_close(x.grad, upstream * values)             # y is linear in x with the drawn mask
    layer = nn.Dropout(0.3)
    assert layer(x) is not x
    layer.eval()
    assert layer(x) is x and F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    assert not host(F.dropout(x, 1.0).detach()).any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# --- containers ---------------------------------------------------------------------------------------------------

def test_module_list_dict_and_parameter_list_register_what_they_hold():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 3)])
            self.heads = nn.ModuleDict({"a": nn.Linear(3, 1), "b": nn.Linear(3, 2)})
            self.scales = nn.ParameterList([minigrad.ones(3), nn.Parameter(minigrad.zeros(1))])

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList([torch.nn.Linear(2, 3), torch.nn.Linear(3, 3)])
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(3, 1), "b": torch.nn.Linear(3, 2)})
            self.scales = torch.nn.ParameterList([torch.ones(3), torch.nn.Parameter(torch.zeros(1))])

    model = Model()
    assert list(model.state_dict()) == list(TorchModel().state_dict())
    assert len(list(model.parameters())) == 4 + 4 + 2
    assert len(model.layers) == 2 and isinstance(model.layers[1], nn.Linear) and len(model.layers[:1]) == 1
    assert list(model.heads) == ["a", "b"] and "a" in model.heads and model.heads["b"].out_features == 2
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.scales)
    model.layers.append(nn.ReLU())
    assert len(model.layers) == 3
    with pytest.raises(TypeError, match="Modules"):
        model.layers.append(3)
