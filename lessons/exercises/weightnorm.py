"""Exercise `weightnorm`: weight normalization, forward and backward.

Weight normalization (Salimans and Kingma, 2016; the third row of Table 1 in the Layer Normalization paper)
writes each unit's weight vector as a direction times a learned length: for v of shape (out, in), one row per
unit, and g of shape (out,),

    w_i = g_i * v_i / ||v_i||                      ||v_i|| = sqrt(sum_j v_ij^2), the norm of row i

Implement ``WeightNorm.forward`` (returning w, the shape of v) and ``WeightNorm.backward``, returning
``(grad_v, grad_g)``. With the unit direction u_i = v_i / ||v_i|| and dw = grad_output,

    dL/dg_i = dw_i . u_i                                           one dot product per row
    dL/dv_i = (g_i / ||v_i||) * (dw_i - (dw_i . u_i) u_i)          dw_i with its component along u_i removed

The second formula says that the gradient with respect to v is orthogonal to v: scaling v leaves w unchanged, so
no step along v can change the loss. (That is why training with weight norm never shrinks ||v||, the effect the
Layer Normalization paper's Section 5.2 analyses.)

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(v)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the inputs' dtype.

Check your work with the public checks:  minigrad check weightnorm.py --assignment weightnorm
"""
import minigrad


class WeightNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, v, g):
        """w = g * v / ||v||, row by row."""
        # YOUR CODE HERE
        raise NotImplementedError("weightnorm: WeightNorm.forward is not implemented yet")

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_v, grad_g)."""
        # YOUR CODE HERE
        raise NotImplementedError("weightnorm: WeightNorm.backward is not implemented yet")
