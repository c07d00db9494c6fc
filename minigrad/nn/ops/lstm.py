"""One step of a long short-term memory (LSTM) network, and of its layer-normalized form, each as one graph node.

**LSTM** (PyTorch's ``nn.LSTMCell``), for a batch x (B, I), the previous hidden state h (B, H) and cell state c
(B, H). The four gates are computed together and split in PyTorch's order i, f, g, o:

    a            = x @ W_ih^T + b_ih + h @ W_hh^T + b_hh          (B, 4H), a = [a_i | a_f | a_g | a_o]
    i, f, o      = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)        input, forget and output gates
    g            = tanh(a_g)                                       the candidate cell value
    c'           = f * c + i * g
    h'           = o * tanh(c')

A Function returns one array, so the op returns the new state as one (B, 2H) array [h' | c']; the module splits
it (two slices, two cheap graph nodes).

Backward, from g_h = dL/dh' and g_c = dL/dc' (the two halves of the upstream gradient). Write t = tanh(c'). h'
reaches c' through t, so the cell state's total gradient is

    dc'  = g_c + g_h * o * (1 - t^2)
    do   = g_h * t                   di = dc' * g          df = dc' * c          dg = dc' * i
    dL/dc = dc' * f                  (what flows to the previous step's cell state)

then through the gate nonlinearities, with sigmoid' = s (1 - s) and tanh' = 1 - tanh^2, both written with the
outputs forward already has:

    da_i = di * i (1 - i)      da_f = df * f (1 - f)      da_g = dg * (1 - g^2)      da_o = do * o (1 - o)

and through the two affine maps exactly as in an RNN cell (:mod:`minigrad.nn.ops.recurrent`), with da the (B, 4H)
gradient of the gates:

    dL/dx = da @ W_ih      dL/dW_ih = da^T @ x      dL/db_ih = sum over the batch of da
    dL/dh = da @ W_hh      dL/dW_hh = da^T @ h      dL/db_hh = sum over the batch of da

The forget gate's path dL/dc = dc' * f is why an LSTM remembers: with f near 1 the cell state's gradient passes
back through many steps almost unchanged, where a tanh RNN multiplies it by W_hh and tanh' at every step.

**Layer-normalized LSTM** (Ba, Kiros and Hinton 2016, supplement; the cell of its recurrent experiments). The
input and recurrent contributions to the gates are normalized separately (over all 4H gate inputs), and the cell
state is normalized before the output tanh:

    a  = LN(h @ W_hh^T; gamma_hh) + LN(x @ W_ih^T; gamma_ih) + b
    c' = f * c + i * g                            (gates from a as above)
    n  = LN(c'; gamma_c, beta_c)
    h' = o * tanh(n)

A bias inside the first two LNs would cancel (centering) or duplicate b, so they have gains only; the cell-state LN
has a gain and a shift, as in the paper. Backward is the LSTM's with two changes: t = tanh(n), and dc' gains its
h' share through the cell LN,

    dn  = g_h * o * (1 - t^2)        dc' = g_c + LN_backward(dn * gamma_c)

and the gate gradient da reaches the weights through LN_backward of each term. LN_backward is layer norm's fused
formula (derived in :mod:`minigrad.nn.ops.layer_norm`): for one row with normalized values xhat, r =
1/sqrt(var + eps) and incoming gradient q = dL/dxhat, dL/dx = r (q - mean(q) - xhat mean(q xhat)). The gains get
the sums over the batch of (upstream gradient * xhat).

An unbatched step (x of shape (I,), h and c of shape (H,)) is the same computation with B = 1.
"""

from minigrad.autograd.function import Function
from minigrad.nn import composed
from minigrad.ops import Concatenate


def concatenate(pair):
    """[h' | c'], the fused cells' output, from the composed twin's (h', c')."""
    return Concatenate.apply(-1, *pair)
from minigrad.backends import get_array_module


