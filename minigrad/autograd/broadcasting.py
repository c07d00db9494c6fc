"""Broadcasting, backwards.

In ``y = a + b`` with ``a`` of shape (4, 3) and ``b`` of shape (3,), NumPy broadcasts ``b`` to (4, 3): every
element ``b[j]`` is used four times, once per row. By the chain rule its gradient is the *sum* of the four
gradients that reach those uses: ``grad_b = grad_y.sum(axis=0)``. In general, the gradient of a broadcast input
is the output gradient summed over every axis that broadcasting added (leading axes) or stretched (size 1 -> n).
"""


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing NumPy broadcasting (the gradient rule for broadcast inputs)."""
    if type(shape) is not tuple:  # a list or an array of sizes, from a caller
        shape = tuple(shape)
    if grad.shape == shape:
        return grad
    added = grad.ndim - len(shape)
    stretched = tuple(added + axis for axis, size in enumerate(shape)
                      if size == 1 and grad.shape[added + axis] != 1)
    summed = grad.sum(axis=tuple(range(added)) + stretched, keepdims=True)
    return summed.reshape(shape)
