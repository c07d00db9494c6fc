"""One step of a vanilla (Elman) recurrent network, and of its layer-normalized form, each as one graph node.

**RNNCell.**

Forward, for a batch x of shape (B, I) and the previous hidden state h of shape (B, H):

    a  = x @ W_ih^T + b_ih + h @ W_hh^T + b_hh          pre-activation, (B, H)
    h' = f(a)                                          f = tanh or relu

Backward, from dL/dh' (written g): first through f, elementwise,

    da = g * f'(a),    with  tanh'(a) = 1 - tanh(a)^2 = 1 - h'^2   and   relu'(a) = [a > 0] = [h' > 0]

(both written with the output h', so forward keeps h' and not a), then through the two affine maps, exactly as
in a Linear layer (see :mod:`minigrad.nn.ops.linear`):

    dL/dx = da @ W_ih          dL/dW_ih = da^T @ x          dL/db_ih = sum over the batch of da
    dL/dh = da @ W_hh          dL/dW_hh = da^T @ h          dL/db_hh = sum over the batch of da

Unrolled over time the same W_hh is used at every step; each step's node returns its own share of dL/dW_hh and
the engine adds the shares up, which is backpropagation through time. dL/dh is what flows to the previous step.

**LayerNormRNNCell** (Ba, Kiros and Hinton 2016, sec. 3.1). With the input term u = x @ W_ih^T and the
recurrent term v = h @ W_hh^T (no biases before normalizing), LN(z; g) = g * (z - mean(z)) / sqrt(var(z) + eps)
over the H features of each row, and one of three modes:

    joint:      a = LN(v + u; g) + b                     (the paper's Eq. 4)
    separate:   a = LN(v; g_hh) + LN(u; g_ih) + b        (the paper's experiments)
    recurrent:  a = LN(v; g_hh) + u + b
    h' = f(a)

Backward: da = dL/dh' * f'(a) as above, dL/db = the batch sum of da, and through each LN its fused formula
(derived in :mod:`minigrad.nn.ops.layer_norm`): for a row with normalized values zhat, r = 1/sqrt(var + eps) and
q = dL/dzhat = da * gain,

    dL/dz = r (q - mean(q) - zhat mean(q zhat)),         dL/dgain = the batch sum of da * zhat.

That gives dL/dv and dL/du (in joint mode both are dL/d(v + u); in recurrent mode dL/du = da), and the two
affine maps send them on as in RNNCell: dL/dx = dL/du @ W_ih, dL/dW_ih = dL/du^T @ x, dL/dh = dL/dv @ W_hh,
dL/dW_hh = dL/dv^T @ h.

An unbatched step (x of shape (I,), h of shape (H,)) is the same computation with B = 1.
"""

from minigrad.autograd.function import Context, Function
from minigrad.backends import get_array_module
from minigrad.nn import composed
from minigrad.nn.ops.layer_norm import LayerNorm
from minigrad.nn.ops.lstm import _batch_sum, _weight_grad

NONLINEARITIES = ("tanh", "relu")


class RNNCell(Function):
    """h' = f(x @ W_ih^T + b_ih + h @ W_hh^T + b_hh).    With da = g * f'(a): dL/dx = da @ W_ih,
    dL/dh = da @ W_hh, dL/dW_ih = da^T @ x, dL/dW_hh = da^T @ h, dL/db_ih = dL/db_hh = sum of da (derived above).
    """

    @staticmethod
    def forward(ctx, x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity):
        xp = get_array_module(x)
        pre_activation = x @ weight_ih.T
        pre_activation += h @ weight_hh.T  # in place into the fresh array: fewer (B, H) temporaries
        if bias_ih is not None:
            pre_activation += bias_ih
        if bias_hh is not None:
            pre_activation += bias_hh
        if nonlinearity == "tanh":
            output = xp.tanh(pre_activation)
        else:
            output = xp.maximum(pre_activation, 0)
        ctx.save_for_backward(x, h, weight_ih, weight_hh, output)
        ctx.nonlinearity = nonlinearity
        return output

    @staticmethod
    def backward(ctx, grad_output):
        x, h, weight_ih, weight_hh, output = ctx.saved_tensors
        needs_x, needs_h, needs_weight_ih, needs_weight_hh, needs_bias_ih, needs_bias_hh = ctx.needs_input_grad[:6]
        if ctx.nonlinearity == "tanh":
            grad_pre_activation = grad_output * (1 - output * output)
        else:
            grad_pre_activation = grad_output * (output > 0)
        hidden_size = weight_hh.shape[0]
        grad_rows = grad_pre_activation.reshape(-1, hidden_size)  # an unbatched step is a batch of one
        grad_bias = grad_rows.sum(axis=0) if needs_bias_ih or needs_bias_hh else None
        return (grad_pre_activation @ weight_ih if needs_x else None,
                grad_pre_activation @ weight_hh if needs_h else None,
                grad_rows.T @ x.reshape(-1, x.shape[-1]) if needs_weight_ih else None,
                grad_rows.T @ h.reshape(-1, hidden_size) if needs_weight_hh else None,
                grad_bias if needs_bias_ih else None,
                grad_bias if needs_bias_hh else None,
                None)


