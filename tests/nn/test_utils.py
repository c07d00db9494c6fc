"""Gradient clipping against torch.nn.utils.clip_grad_norm_, and saving a state_dict to .npz and back."""

import zipfile

import numpy
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn.utils import clip_grad_norm_, load, save
from tests.helpers import assert_close


@pytest.mark.parametrize("max_norm, norm_type", [(0.5, 2.0), (100.0, 2.0), (0.3, 1.0), (0.2, float("inf"))])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    rng = numpy.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    ours = [minigrad.tensor(numpy.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = minigrad.tensor(g), torch.tensor(g)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert_close(total, expected.item())
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad, atol=1e-12)


def test_clip_grad_norm_skips_parameters_without_gradients():
    with_grad, without = minigrad.zeros(2, requires_grad=True), minigrad.zeros(2, requires_grad=True)
    with_grad.grad = minigrad.tensor([3.0, 4.0])
    assert clip_grad_norm_([with_grad, without], 1.0).item() == pytest.approx(5.0)
    assert_close(with_grad.grad, [0.6, 0.8], atol=1e-6)
    assert without.grad is None


def test_save_and_load_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LayerNorm(4))
    model(minigrad.randn(5, 3))  # move the running statistics
    path = tmp_path / "model.npz"
    save(model.state_dict(), path)
    assert path.exists()
    with zipfile.ZipFile(path) as archive:  # plain .npy members, one per key: no pickle anywhere
        assert sorted(archive.namelist()) == sorted(f"{key}.npy" for key in model.state_dict())
    restored = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LayerNorm(4))
    restored.load_state_dict(load(path))
    for key, value in model.state_dict().items():
        assert_close(restored.state_dict()[key], value, atol=0, what=key)
    assert restored.state_dict()["1.num_batches_tracked"].dtype == numpy.int64
