"""LayerNormRNNCell with its products, its normalizations and its backward's subnormal range handled as the fast
Linear and LayerNorm classes handle them.

The plain class (:mod:`minigrad.nn.ops.recurrent`) writes one step in NumPy: ``x @ W_ih.T`` and ``h @ W_hh.T``,
then each layer normalization as five or six NumPy passes over the rows. This class changes three things:

- the products go through the kept contiguous copy of W^T (:func:`minigrad.nn.ops.fast.linear.times_transpose`),
  which OpenBLAS computes on the calling thread, where ``h @ W_hh.T`` waits for its second thread;
- each normalization is one compiled loop per row (:func:`kernels.layer_norm_forward`, the two-pass variance in
  float64), and backward recomputes zhat in its one loop per row from the saved term, mean and 1/std
  (:func:`kernels.layer_norm_backward`, which also sums dL/dgain and dL/db);
- the whole backward is linear in dL/dh', so a vanishing dL/dh' (or, behind a saturated tanh, a vanishing da =
  dL/dh' f'(a)) is lifted out of the subnormal range once, by a power of two, before every product and
  normalization (:mod:`minigrad.nn.ops.fast.subnormal`), and the results lowered, where the composed cell
  lifted at each Linear and LayerNorm.

The pre-activation, its tanh and the products are computed into the fresh arrays in place.
"""

import types

import numpy

from minigrad.nn.ops.fast import kernels, subnormal
from minigrad.nn.ops.fast.linear import times_transpose
from minigrad.nn.ops.recurrent import LayerNormRNNCell


def _normalized(term, gain, eps):
    """(LN(term) * gain, (mean, 1/std)) over the rows of the C-contiguous (B, H) `term` (float64 statistics)."""
    rows, size = term.shape
    mean, inv_std = numpy.empty(rows), numpy.empty(rows)
    output = numpy.empty_like(term)
    kernels.layer_norm_forward(term, _or_ones(gain, term), numpy.zeros(size, term.dtype), eps, mean, inv_std, output)
    return output, (mean, inv_std)


def _or_ones(gain, term):
    return numpy.ones(term.shape[1], term.dtype) if gain is None else gain


class NumbaLayerNormRNNCell(LayerNormRNNCell):
    """LayerNormRNNCell with small products on one BLAS thread, each layer normalization one compiled loop per
    row (zhat recomputed in backward), and its backward lifted out of the subnormal range as a whole (see the
    module docstring)."""

    @staticmethod
    def forward(ctx, x, h, weight_ih, weight_hh, gain, gain_hh, gain_ih, bias, mode, nonlinearity, eps):
        hidden_size = weight_hh.shape[0]
        x_rows, h_rows = x.reshape(-1, x.shape[-1]), h.reshape(-1, hidden_size)  # unbatched: a batch of one
        input_term, recurrent_term = times_transpose(x_rows, weight_ih), times_transpose(h_rows, weight_hh)
        recurrent_gain = gain if mode == "joint" else gain_hh
        if mode == "joint":
            recurrent_term += input_term  # v + u, into the fresh product
        pre_activation, recurrent_statistics = _normalized(recurrent_term, recurrent_gain, eps)
        input_statistics = (None, None)
        if mode == "separate":
            normalized_input, input_statistics = _normalized(input_term, gain_ih, eps)
            pre_activation += normalized_input
        elif mode == "recurrent":
            pre_activation += input_term
        if bias is not None:
            pre_activation += bias
        if nonlinearity == "tanh":
            output = numpy.tanh(pre_activation, out=pre_activation)
        else:
            output = numpy.maximum(pre_activation, 0, out=pre_activation)
        ctx.save_for_backward(x_rows, h_rows, weight_ih, weight_hh, recurrent_gain, gain_ih, recurrent_term,
                              *recurrent_statistics, input_term, *input_statistics, output)
        ctx.mode, ctx.nonlinearity, ctx.x_shape, ctx.h_shape = mode, nonlinearity, x.shape, h.shape
        return output.reshape(x.shape[:-1] + (hidden_size,))

    @staticmethod
    def backward(ctx, grad_output):
        saved = ctx.saved_tensors
        output = saved[-1]
        grad_rows = grad_output.reshape(output.shape)
        if not kernels.suits(grad_rows, output):  # another dtype than forward's: the plain formulas
            return LayerNormRNNCell.backward(_plain_context(ctx), grad_output)
        factor = subnormal.lift(grad_rows)  # dL/dh' vanishing, or else (a saturated tanh) da
        if factor is None:
            grad_pre_activation = _grad_pre_activation(ctx, grad_rows, output)
            factor = subnormal.lift(grad_pre_activation)
            lifted = None if factor is None else subnormal.scaled(grad_pre_activation, factor)
        else:
            with subnormal.quiet():
                lifted = _grad_pre_activation(ctx, subnormal.scaled(grad_rows, factor), output)
        if factor is not None:
            with subnormal.quiet():  # an overflow here is found below and recomputed, not reported
                lowered = subnormal.lowered(_backward(ctx, lifted), factor)
            if lowered is not None:  # else a lifted result overflowed: computed unlifted below
                return _as_gradients(ctx, lowered)
            grad_pre_activation = _grad_pre_activation(ctx, grad_rows, output)
        return _as_gradients(ctx, _backward(ctx, grad_pre_activation))