class LayerNormRNNCell(Function):
    """h' = f(a) with a = LN(v + u; g) + b (joint), LN(v; g_hh) + LN(u; g_ih) + b (separate) or LN(v; g_hh) + u + b
    (recurrent), u = x @ W_ih^T, v = h @ W_hh^T. Backward: da = dL/dh' f'(a), then each LN's fused formula and the
    two affine maps (derived above). The gains a mode does not use are None.

    Each normalization is the LayerNorm op's own forward and backward (:mod:`minigrad.nn.ops.layer_norm`), called
    on a context of its own: the same arithmetic as the cell composed of Linear, LayerNorm, Add and Tanh nodes,
    to the last bit, in one node instead of seven."""

    twin = staticmethod(lambda *arguments: composed.layer_norm_rnn_cell(*arguments))

    @staticmethod
    def forward(ctx, x, h, weight_ih, weight_hh, gain, gain_hh, gain_ih, bias, mode, nonlinearity, eps):
        xp = get_array_module(x)
        input_term, recurrent_term = x @ weight_ih.T, h @ weight_hh.T
        ctx.recurrent_norm = Context()  # the context of LN(v) (of LN(v + u) in joint mode)
        if mode == "joint":
            pre_activation = LayerNorm.forward(ctx.recurrent_norm, recurrent_term + input_term, gain, None, 1, eps)
        else:
            pre_activation = LayerNorm.forward(ctx.recurrent_norm, recurrent_term, gain_hh, None, 1, eps)
            if mode == "separate":
                ctx.input_norm = Context()
                normalized_input = LayerNorm.forward(ctx.input_norm, input_term, gain_ih, None, 1, eps)
                pre_activation = pre_activation + normalized_input
            else:
                pre_activation = pre_activation + input_term
        if bias is not None:
            pre_activation = pre_activation + bias  # new arrays: LayerNorm's output may be what it saved
        output = xp.tanh(pre_activation) if nonlinearity == "tanh" else xp.maximum(pre_activation, 0)
        ctx.save_for_backward(x, h, weight_ih, weight_hh, output)
        ctx.mode, ctx.nonlinearity = mode, nonlinearity
        return output

    @staticmethod
    def backward(ctx, grad_output):
        x, h, weight_ih, weight_hh, output = ctx.saved_tensors
        needs_x, needs_h, needs_weight_ih, needs_weight_hh = ctx.needs_input_grad[:4]
        if ctx.nonlinearity == "tanh":
            grad_pre_activation = grad_output * (1 - output * output)
        else:
            grad_pre_activation = grad_output * (output > 0)
        joint = ctx.mode == "joint"
        # dL/dv (dL/d(v + u) in joint mode) and the recurrent gain's gradient, by LayerNorm's fused formula
        grad_recurrent_term, grad_recurrent_gain = _normalization_backward(
            ctx.recurrent_norm, grad_pre_activation, ctx.needs_input_grad[4 if joint else 5])
        grad_input_gain = None
        if joint:
            grad_input_term = grad_recurrent_term
        elif ctx.mode == "separate":
            grad_input_term, grad_input_gain = _normalization_backward(ctx.input_norm, grad_pre_activation,
                                                                       ctx.needs_input_grad[6])
        else:
            grad_input_term = grad_pre_activation
        return (grad_input_term @ weight_ih if needs_x else None,
                grad_recurrent_term @ weight_hh if needs_h else None,
                _weight_grad(grad_input_term, x) if needs_weight_ih else None,
                _weight_grad(grad_recurrent_term, h) if needs_weight_hh else None,
                grad_recurrent_gain if joint else None,
                None if joint else grad_recurrent_gain,
                grad_input_gain,
                _batch_sum(grad_pre_activation) if ctx.needs_input_grad[7] else None,
                None, None, None)


def _normalization_backward(norm_ctx, grad_output, needs_gain):
    """LayerNorm.backward on the context of one of the cell's normalizations: (dL/dz, dL/dgain or None). dL/dz is
    always wanted (the products need it), dL/dgain where the cell's gain needs one; the absent bias has none."""
    norm_ctx.needs_input_grad = (True, needs_gain, False)
    grad_term, grad_gain, _, _, _ = LayerNorm.backward(norm_ctx, grad_output)
    return grad_term, grad_gain
