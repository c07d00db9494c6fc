"""Training helpers: gradient clipping, and saving a state_dict to an ``.npz`` file (NumPy's format, no pickle).

    minigrad.nn.utils.save(model.state_dict(), "model.npz")
    model.load_state_dict(minigrad.nn.utils.load("model.npz"))
"""

import math

import numpy

from minigrad import backends
from minigrad.tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale every gradient by one factor so that their joint norm is at most `max_norm`; returns the norm
    before clipping (a 0-d Tensor), as ``torch.nn.utils.clip_grad_norm_``.

    The joint norm treats all gradients as one long vector: ||g|| = (sum_p sum_i |g_p,i|^k)^(1/k) for
    norm_type k (``float("inf")`` for the largest |g_p,i|). If it exceeds max_norm, every gradient is multiplied
    by max_norm / (||g|| + 1e-6): the direction of the step is kept and only its length is capped, which tames
    the occasional huge gradient of a recurrent network without biasing the others.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(numpy.zeros(()))
    xp = grads[0].xp
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        total_norm = xp.stack([xp.abs(g.data).max() for g in grads]).max()
    else:
        total_norm = xp.stack([(xp.abs(g.data) ** norm_type).sum() for g in grads]).sum() ** (1.0 / norm_type)
    scale = xp.minimum(max_norm / (total_norm + 1e-6), 1.0)  # never scales up
    for grad in grads:
        grad.data = grad.data * scale.astype(grad.dtype)
    return Tensor(xp.asarray(total_norm))  # NumPy reductions give scalars; a Tensor needs an array


def save(state_dict, path):
    """Write {name: Tensor or array} to `path` as an ``.npz`` archive of plain NumPy arrays."""
    arrays = {}
    for key, value in state_dict.items():
        data = value.data if isinstance(value, Tensor) else value
        arrays[key] = backends.to_numpy(data) if backends.is_array(data) else numpy.asarray(data)
    with open(path, "wb") as file:  # an open file, so numpy does not append ".npz" to the name
        numpy.savez(file, **arrays)


def load(path):
    """Read an ``.npz`` archive written by :func:`save` as {name: NumPy array}, for ``load_state_dict``."""
    with numpy.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