def _gates(xp, pre_activation):
    """The four gate activations i, f, g, o from the (..., 4H) pre-activation, in PyTorch's order.

    sigmoid(a) = (1 + tanh(a/2)) / 2 is the same function, finite for every a (1 / (1 + exp(-a)) overflows exp for
    a < -709), and one tanh call covers all four gates."""
    input_gate, forget_gate, _, output_gate = xp.split(0.5 * (1 + xp.tanh(0.5 * pre_activation)), 4, axis=-1)
    candidate = xp.tanh(xp.split(pre_activation, 4, axis=-1)[2])
    return input_gate, forget_gate, candidate, output_gate


def _grad_gates(xp, grad_cell, cell, grad_output_gate, input_gate, forget_gate, candidate, output_gate):
    """da = [da_i | da_f | da_g | da_o] from dc' and do (the formulas above)."""
    return xp.concatenate([grad_cell * candidate * input_gate * (1 - input_gate),
                           grad_cell * cell * forget_gate * (1 - forget_gate),
                           grad_cell * input_gate * (1 - candidate * candidate),
                           grad_output_gate * output_gate * (1 - output_gate)], axis=-1)


def _layer_norm(xp, values, eps):
    """xhat and r = 1/sqrt(var + eps) over the last axis (two-pass variance, as LayerNorm)."""
    centered = values - values.mean(axis=-1, keepdims=True)
    inv_std = 1 / xp.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
    return centered * inv_std, inv_std


def _layer_norm_backward(grad_normalized, normalized, inv_std):
    """dL/dx = r (q - mean(q) - xhat mean(q xhat)) over the last axis, for q = dL/dxhat."""
    return inv_std * (grad_normalized - grad_normalized.mean(axis=-1, keepdims=True)
                      - normalized * (grad_normalized * normalized).mean(axis=-1, keepdims=True))


def _batch_sum(values):
    """Sum over every leading (batch) axis: the gradient of a parameter shared by the batch."""
    return values.reshape(-1, values.shape[-1]).sum(axis=0)


def _weight_grad(grad_rows, inputs):
    """da^T @ x with any leading batch axes flattened (an unbatched step is a batch of one)."""
    return grad_rows.reshape(-1, grad_rows.shape[-1]).T @ inputs.reshape(-1, inputs.shape[-1])


