"""Table 1 of the Layer Normalization paper, measured on minigrad's own layers in float64 with eps = 0.

The summed inputs a = W x of a Linear layer (W is H x D, row i holds unit i's incoming weights, the paper's
convention and Linear.weight's) are normalized by LayerNorm per example, or by BatchNorm1d per unit over the
batch. Each transformation of the weights or the data either leaves the normalized output unchanged
(to < 1e-12) or changes it (by > 0.1), exactly as the table says.
"""

import numpy
import pytest

import minigrad
from minigrad import nn

D, H, N = 10, 12, 16


def transformations(rng):
    unit_scales = rng.uniform(0.2, 5.0, size=(H, 1))
    shift_of_every_row = rng.standard_normal(D)
    data_shift = 2.0 * rng.standard_normal(D)
    return {
        "W matrix re-scaling": (lambda W: 3.7 * W, lambda X: X),
        "W matrix re-centering": (lambda W: W + shift_of_every_row[None, :], lambda X: X),
        "W vector re-scaling": (lambda W: unit_scales * W, lambda X: X),
        "dataset re-scaling": (lambda W: W, lambda X: 0.3 * X),
        "dataset re-centering": (lambda W: W, lambda X: X + data_shift),
        "single case re-scaling": (lambda W: W, lambda X: numpy.concatenate([3.3 * X[:1], X[1:]])),
    }


TABLE_1 = {  # the paper's answers: is the normalized output invariant?
    "layer norm": {"W matrix re-scaling": True, "W matrix re-centering": True, "W vector re-scaling": False,
                   "dataset re-scaling": True, "dataset re-centering": False, "single case re-scaling": True},
    "batch norm": {"W matrix re-scaling": True, "W matrix re-centering": False, "W vector re-scaling": True,
                   "dataset re-scaling": True, "dataset re-centering": True, "single case re-scaling": False},
}


def normalized_output(method, W, X):
    linear = nn.Linear(D, H, bias=False)
    linear.load_state_dict({"weight": W})
    norm = nn.LayerNorm(H, eps=0.0) if method == "layer norm" else nn.BatchNorm1d(H, eps=0.0)
    rng = numpy.random.default_rng(7)  # a gain and shift away from 1 and 0: the invariances hold regardless
    norm.load_state_dict({"weight": rng.uniform(0.5, 2.0, H), "bias": rng.standard_normal(H)}, strict=False)
    return norm(linear(minigrad.tensor(X))).detach().numpy()


@pytest.mark.parametrize("method", ["layer norm", "batch norm"])
@pytest.mark.parametrize("transformation", list(TABLE_1["layer norm"]))
def test_table_1(method, transformation):
    minigrad.set_default_dtype("float64")
    rng = numpy.random.default_rng(0)
    W, X = rng.standard_normal((H, D)), rng.standard_normal((N, D))
    transform_weights, transform_data = transformations(rng)[transformation]
    before = normalized_output(method, W, X)
    after = normalized_output(method, transform_weights(W), transform_data(X))
    difference = numpy.abs(after - before).max()
    if TABLE_1[method][transformation]:
        assert difference < 1e-12, f"{method} should be invariant to {transformation}: differs by {difference:.3g}"
    else:
        assert difference > 0.1, f"{method} should not be invariant to {transformation}: differs by {difference:.3g}"


def test_eps_breaks_the_scaling_invariances_slightly():
    """With the default eps = 1e-5 the re-scaling cells are only approximately invariant (see the paper notes)."""
    minigrad.set_default_dtype("float64")
    rng = numpy.random.default_rng(0)
    X = rng.standard_normal((N, D))
    norm = nn.LayerNorm(D)
    with minigrad.no_grad():
        difference = numpy.abs(norm(minigrad.tensor(0.01 * X)).numpy() - norm(minigrad.tensor(X)).numpy()).max()
    assert 1e-6 < difference < 1.0
