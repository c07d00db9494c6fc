"""Module-level functions under PyTorch's names: ``minigrad.einsum``, ``minigrad.gather``, ``minigrad.eye``, ...

Each is a Function from :mod:`minigrad.ops`, or a composition of them where that is the honest implementation
(``dot`` is a MatMul of two vectors; ``outer`` a broadcast product; ``tensordot`` an einsum).
"""

import string

from minigrad import ops, promotion


def einsum(equation, *operands):
    """Einstein summation (see :mod:`minigrad.ops.einsum`): ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.
    Operands may also be passed as one list, as PyTorch allows."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    dtype = promotion.result_type(*operands)
    return ops.Einsum.apply(equation, *(ops.Cast.apply(t, dtype) if t.dtype != dtype else t for t in operands))


def _require_dims(function, tensor, ndim, name):
    if tensor.ndim != ndim:
        raise RuntimeError(f"{function}: {name} must be {ndim}-D, got shape {tensor.shape}")


def dot(a, b):
    """The inner product of two 1-D tensors of the same length (a MatMul of two vectors)."""
    _require_dims("dot", a, 1, "the first argument")
    _require_dims("dot", b, 1, "the second argument")
    return a @ b


def mv(matrix, vector):
    """A (n, m) matrix times a (m,) vector."""
    _require_dims("mv", matrix, 2, "the matrix")
    _require_dims("mv", vector, 1, "the vector")
    return matrix @ vector


def bmm(a, b):
    """Batches of matrices (B, n, m) @ (B, m, p), without broadcasting (PyTorch's bmm)."""
    _require_dims("bmm", a, 3, "the first batch")
    _require_dims("bmm", b, 3, "the second batch")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {a.shape} and {b.shape}")
    return a @ b


def outer(a, b):
    """y[i, j] = a[i] b[j] for 1-D a and b: a broadcast product, so each gradient sums over the other's axis."""
    _require_dims("outer", a, 1, "the first argument")
    _require_dims("outer", b, 1, "the second argument")
    return a.reshape(-1, 1) * b.reshape(1, -1)


def tensordot(a, b, dims=2):
    """Contract the last `dims` dims of a with the first `dims` of b, or the listed pairs ``dims=([..], [..])``:
    an einsum whose equation names the contracted dims with shared letters."""
    if isinstance(dims, int):
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    dims_a, dims_b = [d % a.ndim for d in dims_a], [d % b.ndim for d in dims_b]
    if len(dims_a) != len(dims_b):
        raise RuntimeError(f"tensordot: {len(dims_a)} dims of a but {len(dims_b)} of b to contract")
    letters = iter(string.ascii_letters)
    a_letters = [next(letters) for _ in range(a.ndim)]
    b_letters = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        b_letters[db] = a_letters[da]
    output = [a_letters[d] for d in range(a.ndim) if d not in dims_a] + [
        b_letters[d] for d in range(b.ndim) if d not in dims_b]
    return einsum("".join(a_letters) + "," + "".join(b_letters) + "->" + "".join(output), a, b)
