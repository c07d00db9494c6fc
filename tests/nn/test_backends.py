"""The fast subset on every backend: each fused and composed op, a training step, and the helpers give the NumPy
backend's numbers on "strict" (CuPy's rules on the CPU) and, where a GPU is usable, on "cupy"."""

import numpy
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.nn import functional as F
from minigrad.nn.utils import clip_grad_norm_
from tests.helpers import assert_close, host
from tests.nn.test_fused_ops import CASES, IDS

TOLERANCE = 1e-12  # the same arithmetic; GPU reductions may sum in another order


def run_case(function, arrays, backend):
    with minigrad.use_backend(backend):
        inputs = [minigrad.tensor(a, requires_grad=True) for a in arrays]
        output = function(*inputs)
        output.backward(numpy.random.default_rng(1).standard_normal(output.shape))
    assert output.backend == backend
    return [output] + [x.grad for x in inputs]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fused_and_composed_ops(backend, case):
    rng = numpy.random.default_rng(0)
    arrays = [rng.standard_normal(shape) for shape in case.shapes]
    for function in filter(None, (case.fused, case.composed)):
        expected = run_case(function, arrays, "numpy")
        for actual, wanted in zip(run_case(function, arrays, backend), expected):
            assert actual.backend == backend
            assert_close(actual, wanted, atol=TOLERANCE)


def make_model():
    minigrad.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.LayerNorm(6), nn.Tanh(),
                         nn.Linear(6, 3))


@pytest.mark.parametrize("make_optimizer", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                                            lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1)],
                         ids=["SGD", "Adam"])
def test_training_steps(backend, make_optimizer):
    rng = numpy.random.default_rng(0)
    batches = [(rng.standard_normal((8, 4)), rng.integers(0, 3, 8)) for _ in range(3)]
    results = {}
    for name in ("numpy", backend):
        model = make_model().to(name)
        optimizer = make_optimizer(model.parameters())
        for x, y in batches:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(minigrad.tensor(x, backend=name)), minigrad.tensor(y, backend=name))
            loss.backward()
            clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        results[name] = {key: host(value) for key, value in model.state_dict().items()}
        assert {p.backend for p in model.parameters()} == {name}
    for key, value in results["numpy"].items():
        assert_close(results[backend][key], value, atol=1e-5, what=key)  # float32 parameters


def test_rnn_cells_and_unroll(backend):
    outputs = {}
    for name in ("numpy", backend):
        minigrad.manual_seed(0)
        with minigrad.use_backend(name):
            sequence = minigrad.randn(5, 2, 3)
            for cell in (nn.RNNCell(3, 4, nonlinearity="relu"), nn.LayerNormRNNCell(3, 4, mode="separate")):
                output, _ = nn.RNN(cell)(sequence)
                output.sum().backward()
                outputs.setdefault(name, []).extend([output, cell.weight_hh.grad])
    for actual, expected in zip(outputs[backend], outputs["numpy"]):
        assert actual.backend == backend
        assert_close(actual, expected, atol=1e-5)


def test_state_dict_round_trip_across_backends(backend):
    source = make_model()
    source(minigrad.randn(5, 4))
    target = make_model().to(backend)
    target.load_state_dict(source.state_dict())  # numpy Tensors into a module on another backend
    assert target.state_dict()["1.running_mean"].backend == backend
    back = make_model()
    back.load_state_dict(target.state_dict())
    for key, value in source.state_dict().items():
        assert_close(back.state_dict()[key], value, atol=0, what=key)


def test_one_hot(backend):
    encoded = F.one_hot(minigrad.tensor([2, 0, 1]), 3)
    assert encoded.backend == backend and encoded.dtype == numpy.int64
    assert_close(encoded, numpy.eye(3)[[2, 0, 1]], atol=0)