def _grad_pre_activation(ctx, grad_rows, output):
    """da = dL/dh' f'(a), with f' written with the output h' (see the plain class)."""
    if ctx.nonlinearity == "tanh":
        return grad_rows * (1 - output * output)
    return grad_rows * (output > 0)


def _backward(ctx, grad_pre_activation):
    """[dL/dx, dL/dh, dL/dW_ih, dL/dW_hh, dL/d(recurrent gain), dL/dg_ih, dL/db] from da (None where not needed;
    the gains' and the bias's in float64, as the kernels sum them)."""
    (x_rows, h_rows, weight_ih, weight_hh, recurrent_gain, gain_ih, recurrent_term, recurrent_mean,
     recurrent_inv_std, input_term, input_mean, input_inv_std, output) = ctx.saved_tensors
    needs_x, needs_h, needs_weight_ih, needs_weight_hh, needs_gain, needs_gain_hh, needs_gain_ih = (
        ctx.needs_input_grad[:7])
    grad_recurrent_term = numpy.empty_like(recurrent_term)  # dL/d(v + u) in joint mode
    grad_recurrent_gain, grad_bias = kernels.layer_norm_backward(
        grad_pre_activation, _or_ones(recurrent_gain, recurrent_term), recurrent_term, recurrent_mean,
        recurrent_inv_std, grad_recurrent_term)
    grad_input_gain = None
    if ctx.mode == "joint":
        grad_input_term = grad_recurrent_term
    elif ctx.mode == "separate":
        grad_input_term = numpy.empty_like(input_term)
        grad_input_gain, _ = kernels.layer_norm_backward(grad_pre_activation, _or_ones(gain_ih, input_term),
                                                         input_term, input_mean, input_inv_std, grad_input_term)
    else:
        grad_input_term = grad_pre_activation
    return [grad_input_term @ weight_ih if needs_x else None,
            grad_recurrent_term @ weight_hh if needs_h else None,
            grad_input_term.T @ x_rows if needs_weight_ih else None,
            grad_recurrent_term.T @ h_rows if needs_weight_hh else None,
            grad_recurrent_gain if needs_gain or needs_gain_hh else None,
            grad_input_gain if needs_gain_ih else None,
            grad_bias if ctx.needs_input_grad[7] else None]


def _as_gradients(ctx, grads):
    """backward's tuple from _backward's list: x's and h's shapes, the sums in the inputs' dtype."""
    grad_x, grad_h, grad_weight_ih, grad_weight_hh, grad_recurrent_gain, grad_input_gain, grad_bias = grads
    dtype = ctx.saved_tensors[-1].dtype
    needs_gain, needs_gain_hh = ctx.needs_input_grad[4:6]
    recurrent_gain = None if grad_recurrent_gain is None else grad_recurrent_gain.astype(dtype)
    return (None if grad_x is None else grad_x.reshape(ctx.x_shape),
            None if grad_h is None else grad_h.reshape(ctx.h_shape),
            grad_weight_ih, grad_weight_hh,
            recurrent_gain if needs_gain else None,
            recurrent_gain if needs_gain_hh else None,
            None if grad_input_gain is None else grad_input_gain.astype(dtype),
            None if grad_bias is None else grad_bias.astype(dtype),
            None, None, None)


def _plain_context(ctx):
    """A stand-in ctx holding what the plain class's backward reads (its saved arrays, and for each normalization
    a context with zhat and 1/std in the inputs' dtype), for the fallback of backward; ctx itself is left as
    forward made it."""
    (x_rows, h_rows, weight_ih, weight_hh, recurrent_gain, gain_ih, recurrent_term, recurrent_mean,
     recurrent_inv_std, input_term, input_mean, input_inv_std, output) = ctx.saved_tensors
    dtype, output_shape = output.dtype, ctx.x_shape[:-1] + (weight_hh.shape[0],)

    def normalization(term, mean, inv_std, gain):  # what LayerNorm.backward reads from its context
        normalized = ((term - mean[:, None]) * inv_std[:, None]).astype(dtype)
        return types.SimpleNamespace(saved_tensors=(normalized, inv_std[:, None].astype(dtype), gain),
                                     x_shape=output_shape, parameter_shape=output_shape[-1:])

    plain = types.SimpleNamespace(**vars(ctx))
    plain.needs_input_grad = ctx.needs_input_grad
    plain.saved_tensors = (x_rows.reshape(ctx.x_shape), h_rows.reshape(ctx.h_shape), weight_ih, weight_hh,
                           output.reshape(output_shape))
    plain.recurrent_norm = normalization(recurrent_term, recurrent_mean, recurrent_inv_std, recurrent_gain)
    if ctx.mode == "separate":
        plain.input_norm = normalization(input_term, input_mean, input_inv_std, gain_ih)
    return plain
