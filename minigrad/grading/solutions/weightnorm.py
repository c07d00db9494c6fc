"""Exercise `weightnorm`: weight normalization, forward and backward.

Weight normalization (Salimans and Kingma, 2016; the third row of Table 1 in the Layer Normalization paper)
writes each unit's weight vector as a direction times a learned length: for v of shape (out, in), one row per
unit, and g of shape (out,),

    w_i = g_i * v_i / ||v_i||                      ||v_i|| = sqrt(sum_j v_ij^2), the norm of row i

Implement ``WeightNorm.forward`` (returning w, the shape of v) and ``WeightNorm.backward``, returning
``(grad_v, grad_g)`` of the shapes of v and g.

What makes it tricky: v reaches w twice, directly and through its norm, and every element of a row shares that
norm. A check: scaling v_i by any c > 0 leaves w_i unchanged; what does that say about the direction of dL/dv_i?

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(v)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend, and so do the public checks), keep what backward
needs on ``ctx`` (``ctx.save_for_backward`` or ``ctx.<name> = ...``), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check weightnorm.py --assignment weightnorm
Stuck on the derivation? ``minigrad hint weightnorm`` prints a hint, one tier at a time (paths, then intermediate
gradients, then the formula); try the derivation again after each.
"""
import minigrad

### BEGIN HINTS
HINTS = {
    1: """\
        Row i of v reaches w_i along two paths: directly (w_i = g_i * v_i / ||v_i||) and through ||v_i||, shared
        by the whole row. g_i reaches only row i of w, as a scale. Scaling v_i does not change w_i, so dL/dv_i
        must be orthogonal to v_i.""",
    2: """\
        With u_i = v_i / ||v_i||: d||v_i||/dv_i = u_i, and dL/dg_i = dw_i . u_i (one dot product per row). The
        direct path gives (g_i / ||v_i||) dw_i; the norm path gives -(g_i / ||v_i||^2) (dw_i . v_i) u_i.""",
    3: """\
        dL/dg_i = dw_i . u_i; dL/dv_i = (g_i / ||v_i||) * (dw_i - (dw_i . u_i) u_i): dw_i with its component along
        u_i removed.""",
}
### END HINTS


class WeightNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, v, g):
        """w = g * v / ||v||, row by row."""
        ### BEGIN SOLUTION
        xp = minigrad.get_array_module(v)
        norm = xp.sqrt((v * v).sum(axis=1, keepdims=True))
        direction = v / norm
        scale = g.reshape(-1, 1)
        ctx.save_for_backward(direction, norm, scale)
        return scale * direction
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_v, grad_g)."""
        ### BEGIN SOLUTION
        direction, norm, scale = ctx.saved_tensors
        grad_g = (grad_output * direction).sum(axis=1, keepdims=True)
        grad_v = (scale / norm) * (grad_output - direction * grad_g)
        return grad_v, grad_g.reshape(-1)
        ### END SOLUTION
