"""Exercise `layernorm`: Layer Normalization as one graph node, forward and backward.

Layer normalization (Ba, Kiros and Hinton, 2016) normalizes every example over its features: for x of shape
(..., D), with statistics over the last axis only,

    mu    = mean(x)                                  one number per row
    var   = mean((x - mu)^2)                         biased (divide by D, not D - 1), computed as written
    xhat  = (x - mu) / sqrt(var + eps)
    y     = xhat * weight + bias                     weight and bias have shape (D,)

Implement ``LayerNorm.forward`` (return y, the shape and dtype of x) and ``LayerNorm.backward``. The backward
pass gets dL/dy (``grad_output``, the shape of y) and returns one gradient per forward argument, each of its
argument's shape: ``(grad_x, grad_weight, grad_bias, None)``; None for ``eps``, which is a number, not a tensor.
Derive it on paper first.

What makes it tricky: every x_i of a row reaches every y_j of that row, not only y_i, through mu and through var
(and var depends on x both directly and through mu): dL/dx has a term for each path. weight and bias are shared
by all rows, so their gradients collect over every row. Two checks that follow from the forward alone: adding a
constant to a row of x does not change y, and scaling a row (x - mu) barely does; what do they say about the
sum of each row of dL/dx, and its dot product with the row of xhat? Numerics: compute var from x - mu (two
passes): E[x^2] - E[x]^2 loses every digit when the mean is large.

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend, and so do the public checks), keep what backward
needs on ``ctx`` (``ctx.save_for_backward`` or ``ctx.<name> = ...``), and use nothing of minigrad but
``minigrad.Function`` and ``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check layernorm.py --assignment layernorm
Stuck on the derivation? ``minigrad hint layernorm`` prints a hint, one tier at a time (paths, then intermediate
gradients, then the formula); try the derivation again after each.
"""
import minigrad

### BEGIN HINTS
HINTS = {
    1: """\
        x reaches L along three paths: directly through xhat = (x - mu) * rstd (rstd = 1/sqrt(var + eps)); through
        mu, which every element of the row shares; and through var, which depends on x directly and through mu.
        weight and bias touch every row, so their gradients are sums over every axis but the last.""",
    2: """\
        Per row, with g = dL/dxhat = grad_output * weight and sums over the last axis (D elements):
        dL/dvar = sum_j g_j * (x_j - mu) * (-1/2) * (var + eps)^(-3/2)
        dL/dmu  = -rstd * sum_j g_j   (the path mu -> var adds dL/dvar * mean(-2 (x - mu)) = 0)
        dL/dx_i = g_i * rstd + dL/dvar * 2 (x_i - mu) / D + dL/dmu / D
        dL/dweight = sum over rows of grad_output * xhat; dL/dbias = sum over rows of grad_output.""",
    3: """\
        dL/dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), means over the last axis, g = grad_output * weight.
        The mean(g) term is the mu path; the xhat * mean(g * xhat) term the var path.""",
}
### END HINTS


class LayerNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the last axis of x."""
        ### BEGIN SOLUTION
        xp = minigrad.get_array_module(x)
        centered = x - x.mean(axis=-1, keepdims=True)
        variance = (centered * centered).mean(axis=-1, keepdims=True)  # two passes: no E[x^2] - E[x]^2
        inv_std = 1.0 / xp.sqrt(variance + eps)
        normalized = centered * inv_std
        ctx.save_for_backward(normalized, inv_std, weight)
        return normalized * weight + bias
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_x, grad_weight, grad_bias, None)."""
        ### BEGIN SOLUTION
        normalized, inv_std, weight = ctx.saved_tensors
        batch_axes = tuple(range(grad_output.ndim - 1))
        grad_weight = (grad_output * normalized).sum(axis=batch_axes)
        grad_bias = grad_output.sum(axis=batch_axes)
        grad_normalized = grad_output * weight
        grad_x = inv_std * (grad_normalized
                            - grad_normalized.mean(axis=-1, keepdims=True)
                            - normalized * (grad_normalized * normalized).mean(axis=-1, keepdims=True))
        return grad_x, grad_weight, grad_bias, None
        ### END SOLUTION