class LSTMCell(Function):
    """[h' | c'] for h' = o tanh(c'), c' = f c + i g, gates (i, f, g, o) from x W_ih^T + b_ih + h W_hh^T + b_hh.
    Backward: dc' = g_c + g_h o (1 - tanh(c')^2), then the gates and the affine maps (derived above)."""

    twin = staticmethod(lambda x, h, c, *weights: concatenate(composed.lstm_cell(x, (h, c), *weights)))

    @staticmethod
    def forward(ctx, x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
        xp = get_array_module(x)
        pre_activation = x @ weight_ih.T + h @ weight_hh.T
        if bias_ih is not None:
            pre_activation += bias_ih
        if bias_hh is not None:
            pre_activation += bias_hh
        input_gate, forget_gate, candidate, output_gate = _gates(xp, pre_activation)
        new_cell = forget_gate * c + input_gate * candidate
        tanh_cell = xp.tanh(new_cell)
        new_hidden = output_gate * tanh_cell
        ctx.save_for_backward(x, h, c, weight_ih, weight_hh, input_gate, forget_gate, candidate, output_gate,
                              tanh_cell)
        return xp.concatenate([new_hidden, new_cell], axis=-1)

    @staticmethod
    def backward(ctx, grad_output):
        x, h, c, weight_ih, weight_hh, input_gate, forget_gate, candidate, output_gate, tanh_cell = ctx.saved_tensors
        xp = get_array_module(grad_output)
        grad_hidden, grad_new_cell = xp.split(grad_output, 2, axis=-1)
        grad_cell = grad_new_cell + grad_hidden * output_gate * (1 - tanh_cell * tanh_cell)
        grad_gates = _grad_gates(xp, grad_cell, c, grad_hidden * tanh_cell, input_gate, forget_gate, candidate,
                                 output_gate)
        needs = ctx.needs_input_grad
        grad_bias = _batch_sum(grad_gates) if needs[5] or needs[6] else None
        return (grad_gates @ weight_ih if needs[0] else None,
                grad_gates @ weight_hh if needs[1] else None,
                grad_cell * forget_gate if needs[2] else None,
                _weight_grad(grad_gates, x) if needs[3] else None,
                _weight_grad(grad_gates, h) if needs[4] else None,
                grad_bias if needs[5] else None,
                grad_bias if needs[6] else None)


class LayerNormLSTMCell(Function):
    """[h' | c'] of the layer-normalized LSTM: a = LN(h W_hh^T) gamma_hh + LN(x W_ih^T) gamma_ih + b,
    c' = f c + i g, h' = o tanh(LN(c') gamma_c + beta_c). Backward: the LSTM's, through the three LNs (above)."""

    twin = staticmethod(lambda x, h, c, *parameters: concatenate(composed.layer_norm_lstm_cell(x, (h, c), *parameters)))

    @staticmethod
    def forward(ctx, x, h, c, weight_ih, weight_hh, gamma_ih, gamma_hh, bias, gamma_c, beta_c, eps):
        xp = get_array_module(x)
        input_normalized, input_inv_std = _layer_norm(xp, x @ weight_ih.T, eps)
        recurrent_normalized, recurrent_inv_std = _layer_norm(xp, h @ weight_hh.T, eps)
        pre_activation = recurrent_normalized * gamma_hh + input_normalized * gamma_ih
        if bias is not None:
            pre_activation += bias
        input_gate, forget_gate, candidate, output_gate = _gates(xp, pre_activation)
        new_cell = forget_gate * c + input_gate * candidate
        cell_normalized, cell_inv_std = _layer_norm(xp, new_cell, eps)
        tanh_cell = xp.tanh(cell_normalized * gamma_c + beta_c)
        new_hidden = output_gate * tanh_cell
        ctx.save_for_backward(x, h, c, weight_ih, weight_hh, gamma_ih, gamma_hh, gamma_c, input_normalized,
                              input_inv_std, recurrent_normalized, recurrent_inv_std, cell_normalized, cell_inv_std,
                              input_gate, forget_gate, candidate, output_gate, tanh_cell)
        return xp.concatenate([new_hidden, new_cell], axis=-1)

    @staticmethod
    def backward(ctx, grad_output):
        (x, h, c, weight_ih, weight_hh, gamma_ih, gamma_hh, gamma_c, input_normalized, input_inv_std,
         recurrent_normalized, recurrent_inv_std, cell_normalized, cell_inv_std, input_gate, forget_gate, candidate,
         output_gate, tanh_cell) = ctx.saved_tensors
        xp = get_array_module(grad_output)
        grad_hidden, grad_new_cell = xp.split(grad_output, 2, axis=-1)
        grad_cell_ln_output = grad_hidden * output_gate * (1 - tanh_cell * tanh_cell)  # dn
        grad_cell = grad_new_cell + _layer_norm_backward(grad_cell_ln_output * gamma_c, cell_normalized,
                                                         cell_inv_std)
        grad_gates = _grad_gates(xp, grad_cell, c, grad_hidden * tanh_cell, input_gate, forget_gate, candidate,
                                 output_gate)
        grad_input_term = _layer_norm_backward(grad_gates * gamma_ih, input_normalized, input_inv_std)
        grad_recurrent_term = _layer_norm_backward(grad_gates * gamma_hh, recurrent_normalized, recurrent_inv_std)
        needs = ctx.needs_input_grad
        return (grad_input_term @ weight_ih if needs[0] else None,
                grad_recurrent_term @ weight_hh if needs[1] else None,
                grad_cell * forget_gate if needs[2] else None,
                _weight_grad(grad_input_term, x) if needs[3] else None,
                _weight_grad(grad_recurrent_term, h) if needs[4] else None,
                _batch_sum(grad_gates * input_normalized) if needs[5] else None,
                _batch_sum(grad_gates * recurrent_normalized) if needs[6] else None,
                _batch_sum(grad_gates) if needs[7] else None,
                _batch_sum(grad_cell_ln_output * cell_normalized) if needs[8] else None,
                _batch_sum(grad_cell_ln_output) if needs[9] else None,
                None)
