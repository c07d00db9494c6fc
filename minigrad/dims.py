"""Naming dimensions as PyTorch does: negative dims count from the end, an out-of-range dim is an IndexError, and
a 0-d tensor accepts dim 0 and -1 (which then reduce nothing)."""


def normalize_dim(dim, ndim):
    """`dim` as a non-negative int below `ndim` (0 for a 0-d tensor), or PyTorch's IndexError."""
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})")
    return dim % bound


def normalize_dims(dim, ndim):
    """`dim` (None, an int or a sequence of ints) as a tuple of distinct non-negative dims; None means all."""
    if dim is None:
        return tuple(range(ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(normalize_dim(d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {dims} names a dimension more than once")
    return axes if ndim else ()
