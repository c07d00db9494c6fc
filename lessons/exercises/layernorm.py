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


class LayerNorm(minigrad.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the last axis of x."""
        # YOUR CODE HERE
        raise NotImplementedError("layernorm: LayerNorm.forward is not implemented yet")

    @staticmethod
    def backward(ctx, grad_output):
        """Return (grad_x, grad_weight, grad_bias, None)."""
        # YOUR CODE HERE
        raise NotImplementedError("layernorm: LayerNorm.backward is not implemented yet")
