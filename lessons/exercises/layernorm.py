"""Exercise `layernorm`: Layer Normalization as one graph node, forward and backward.

Layer normalization (Ba, Kiros and Hinton, 2016) normalizes every example over its features: for x of shape
(..., D), with statistics over the last axis only,

    mu    = mean(x)                                  one number per row
    var   = mean((x - mu)^2)                         biased (divide by D, not D - 1), computed as written
    xhat  = (x - mu) / sqrt(var + eps)
    y     = xhat * weight + bias                     weight and bias have shape (D,)

Implement ``LayerNorm.forward`` and ``LayerNorm.backward``. The backward pass gets dL/dy (``grad_output``, the
shape of y) and returns one gradient per forward argument: ``(grad_x, grad_weight, grad_bias, None)``; None for
``eps``, which is a number, not a tensor. Derive it on paper first. With g = dy * weight, rstd = 1/sqrt(var + eps):

    dL/dxhat = g
    dL/dx    = rstd * (g - mean(g) - xhat * mean(g * xhat))         means over the last axis
    dL/dweight = sum of dy * xhat over every axis but the last      (weight is shared by all rows)
    dL/dbias   = sum of dy over every axis but the last

(The mean(g) term comes from mu depending on every x; the xhat * mean(g * xhat) term from var doing so.)

Rules: write the op on raw arrays with the array module ``xp = minigrad.get_array_module(x)`` (never ``numpy``
directly: the grader also runs your op on a CuPy-like backend), keep what backward needs with
``ctx.save_for_backward`` or ``ctx.<name> = ...``, and use nothing of minigrad but ``minigrad.Function`` and
``minigrad.get_array_module``. The output keeps the input's dtype.

Check your work with the public checks:  minigrad check layernorm.py --assignment layernorm
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
