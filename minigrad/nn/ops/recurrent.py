"""One step of a vanilla (Elman) recurrent network, as one graph node.

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

An unbatched step (x of shape (I,), h of shape (H,)) is the same computation with B = 1.
"""

from minigrad.autograd.function import Function
from minigrad.backends import get_array_module

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
